package io.svcproxy.config;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Checks the rules between the Services of a file once all are bound: unique names in a namespace, no two on one
 * clusterIP, port and protocol (nor on an externalIP or LoadBalancer IP another listens on), and no nodePort where
 * svcproxy listens already on the node's addresses. Errors point back at where each value is written.
 */
final class ServiceClashes extends BinderSupport {
    private final ProxyBinder proxyBinder;
    /** The path of each name and port value, for the checks between Services that point back at them. */
    final Map<Node, String> paths = new IdentityHashMap<>();
    /** Each port's {@code nodePort} value, by its {@code port} value node (for the own-listener check). */
    final Map<Node, Node> nodePortNodes = new IdentityHashMap<>();

    ServiceClashes(Problems p, ProxyBinder proxyBinder) {
        super(p);
        this.proxyBinder = proxyBinder;
    }

    /** A Service as bound, with where its name and each of its ports ({@code null}: no valid port) are written. */
    record Placed(ServiceSpec spec, Node nameNode, List<Node> portNodes) {
    }

    void checkBetweenServices(List<Placed> placed) {
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
     * addresses ({@code proxy.nodeAddresses}: the addresses written, or in the ranges written). One on every address
     * shares the port: the node port's listeners take the connections to the node's addresses. NodePorts listen on
     * no address when {@code proxy.nodeAddresses} is empty, and then never clash.
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
            boolean onNode = ip != null && !ip.isAnyLocalAddress() && (node.nodeAddresses().contains(ip)
                    || node.nodeAddressRanges().stream().anyMatch(r -> r.contains(ip)));
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
}
