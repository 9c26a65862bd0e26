package io.svcproxy.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Binds a Service's {@code ports:}: names unique in the Service, protocol, port, targetPort, the UDP and PROXY
 * protocol settings and the nodePort, and records where each port and nodePort is written for {@link ServiceClashes}.
 */
final class PortBinder extends BinderSupport {
    private final ProxyBinder proxyBinder;
    private final ExposureBinder exposureBinder;
    private final ServiceClashes clashes;

    PortBinder(Problems p, ProxyBinder proxyBinder, ExposureBinder exposureBinder, ServiceClashes clashes) {
        super(p);
        this.proxyBinder = proxyBinder;
        this.exposureBinder = exposureBinder;
        this.clashes = clashes;
    }

    List<PortSpec> ports(Fields service, ServiceType type, List<Node> portNodes,
                           List<Node> targetPortNodes) {
        String path = service.child("ports");
        SequenceNode list = Values.list(service.value("ports"), path, "a list of at least one port", p);
        if (list == null) {
            return List.of();
        }
        if (list.getValue().isEmpty()) {
            Values.wrong(p, list, path, "a list of at least one port");
            return List.of();
        }
        boolean several = list.getValue().size() > 1;
        List<PortSpec> ports = new ArrayList<>();
        Map<String, Node> names = new HashMap<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath,
                    "a port: a map of " + String.join(", ", ServiceBinder.PORT), p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, ServiceBinder.PORT);
            String name = "";
            if (f.has("name")) {
                Node n = f.value("name");
                String v = name(n, f.child("name"), Names::isDns1123Label, Names.DNS1123_LABEL_EXPECTED);
                if (v != null) {
                    Node first = names.putIfAbsent(v, n);
                    if (first != null) {
                        Values.wrong(p, n, f.child("name"), "a name unique in the Service; also at "
                                + Problems.line(first));
                    }
                    name = v;
                }
            } else if (several) {
                Values.missing(p, f, "name", "a port name; required when a Service has more than one port");
            }
            Protocol protocol = Protocol.TCP;
            if (f.has("protocol")) {
                protocol = serviceProtocol(f.value("protocol"), f.child("protocol"));
            }
            int port = 0;
            Node portNode = null;
            if (f.has("port")) {
                portNode = f.value("port");
                clashes.paths.put(portNode, f.child("port"));
                Integer v = Values.integer(portNode, f.child("port"), 1, 65535, p);
                port = v == null ? 0 : v;
                if (v == null) {
                    portNode = null;
                }
            } else {
                Values.missing(p, f, "port", "1..65535");
            }
            TargetPort target = port == 0 ? null : TargetPort.of(port);
            Node targetNode = null;
            if (f.has("targetPort")) {
                targetNode = f.value("targetPort");
                target = targetPort(targetNode, f.child("targetPort"));
            }
            Duration udpIdleTimeout = null;
            int udpResponses = 0;
            for (String key : List.of("udpIdleTimeout", "udpResponses")) {
                if (f.has(key) && protocol != Protocol.UDP) {
                    Values.wrong(p, f.value(key), f.child(key), "only on a port with protocol: UDP");
                }
            }
            if (f.has("udpIdleTimeout") && protocol == Protocol.UDP) {
                udpIdleTimeout = Values.duration(f.value("udpIdleTimeout"), f.child("udpIdleTimeout"),
                        Duration.ofMillis(10), Duration.ofHours(24), "10ms..24h", p);
            }
            if (f.has("udpResponses") && protocol == Protocol.UDP) {
                Integer n = Values.integer(f.value("udpResponses"), f.child("udpResponses"), 1, 1_000_000, p);
                udpResponses = n == null ? 0 : n;
            }
            ProxyProtocol proxyProtocol = null;
            if (f.has("proxyProtocol")) {
                String v = Values.text(f.value("proxyProtocol"), f.child("proxyProtocol"), "v1 or v2", p);
                if ("v1".equals(v) && protocol == Protocol.UDP) {
                    Values.wrong(p, f.value("proxyProtocol"), f.child("proxyProtocol"),
                            "v2 on a UDP port; v1 has no datagram form");
                } else if ("v1".equals(v) || "v2".equals(v)) {
                    proxyProtocol = ProxyProtocol.valueOf(v.toUpperCase(java.util.Locale.ROOT));
                } else if (v != null) {
                    Values.wrong(p, f.value("proxyProtocol"), f.child("proxyProtocol"), "v1 or v2");
                }
            }
            int nodePort = exposureBinder.nodePort(f, type, protocol, proxyBinder.proxy.node(),
                    proxyBinder.nodePortRangeValid);
            if (nodePort > 0 && portNode != null) {
                clashes.nodePortNodes.put(portNode, f.value("nodePort"));
                clashes.paths.put(f.value("nodePort"), f.child("nodePort"));
            }
            ports.add(new PortSpec(name, protocol, port, target, udpIdleTimeout, udpResponses, proxyProtocol,
                    nodePort));
            portNodes.add(portNode);
            targetPortNodes.add(targetNode);
        }
        return ports;
    }

    private Protocol serviceProtocol(Node node, String path) {
        String v = Values.text(node, path, "TCP or UDP", p);
        if ("TCP".equals(v)) {
            return Protocol.TCP;
        }
        if ("UDP".equals(v)) {
            return Protocol.UDP;
        }
        if ("SCTP".equals(v)) {
            Values.wrong(p, node, path, "TCP or UDP; SCTP is not supported");
        } else if (v != null) {
            Values.wrong(p, node, path, "TCP or UDP");
        }
        return null;
    }

    private TargetPort targetPort(Node node, String path) {
        String expected = "a port number 1..65535, or " + Names.IANA_SVC_NAME_EXPECTED;
        if (node instanceof ScalarNode && node.getTag().equals(Tag.INT)) {
            Integer v = Values.integer(node, path, 1, 65535, p);
            return v == null ? null : TargetPort.of(v);
        }
        String v = Values.text(node, path, expected, p);
        if (v == null) {
            return null;
        }
        if (!Names.isIanaSvcName(v)) {
            Values.wrong(p, node, path, expected);
            return null;
        }
        return TargetPort.named(v);
    }
}
