package io.svcproxy.config;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/** Binds {@code pods:} lists, of the config file and of registry files alike, and label maps. */
final class PodBinder {
    static final List<String> POD = List.of("name", "namespace", "ip", "labels", "ready", "weight", "ports", "nodeName");
    static final List<String> POD_PORT = List.of("name", "containerPort", "protocol");
    static final List<String> REGISTRY_FILE = List.of("pods");

    /**
     * A Pod with where its name is written, for the check of duplicate names across files.
     *
     * @param nameNode its {@code name} value; {@code null} when the name is missing or invalid
     */
    record BoundPod(PodSpec spec, Problems problems, Node nameNode, String namePath) {
    }

    private PodBinder() {
    }

    /** Binds a registry file: a map with the single key {@code pods} (an empty file holds no Pods). */
    static List<BoundPod> bindRegistryFile(Node root, Problems p) {
        if (root == null || Values.isNull(root)) {
            return List.of();
        }
        MappingNode map = Values.map(root, "", "a map with the key pods", p);
        if (map == null) {
            return List.of();
        }
        Fields f = new Fields(map, "", p, REGISTRY_FILE);
        return f.has("pods") ? bindPods(f.value("pods"), "pods", p) : List.of();
    }

    static List<BoundPod> bindPods(Node node, String path, Problems p) {
        SequenceNode list = Values.list(node, path, "a list of Pods", p);
        if (list == null) {
            return List.of();
        }
        List<BoundPod> pods = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath, "a Pod: a map of "
                    + String.join(", ", POD), p);
            if (map != null) {
                pods.add(bindPod(map, itemPath, p));
            }
        }
        return pods;
    }

    private static BoundPod bindPod(MappingNode map, String path, Problems p) {
        Fields f = new Fields(map, path, p, POD);
        String name = null;
        Node nameNode = null;
        if (f.has("name")) {
            Node n = f.value("name");
            String v = Values.text(n, f.child("name"), Names.DNS1123_SUBDOMAIN_EXPECTED, p);
            if (v != null && !Names.isDns1123Subdomain(v)) {
                Values.wrong(p, n, f.child("name"), Names.DNS1123_SUBDOMAIN_EXPECTED);
            } else if (v != null) {
                name = v;
                nameNode = n;
            }
        } else {
            Values.missing(p, f, "name", Names.DNS1123_SUBDOMAIN_EXPECTED);
        }
        String namespace = "default";
        if (f.has("namespace")) {
            Node n = f.value("namespace");
            String v = Values.text(n, f.child("namespace"), Names.DNS1123_LABEL_EXPECTED, p);
            if (v != null && !Names.isDns1123Label(v)) {
                Values.wrong(p, n, f.child("namespace"), Names.DNS1123_LABEL_EXPECTED);
                nameNode = null;
            } else if (v != null) {
                namespace = v;
            }
        }
        InetAddress ip = null;
        if (f.has("ip")) {
            ip = Values.ip(f.value("ip"), f.child("ip"), p);
        } else {
            Values.missing(p, f, "ip", "an IPv4 or IPv6 address");
        }
        Map<String, String> labels = Map.of();
        if (f.has("labels")) {
            Map<String, String> v = labels(f.value("labels"), f.child("labels"), p);
            labels = v == null ? labels : v;
        }
        boolean ready = true;
        if (f.has("ready")) {
            Boolean v = Values.bool(f.value("ready"), f.child("ready"), p);
            ready = v == null || v;
        }
        int weight = 1;
        if (f.has("weight")) {
            Integer v = Values.integer(f.value("weight"), f.child("weight"), 0, 65535, p);
            weight = v == null ? weight : v;
        }
        Map<String, PodSpec.ContainerPort> ports = f.has("ports")
                ? containerPorts(f.value("ports"), f.child("ports"), p) : Map.of();
        String nodeName = "";
        if (f.has("nodeName")) {
            Node n = f.value("nodeName");
            String v = Values.text(n, f.child("nodeName"), Names.DNS1123_SUBDOMAIN_EXPECTED, p);
            if (v != null && !Names.isDns1123Subdomain(v)) {
                Values.wrong(p, n, f.child("nodeName"), Names.DNS1123_SUBDOMAIN_EXPECTED);
            } else if (v != null) {
                nodeName = v;
            }
        }
        PodSpec spec = new PodSpec(name, namespace, ip, labels, ready, weight, ports, nodeName);
        return new BoundPod(spec, p, nameNode, f.child("name"));
    }

    /**
     * Returns the named container ports with their protocol. Unnamed ones cannot be referred to; a named targetPort
     * resolves to the port of that name and of the Service port's protocol (as Kubernetes matches it).
     */
    private static Map<String, PodSpec.ContainerPort> containerPorts(Node node, String path, Problems p) {
        SequenceNode list = Values.list(node, path, "a list of container ports", p);
        if (list == null) {
            return Map.of();
        }
        Map<String, PodSpec.ContainerPort> ports = new LinkedHashMap<>();
        Map<String, Node> names = new HashMap<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath, "a container port: a map of "
                    + String.join(", ", POD_PORT), p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, POD_PORT);
            String name = null;
            if (f.has("name")) {
                Node n = f.value("name");
                name = Values.text(n, f.child("name"), Names.IANA_SVC_NAME_EXPECTED, p);
                if (name != null && !Names.isIanaSvcName(name)) {
                    Values.wrong(p, n, f.child("name"), Names.IANA_SVC_NAME_EXPECTED);
                    name = null;
                } else if (name != null) {
                    Node first = names.putIfAbsent(name, n);
                    if (first != null) {
                        Values.wrong(p, n, f.child("name"), "a name unique in the Pod; also at "
                                + Problems.line(first));
                        name = null;
                    }
                }
            }
            Integer port = null;
            if (f.has("containerPort")) {
                port = Values.integer(f.value("containerPort"), f.child("containerPort"), 1, 65535, p);
            } else {
                Values.missing(p, f, "containerPort", "1..65535");
            }
            Protocol protocol = Protocol.TCP;
            if (f.has("protocol")) {
                Node n = f.value("protocol");
                String v = Values.text(n, f.child("protocol"), "TCP, UDP or SCTP", p);
                if (v != null && !v.equals("TCP") && !v.equals("UDP") && !v.equals("SCTP")) {
                    Values.wrong(p, n, f.child("protocol"), "TCP, UDP or SCTP");
                    v = null;
                }
                protocol = v == null ? null : Protocol.valueOf(v);
            }
            if (name != null && port != null && protocol != null) {
                ports.put(name, new PodSpec.ContainerPort(port, protocol));
            }
        }
        return ports;
    }

    /** Returns a label map (a Pod's labels or a Service's selector), or {@code null} after a problem with its shape. */
    static Map<String, String> labels(Node node, String path, Problems p) {
        MappingNode map = Values.map(node, path, "a map of label to value", p);
        if (map == null) {
            return null;
        }
        Fields f = new Fields(map, path, p, null);
        Map<String, String> labels = new LinkedHashMap<>();
        for (NodeTuple t : map.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode key) || f.keyNode(key.getValue()) != t.getKeyNode()) {
                continue; // reported by Fields
            }
            String k = key.getValue();
            String itemPath = path + "[" + k + "]";
            if (!Names.isLabelKey(k)) {
                p.at(key, itemPath, Values.label(path) + ": " + Values.describe(key) + " (expected: "
                        + Names.LABEL_KEY_EXPECTED + ")");
                continue;
            }
            Node valueNode = t.getValueNode();
            // a label written "key:" with no value is the empty value, as in Kubernetes
            String v = Values.isNull(valueNode) ? "" : Values.text(valueNode, itemPath, Names.LABEL_VALUE_EXPECTED, p);
            if (v == null) {
                continue;
            }
            if (!Names.isLabelValue(v)) {
                Values.wrong(p, valueNode, itemPath, Names.LABEL_VALUE_EXPECTED);
                continue;
            }
            labels.put(k, v);
        }
        return labels;
    }
}
