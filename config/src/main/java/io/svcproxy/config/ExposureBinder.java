package io.svcproxy.config;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Binds where a Service is reachable besides its clusterIP: {@code proxy.nodeAddresses}, {@code nodePortRange} and
 * {@code nodeName}; a Service's {@code type}, {@code externalIPs}, {@code loadBalancerIPs},
 * {@code loadBalancerSourceRanges}, {@code externalTrafficPolicy} and {@code healthCheckNodePort}; a port's
 * {@code nodePort}, unique per protocol across all Services (a healthCheckNodePort takes its number in TCP); an
 * endpoint's {@code nodeName}.
 */
final class ExposureBinder extends BinderSupport {
    static final String TYPES = "ClusterIP, NodePort or LoadBalancer";
    static final String CIDR_EXPECTED = "a CIDR such as 10.0.0.0/8 or 2001:db8::/32, host bits zero";
    static final String NODE_ADDRESS_EXPECTED = "a list of IP addresses, or CIDRs for this host's addresses in them";
    static final String RANGE_EXPECTED = "LOW-HIGH, two ports 1..65535 with LOW <= HIGH, such as 30000-32767";

    /**
     * The first port that took each {@code nodePort/protocol}, and as what (a port's nodePort or a Service's
     * healthCheckNodePort, which takes its number in TCP), for the check that no two share one.
     */
    private final Map<String, Taken> nodePorts = new HashMap<>();
    /**
     * Where each externalIP and LoadBalancer IP of the Service bound last by {@link #exposure} is written (its first
     * place), for the checks against the other listeners ({@link ServiceClashes}).
     */
    Map<InetAddress, ServiceClashes.Written> addressesWritten = new HashMap<>();
    /** Where the valid healthCheckNodePort of the Service bound last by {@link #exposure} is written, else null. */
    ServiceClashes.Written healthCheckNodePortWritten;

    /**
     * Whether the {@code nodePortRange} bound by {@link #node} was valid (or not written): a wrong one is reported
     * once, at itself, and the nodePorts are then not checked against the default put in its place, a range the file
     * never names.
     */
    boolean nodePortRangeValid = true;

    /** A node port number taken: where, and whether as a healthCheckNodePort (else as a port's nodePort). */
    private record Taken(Node at, boolean healthCheck) {
    }

    ExposureBinder(Problems p) {
        super(p);
    }

