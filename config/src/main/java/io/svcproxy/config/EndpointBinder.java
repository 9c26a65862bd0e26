package io.svcproxy.config;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Binds the {@code endpoints:} a Service lists instead of a selector: ip, port or ports by Service port name, weight
 * and nodeName; an endpoint written twice for one Service port is refused. Records where each ip is written, for the
 * check of loops ({@link OwnListeners}).
 */
final class EndpointBinder extends BinderSupport {
    private final ExposureBinder exposureBinder;
    /** Where each explicit endpoint's {@code ip} is written: the map {@link ServiceBinder#endpointIps} shares. */
    private final Map<EndpointSpec, OwnListeners.WrittenAt> endpointIps;

    EndpointBinder(Problems p, ExposureBinder exposureBinder, Map<EndpointSpec, OwnListeners.WrittenAt> endpointIps) {
        super(p);
        this.exposureBinder = exposureBinder;
        this.endpointIps = endpointIps;
    }

    List<EndpointSpec> endpoints(Node node, String path, List<PortSpec> ports) {
        SequenceNode list = Values.list(node, path, "a list of endpoints", p);
        if (list == null) {
            return List.of();
        }
        List<String> portNames = ports.stream().map(PortSpec::name).filter(n -> !n.isEmpty()).toList();
        List<EndpointSpec> endpoints = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath,
                    "an endpoint: a map of " + String.join(", ", ServiceBinder.ENDPOINT), p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, ServiceBinder.ENDPOINT);
            InetAddress ip = null;
            if (f.has("ip")) {
                ip = Values.ip(f.value("ip"), f.child("ip"), p);
            } else {
                Values.missing(p, f, "ip", "an IPv4 or IPv6 address");
            }
            int port = 0;
            if (f.has("port")) {
                Integer v = Values.integer(f.value("port"), f.child("port"), 1, 65535, p);
                if (v != null && ports.size() > 1) {
                    Values.wrong(p, f.value("port"), f.child("port"), "ports by port name; the Service has "
                            + ports.size() + " ports");
                } else if (v != null) {
                    port = v;
                }
            }
            Map<String, Integer> byName = new LinkedHashMap<>();
            Set<String> namesGiven = new java.util.HashSet<>(); // valid or not: a bad value is reported once
            if (f.has("ports")) {
                if (f.has("port")) {
                    p.at(f.keyNode("ports"), f.child("ports"),
                            "ports: not allowed with port (expected: one of port or ports)");
                }
                byName = endpointPorts(f.value("ports"), f.child("ports"), portNames);
                if (f.value("ports") instanceof MappingNode given) {
                    for (NodeTuple t : given.getValue()) {
                        if (t.getKeyNode() instanceof ScalarNode key) {
                            namesGiven.add(key.getValue());
                        }
                    }
                }
            }
            int weight = 1;
            if (f.has("weight")) {
                Integer v = Values.integer(f.value("weight"), f.child("weight"), 0, 65535, p);
                weight = v == null ? weight : v;
            }
            if (!f.has("port")) {
                for (PortSpec sp : ports) {
                    if (sp.port() != 0 && sp.targetPort() != null && sp.targetPort().isNamed()
                            && !namesGiven.contains(sp.name())) {
                        p.at(map, itemPath, Values.label(itemPath) + ": no port for Service port " + sp.label()
                                + " (expected: " + (sp.name().isEmpty() ? "port" : "port, or ports." + sp.name())
                                + ", or a numeric targetPort)");
                    }
                }
            }
            EndpointSpec endpoint = new EndpointSpec(ip, port, byName, weight, exposureBinder.endpointNodeName(f));
            endpoints.add(endpoint);
            if (ip != null) {
                endpointIps.put(endpoint, new OwnListeners.WrittenAt(p, f.value("ip"), f.child("ip"), ""));
            }
        }
        checkTwice(endpoints, ports);
        return endpoints;
    }

    /**
     * Refuses an endpoint that is the same address and port as an earlier one of the same Service port (written
     * twice, or once with its port and once through the targetPort): one of them would be dropped, and its weight
     * with it.
     */
    private void checkTwice(List<EndpointSpec> endpoints, List<PortSpec> ports) {
        Map<Node, Boolean> reported = new IdentityHashMap<>();
        for (PortSpec port : ports) {
            Map<String, Node> first = new java.util.HashMap<>();
            for (EndpointSpec e : endpoints) {
                OwnListeners.WrittenAt at = endpointIps.get(e);
                int target = ServicePorts.targetOf(port, e);
                if (at == null || target <= 0) {
                    continue;
                }
                String shown = Addresses.format(e.ip(), target);
                Node earlier = first.putIfAbsent(shown, at.node());
                if (earlier != null && reported.put(at.node(), true) == null) {
                    Values.wrong(p, at.node(), at.path(), "an endpoint listed once; " + shown + " is also at "
                            + Problems.line(earlier) + (port.name().isEmpty() ? "" : " for port " + port.name()));
                }
            }
        }
    }

    private Map<String, Integer> endpointPorts(Node node, String path, List<String> portNames) {
        String expected = portNames.isEmpty()
                ? "a port name of the Service, which has no named port"
                : "a port name of the Service: " + String.join(", ", portNames);
        MappingNode map = Values.map(node, path, "a map of Service port name to port", p);
        if (map == null) {
            return Map.of();
        }
        Fields f = new Fields(map, path, p, null);
        Map<String, Integer> out = new LinkedHashMap<>();
        for (NodeTuple t : map.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode key) || f.keyNode(key.getValue()) != t.getKeyNode()) {
                continue; // reported by Fields
            }
            String name = key.getValue();
            String itemPath = path + "[" + name + "]";
            if (!portNames.contains(name)) {
                p.at(key, itemPath, Values.label(path) + ": " + name + " (expected: " + expected + ")");
                continue;
            }
            if (f.has(name)) {
                Integer v = Values.integer(t.getValueNode(), itemPath, 1, 65535, p);
                if (v != null) {
                    out.put(name, v);
                }
            } else {
                Values.missing(p, f, name, "1..65535");
            }
        }
        return out;
    }
}
