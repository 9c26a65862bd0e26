package io.svcproxy.config;

import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.SessionAffinity;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Binds the {@code services:} section of a config file, and checks the rules between Services (unique names, no
 * two on one clusterIP, port and protocol).
 */
final class ServiceBinder extends BinderSupport {
    static final List<String> HEALTH_CHECK = List.of("interval", "timeout", "rise", "fall");
    static final List<String> SERVICE = List.of("name", "namespace", "clusterIP", "selector", "scheduler",
            "schedulerFlags", "sessionAffinity", "sessionAffinityTimeout", "ports", "endpoints", "maxConnections",
            "maxConnectionsPerClient", "healthCheck", "type", "externalIPs", "loadBalancerIPs", "loadBalancerSourceRanges",
            "externalTrafficPolicy", "healthCheckNodePort");
    static final List<String> PORT = List.of("name", "protocol", "port", "targetPort", "udpIdleTimeout",
            "udpResponses", "proxyProtocol", "nodePort");
    static final List<String> ENDPOINT = List.of("ip", "port", "ports", "weight", "nodeName");

    private final ProxyBinder proxyBinder;
    private final ExposureBinder exposureBinder;
    /** The path of each name and port value, for the checks between Services that point back at them. */
    private final Map<Node, String> paths = new IdentityHashMap<>();
    /** Each port's {@code nodePort} value, by its {@code port} value node (for the own-listener check). */
    private final Map<Node, Node> nodePortNodes = new IdentityHashMap<>();
    /** Where each explicit endpoint's {@code ip} is written, for the check of loops ({@link OwnListeners}). */
    final Map<EndpointSpec, OwnListeners.WrittenAt> endpointIps = new IdentityHashMap<>();
    final List<ServiceSpec> services = new ArrayList<>();

    ServiceBinder(Problems p, ProxyBinder proxyBinder) {
        super(p);
        this.proxyBinder = proxyBinder;
        this.exposureBinder = new ExposureBinder(p);
    }

    private record Placed(ServiceSpec spec, Node nameNode, List<Node> portNodes) {
    }