    NodeSettings node(Fields f) {
        NodeSettings d = NodeSettings.defaults();
        List<InetAddress> addresses = new ArrayList<>();
        List<Cidr> ranges = new ArrayList<>();
        if (f.has("nodeAddresses")) {
            nodeAddresses(f.value("nodeAddresses"), f.child("nodeAddresses"), addresses, ranges);
        }
        int low = d.nodePortLow();
        int high = d.nodePortHigh();
        if (f.has("nodePortRange")) {
            Node n = f.value("nodePortRange");
            String v = Values.text(n, f.child("nodePortRange"), RANGE_EXPECTED, p);
            nodePortRangeValid = v != null;
            if (v != null) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]{1,5})-([0-9]{1,5})").matcher(v);
                int l = m.matches() ? Integer.parseInt(m.group(1)) : 0;
                int h = m.matches() ? Integer.parseInt(m.group(2)) : 0;
                if (l < 1 || h > 65535 || l > h) {
                    Values.wrong(p, n, f.child("nodePortRange"), RANGE_EXPECTED);
                    nodePortRangeValid = false;
                } else {
                    low = l;
                    high = h;
                }
            }
        }
        String nodeName = d.nodeName();
        if (f.has("nodeName")) {
            String v = name(f.value("nodeName"), f.child("nodeName"), Names::isDns1123Subdomain,
                    Names.DNS1123_SUBDOMAIN_EXPECTED);
            nodeName = v == null ? nodeName : v;
        }
        return new NodeSettings(addresses, low, high, nodeName, ranges);
    }

    /** Whether the {@code type} of the Service bound last by {@link #exposure} was valid (or not written). */
    boolean typeValid = true;

    /** {@code rangeValid}: whether {@code node}'s nodePortRange is the one written ({@link #nodePortRangeValid}). */
    ServiceExposure exposure(Fields f, NodeSettings node, boolean rangeValid) {
        ServiceType type = ServiceType.CLUSTER_IP;
        boolean typeValid = true; // a wrong type is reported once, not again at each field it would allow
        if (f.has("type")) {
            Node n = f.value("type");
            String v = Values.text(n, f.child("type"), TYPES, p);
            typeValid = v != null && ServiceType.of(v) != null;
            if ("ExternalName".equals(v)) {
                Values.wrong(p, n, f.child("type"), TYPES + "; ExternalName has no address to proxy");
            } else if (v != null && ServiceType.of(v) == null) {
                Values.wrong(p, n, f.child("type"), TYPES);
            } else if (v != null) {
                type = ServiceType.of(v);
            }
        }
        this.typeValid = typeValid;
        addressesWritten = new HashMap<>();
        healthCheckNodePortWritten = null;
        List<InetAddress> external = f.has("externalIPs")
                ? ips(f.value("externalIPs"), f.child("externalIPs")) : List.of();
        List<InetAddress> lbIPs = List.of();
        List<Cidr> ranges = List.of();
        for (String key : List.of("loadBalancerIPs", "loadBalancerSourceRanges")) {
            if (f.has(key) && typeValid && type != ServiceType.LOAD_BALANCER) {
                Values.wrong(p, f.value(key), f.child(key), "only on a Service of type LoadBalancer");
            }
        }
        if (type == ServiceType.LOAD_BALANCER) {
            lbIPs = f.has("loadBalancerIPs") ? ips(f.value("loadBalancerIPs"), f.child("loadBalancerIPs")) : lbIPs;
            ranges = f.has("loadBalancerSourceRanges")
                    ? cidrs(f.value("loadBalancerSourceRanges"), f.child("loadBalancerSourceRanges")) : ranges;
        }
        TrafficPolicy policy = TrafficPolicy.CLUSTER;
        if (f.has("externalTrafficPolicy")) {
            Node n = f.value("externalTrafficPolicy");
            String v = Values.text(n, f.child("externalTrafficPolicy"), "Cluster or Local", p);
            if ("Local".equals(v)) {
                policy = TrafficPolicy.LOCAL;
            } else if (v != null && !"Cluster".equals(v)) {
                Values.wrong(p, n, f.child("externalTrafficPolicy"), "Cluster or Local");
            }
        }
        int healthCheckNodePort = f.has("healthCheckNodePort")
                ? healthCheckNodePort(f, typeValid ? type : null, policy, node, rangeValid) : 0;
        return new ServiceExposure(type, external, lbIPs, ranges, policy, TrafficPolicy.CLUSTER, healthCheckNodePort);
    }

    /**
     * A Service's {@code healthCheckNodePort}, as the API server allows it: only with type LoadBalancer and
     * externalTrafficPolicy Local, in the node port range, and no other Service's TCP nodePort or healthCheckNodePort.
     * 0 when wrong.
     */
    private int healthCheckNodePort(Fields f, ServiceType type, TrafficPolicy policy, NodeSettings node,
                                    boolean rangeValid) {
        Node n = f.value("healthCheckNodePort");
        String path = f.child("healthCheckNodePort");
        if (type != ServiceType.LOAD_BALANCER || policy != TrafficPolicy.LOCAL) {
            if (type != null) {
                Values.wrong(p, n, path, "only on a Service of type LoadBalancer with externalTrafficPolicy: Local");
            }
            return 0;
        }
        Integer v = Values.integer(n, path, 1, 65535, p);
        if (v == null) {
            return 0;
        }
        if (rangeValid && (v < node.nodePortLow() || v > node.nodePortHigh())) {
            Values.wrong(p, n, path, "a port in proxy.nodePortRange " + node.range());
            return 0;
        }
        Taken first = nodePorts.putIfAbsent(v + "/" + Protocol.TCP, new Taken(n, true));
        if (first != null && first.healthCheck()) {
            Values.wrong(p, n, path, "a port no other Service has as healthCheckNodePort; " + v + " is also at "
                    + Problems.line(first.at()));
            return 0;
        }
        if (first != null) {
            Values.wrong(p, n, path, "a port no Service port has as nodePort/TCP; " + v + " is also at "
                    + Problems.line(first.at()));
            return 0;
        }
        healthCheckNodePortWritten = new ServiceClashes.Written(n, path);
        return v;
    }

    /**
     * Returns a port's nodePort: required for NodePort and LoadBalancer Services, inside the range, and not taken by
     * another port of the same protocol; not allowed on a ClusterIP Service. 0 when absent or wrong.
     */
    /**
     * {@code type}: the Service's, or {@code null} when it was invalid (reported; nothing more is said here);
     * {@code rangeValid}: whether {@code node}'s nodePortRange is the one written ({@link #nodePortRangeValid}).
     */
    int nodePort(Fields f, ServiceType type, Protocol protocol, NodeSettings node, boolean rangeValid) {
        if (type == null) {
            return 0;
        }
        if (!f.has("nodePort")) {
            if (type.hasNodePorts()) {
                Values.missing(p, f, "nodePort", "a port in proxy.nodePortRange" + (rangeValid ? " " + node.range()
                        : "") + "; required for type " + type.yamlName());
            }
            return 0;
        }
        Node n = f.value("nodePort");
        if (!type.hasNodePorts()) {
            Values.wrong(p, n, f.child("nodePort"), "only on a Service of type NodePort or LoadBalancer");
            return 0;
        }
        Integer v = Values.integer(n, f.child("nodePort"), 1, 65535, p);
        if (v == null) {
            return 0;
        }
        if (rangeValid && (v < node.nodePortLow() || v > node.nodePortHigh())) {
            Values.wrong(p, n, f.child("nodePort"), "a port in proxy.nodePortRange " + node.range());
            return 0;
        }
        if (protocol != null) {
            Taken first = nodePorts.putIfAbsent(v + "/" + protocol, new Taken(n, false));
            if (first != null && first.healthCheck()) {
                Values.wrong(p, n, f.child("nodePort"), "a port no Service has as healthCheckNodePort; " + v + "/"
                        + protocol + " is the healthCheckNodePort at " + Problems.line(first.at()));
                return 0;
            }
            if (first != null) {
                Values.wrong(p, n, f.child("nodePort"), "a nodePort of one Service port only; " + v + "/"
                        + protocol + " is also at " + Problems.line(first.at()));
                return 0;
            }
        }
        return v;
    }

    String endpointNodeName(Fields f) {
        if (!f.has("nodeName")) {
            return "";
        }
        String v = name(f.value("nodeName"), f.child("nodeName"), Names::isDns1123Subdomain,
                Names.DNS1123_SUBDOMAIN_EXPECTED);
        return v == null ? "" : v;
    }

    private List<InetAddress> ips(Node node, String path) {
        SequenceNode list = Values.list(node, path, "a list of IPv4 or IPv6 addresses", p);
        List<InetAddress> out = new ArrayList<>();
        if (list == null) {
            return out;
        }
        Map<InetAddress, Node> seen = new HashMap<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            Node item = list.getValue().get(i);
            InetAddress ip = Values.ip(item, path + "[" + i + "]", p);
            if (ip == null) {
                continue;
            }
            Node first = seen.putIfAbsent(ip, item);
            if (first != null) {
                Values.wrong(p, item, path + "[" + i + "]", "each address once; also at " + Problems.line(first));
            } else {
                out.add(ip);
                addressesWritten.putIfAbsent(ip, new ServiceClashes.Written(item, path + "[" + i + "]"));
            }
        }
        return out;
    }

    /** {@code proxy.nodeAddresses}: IP addresses, and CIDRs standing for this host's addresses inside them. */
    private void nodeAddresses(Node node, String path, List<InetAddress> addresses, List<Cidr> ranges) {
        SequenceNode list = Values.list(node, path, NODE_ADDRESS_EXPECTED, p);
        if (list == null) {
            return;
        }
        Map<Object, Node> seen = new HashMap<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            Node item = list.getValue().get(i);
            String itemPath = path + "[" + i + "]";
            String v = Values.text(item, itemPath, NODE_ADDRESS_EXPECTED, p);
            if (v == null) {
                continue;
            }
            Object value;
            if (v.contains("/")) {
                try {
                    value = Cidr.parse(v);
                } catch (IllegalArgumentException e) {
                    Values.wrong(p, item, itemPath, CIDR_EXPECTED);
                    continue;
                }
            } else {
                value = Values.ip(item, itemPath, p);
                if (value == null) {
                    continue;
                }
            }
            Node first = seen.putIfAbsent(value, item);
            if (first != null) {
                Values.wrong(p, item, itemPath, "each address once; also at " + Problems.line(first));
            } else if (value instanceof Cidr c) {
                ranges.add(c);
            } else {
                addresses.add((InetAddress) value);
            }
        }
    }

    private List<Cidr> cidrs(Node node, String path) {
        SequenceNode list = Values.list(node, path, "a list of CIDRs", p);
        List<Cidr> out = new ArrayList<>();
        if (list == null) {
            return out;
        }
        for (int i = 0; i < list.getValue().size(); i++) {
            Node item = list.getValue().get(i);
            String itemPath = path + "[" + i + "]";
            String v = Values.text(item, itemPath, CIDR_EXPECTED, p);
            if (v == null) {
                continue;
            }
            try {
                out.add(Cidr.parse(v));
            } catch (IllegalArgumentException e) {
                Values.wrong(p, item, itemPath, CIDR_EXPECTED);
            }
        }
        return out;
    }
}