    void bindServices(Node node) {
        SequenceNode list = Values.list(node, "services", "a list of Services", p);
        if (list == null) {
            return;
        }
        List<Placed> placed = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String path = "services[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), path, "a Service: a map of "
                    + String.join(", ", SERVICE), p);
            if (map != null) {
                Placed s = bindService(map, path);
                services.add(s.spec());
                placed.add(s);
            }
        }
        checkBetweenServices(placed);
    }

    private void checkBetweenServices(List<Placed> placed) {
        ProxySettings proxy = proxyBinder.proxy;
        Map<java.net.InetSocketAddress, String> own = proxy.ownListeners();
        Map<String, Node> names = new HashMap<>();
        Map<ServiceKey, String> keys = new HashMap<>();
        // every address a Service port listens on besides its clusterIP (externalIPs and LoadBalancer IPs at the
        // port), by protocol: another Service's clusterIP or extra address there could not be bound
        Map<ServiceKey, String> extra = new HashMap<>();
        for (Placed s : placed) {
            ServiceSpec spec = s.spec();
            if (spec.name() != null && spec.namespace() != null) {
                Node first = names.putIfAbsent(spec.qualifiedName(), s.nameNode());
                if (first != null) {
                    Values.wrong(p, s.nameNode(), pathOf(s.nameNode(), "name"), "a name unique in namespace "
                            + spec.namespace() + "; also at " + Problems.line(first));
                }
            }
            if (spec.clusterIP() == null) {
                continue;
            }
            for (int j = 0; j < spec.ports().size(); j++) {
                PortSpec port = spec.ports().get(j);
                Node portNode = s.portNodes().get(j);
                if (port.port() == 0 || port.protocol() == null || portNode == null) {
                    continue;
                }
                ServiceKey key = new ServiceKey(spec.clusterIP(), port.port(), port.protocol());
                String shown = Addresses.format(spec.clusterIP(), port.port()) + "/" + port.protocol();
                String owner = (spec.name() == null ? "?" : spec.qualifiedName()) + " at "
                        + Problems.line(portNode);
                String first = keys.putIfAbsent(key, owner);
                String clash = proxy.listenerTaking(key);
                if (clash != null) {
                    Values.wrong(p, portNode, pathOf(portNode, "port"), "a port where svcproxy does not listen "
                            + "already; " + shown + " is its " + clash);
                } else if (first != null) {
                    Values.wrong(p, portNode, pathOf(portNode, "port"), "a clusterIP, port and protocol of one "
                            + "Service only; " + shown + " is also " + first);
                } else if (extra.containsKey(key)) {
                    Values.wrong(p, portNode, pathOf(portNode, "port"), "an address, port and protocol of one "
                            + "Service only; " + shown + " is also " + extra.get(key));
                }
                checkExtraAddresses(spec, port, portNode, owner, keys, extra);
                checkNodePort(own, port, portNode);
            }
        }
    }

    /**
     * Refuses a TCP nodePort where svcproxy's admin server or an Ingress listener listens on one of the node's
     * addresses ({@code proxy.nodeAddresses}: the addresses written, or in the ranges written), or on every address.
     * NodePorts listen on no address when {@code proxy.nodeAddresses} is empty, and then never clash.
     */
    private void checkNodePort(Map<java.net.InetSocketAddress, String> own, PortSpec port, Node portNode) {
        if (port.nodePort() <= 0 || port.protocol() != Protocol.TCP) {
            return;
        }
        NodeSettings node = proxyBinder.proxy.node();
        if (node.nodeAddresses().isEmpty() && node.nodeAddressRanges().isEmpty()) {
            return;
        }
        for (Map.Entry<java.net.InetSocketAddress, String> e : own.entrySet()) {
            java.net.InetSocketAddress a = e.getKey();
            InetAddress ip = a.getAddress();
            if (a.getPort() != port.nodePort()) {
                continue;
            }
            boolean onNode = ip == null || ip.isAnyLocalAddress() || node.nodeAddresses().contains(ip)
                    || node.nodeAddressRanges().stream().anyMatch(r -> r.contains(ip));
            if (onNode) {
                Node at = nodePortNodes.getOrDefault(portNode, portNode);
                Values.wrong(p, at, pathOf(at, "nodePort"), "a port where "
                        + "svcproxy does not listen already on the node's addresses; " + port.nodePort() + " is its "
                        + e.getValue() + " " + Addresses.format(ip, a.getPort()));
                return;
            }
        }
    }

    /**
     * Refuses an externalIP or LoadBalancer IP of a Service port that another Service listens on at the same port
     * and protocol (its clusterIP or one of its own such addresses); an address the Service lists twice, or that is
     * its own clusterIP, is one listener and no clash.
     */
    private void checkExtraAddresses(ServiceSpec spec, PortSpec port, Node portNode, String owner,
                                     Map<ServiceKey, String> clusterKeys, Map<ServiceKey, String> extra) {
        for (InetAddress a : spec.extraAddresses()) {
            ServiceKey key = new ServiceKey(a, port.port(), port.protocol());
            String first = clusterKeys.get(key);
            if (first == null) {
                first = extra.putIfAbsent(key, "an externalIP or loadBalancerIP of " + owner);
            } else {
                first = "the clusterIP of " + first;
            }
            if (first != null) {
                Values.wrong(p, portNode, pathOf(portNode, "port"), "an address, port and protocol of one Service "
                        + "only; " + Addresses.format(a, port.port()) + "/" + port.protocol() + " is also " + first);
            }
        }
    }

    /** Returns the path recorded for a node when it was bound (the checks between Services need it back). */
    private String pathOf(Node node, String dflt) {
        return paths.getOrDefault(node, dflt);
    }

    private Placed bindService(MappingNode map, String path) {
        Fields f = new Fields(map, path, p, SERVICE);
        String name = null;
        Node nameNode = f.missingAt("name");
        if (f.has("name")) {
            nameNode = f.value("name");
            paths.put(nameNode, f.child("name"));
            name = name(nameNode, f.child("name"), Names::isDns1035Label, Names.DNS1035_LABEL_EXPECTED);
        } else {
            Values.missing(p, f, "name", Names.DNS1035_LABEL_EXPECTED);
        }
        String namespace = "default";
        if (f.has("namespace")) {
            namespace = name(f.value("namespace"), f.child("namespace"), Names::isDns1123Label,
                    Names.DNS1123_LABEL_EXPECTED);
        }
        InetAddress clusterIP = null;
        if (f.has("clusterIP")) {
            clusterIP = Values.ip(f.value("clusterIP"), f.child("clusterIP"), p);
        } else {
            Values.missing(p, f, "clusterIP", "an IPv4 or IPv6 address");
        }
        Map<String, String> selector = null;
        if (f.has("selector")) {
            selector = PodBinder.labels(f.value("selector"), f.child("selector"), p);
            if (selector != null && selector.isEmpty()) {
                // As in Kubernetes, where an empty selector is dropped: the Service selects no Pods.
                selector = null;
            }
        }
        String scheduler = proxyBinder.defaultSchedulerValid ? proxyBinder.proxy.scheduler() : null;
        boolean schedulerKnown = proxyBinder.defaultSchedulerValid;
        if (f.has("scheduler")) {
            scheduler = scheduler(f.value("scheduler"), f.child("scheduler"));
            schedulerKnown = scheduler != null;
        }
        Set<SchedulerFlag> flags = f.has("schedulerFlags")
                ? flags(f.value("schedulerFlags"), f.child("schedulerFlags"), schedulerKnown ? scheduler : null)
                : Set.of();
        SessionAffinity affinity = affinity(f);
        ServiceExposure exposure = exposureBinder.exposure(f, proxyBinder.proxy.node());
        List<Node> portNodes = new ArrayList<>();
        List<Node> targetPortNodes = new ArrayList<>();
        List<PortSpec> ports = f.has("ports") ? ports(f, exposureBinder.typeValid ? exposure.type() : null,
                portNodes, targetPortNodes) : List.of();
        if (!f.has("ports")) {
            Values.missing(p, f, "ports", "a list of at least one port");
        }
        List<EndpointSpec> endpoints = List.of();
        if (f.has("endpoints")) {
            if (selector != null) {
                p.at(f.keyNode("endpoints"), f.child("endpoints"),
                        "endpoints: not allowed with a selector (expected: either selector or endpoints)");
            }
            for (int j = 0; j < ports.size(); j++) {
                if (ports.get(j).targetPort() != null && ports.get(j).targetPort().isNamed()) {
                    Values.wrong(p, targetPortNodes.get(j), f.child("ports") + "[" + j + "].targetPort",
                            "a port number; a Service with endpoints has no Pods to name ports");
                }
            }
            endpoints = endpoints(f.value("endpoints"), f.child("endpoints"), ports);
        }
        int maxConnections = integerOr(f, "maxConnections", 0, 10_000_000, 0);
        int maxPerClient = integerOr(f, "maxConnectionsPerClient", 0, 10_000_000, 0);
        HealthCheckSpec healthCheck = f.has("healthCheck") ? healthCheck(f.value("healthCheck"),
                f.child("healthCheck")) : null;
        ServiceSpec spec = new ServiceSpec(name, namespace, clusterIP, selector,
                scheduler == null ? proxyBinder.proxy.scheduler() : scheduler, flags, affinity, ports, endpoints, maxConnections,
                maxPerClient, healthCheck, exposure);
        return new Placed(spec, nameNode, portNodes);
    }



    private SessionAffinity affinity(Fields f) {
        boolean clientIp = false;
        boolean known = true;
        if (f.has("sessionAffinity")) {
            Node n = f.value("sessionAffinity");
            String v = Values.text(n, f.child("sessionAffinity"), "None or ClientIP", p);
            if ("ClientIP".equals(v)) {
                clientIp = true;
            } else if (!"None".equals(v)) {
                known = false;
                if (v != null) {
                    Values.wrong(p, n, f.child("sessionAffinity"), "None or ClientIP");
                }
            }
        }
        Duration timeout = SessionAffinity.DEFAULT_TIMEOUT;
        if (f.has("sessionAffinityTimeout")) {
            Node n = f.value("sessionAffinityTimeout");
            Duration d = Values.duration(n, f.child("sessionAffinityTimeout"), Duration.ofSeconds(1),
                    Duration.ofSeconds(86400), "1s..86400s", p);
            timeout = d == null ? timeout : d;
        }
        // With None the timeout is accepted and has no effect (SPEC.md's example writes both; Kubernetes would
        // reject it, but the example is the contract).
        return clientIp && known ? SessionAffinity.clientIp(timeout) : SessionAffinity.NONE;
    }

    private List<PortSpec> ports(Fields service, ServiceType type, List<Node> portNodes,
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
                    "a port: a map of " + String.join(", ", PORT), p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, PORT);
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
                paths.put(portNode, f.child("port"));
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
            int nodePort = exposureBinder.nodePort(f, type, protocol, proxyBinder.proxy.node());
            if (nodePort > 0 && portNode != null) {
                nodePortNodes.put(portNode, f.value("nodePort"));
                paths.put(f.value("nodePort"), f.child("nodePort"));
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

    private List<EndpointSpec> endpoints(Node node, String path, List<PortSpec> ports) {
        SequenceNode list = Values.list(node, path, "a list of endpoints", p);
        if (list == null) {
            return List.of();
        }
        List<String> portNames = ports.stream().map(PortSpec::name).filter(n -> !n.isEmpty()).toList();
        List<EndpointSpec> endpoints = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath,
                    "an endpoint: a map of " + String.join(", ", ENDPOINT), p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, ENDPOINT);
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

    private HealthCheckSpec healthCheck(Node node, String path) {
        HealthCheckSpec d = HealthCheckSpec.defaults();
        MappingNode map = Values.map(node, path, "a map of " + String.join(", ", HEALTH_CHECK), p);
        if (map == null) {
            return null;
        }
        Fields f = new Fields(map, path, p, HEALTH_CHECK);
        Duration interval = orDefault(f, "interval", Duration.ofMillis(100), Duration.ofHours(1), "100ms..1h",
                d.interval());
        Duration timeout = orDefault(f, "timeout", Duration.ofMillis(10), Duration.ofMinutes(1), "10ms..1m",
                d.timeout());
        int rise = integerOr(f, "rise", 1, 100, d.rise());
        int fall = integerOr(f, "fall", 1, 100, d.fall());
        if (timeout.compareTo(interval) > 0) {
            Node at = f.has("timeout") ? f.value("timeout") : f.missingAt("interval");
            p.at(at, f.child("timeout"), Values.label(f.child("timeout")) + ": " + Durations.format(timeout)
                    + " (expected: at most interval " + Durations.format(interval) + ")");
        }
        return new HealthCheckSpec(interval, timeout, rise, fall);
    }
}
