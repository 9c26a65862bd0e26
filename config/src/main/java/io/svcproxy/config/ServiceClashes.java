package io.svcproxy.config;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Checks the rules between the Services of a file once all are bound: unique names in a namespace, no two on one
 * clusterIP, port and protocol (nor on an externalIP or LoadBalancer IP another listens on), no Service port at the
 * address and port of svcproxy's admin or Ingress listener, and (by {@link NodePortClashes}) nothing else at the
 * sockets of the node ports. Errors point back at where each value is written.
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

    /**
     * A Service as bound, with where its name and each of its ports ({@code null}: no valid port) are written, its
     * externalIPs and LoadBalancer IPs (each address's first place) and its valid healthCheckNodePort ({@code
     * null}: none).
     */
    record Placed(ServiceSpec spec, Node nameNode, List<Node> portNodes, Map<InetAddress, Written> addresses,
                  Written healthCheckNodePort) {
    }

    /** Where a value is written: its node and path. */
    record Written(Node node, String path) {
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
                String clash = ProxySettings.listenerTaking(own, key);
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
                checkExtraAddresses(s, port, portNode, owner, own, keys, extra);
            }
        }
        new NodePortClashes(p, proxy, paths, nodePortNodes).check(placed);
    }

    /**
     * Refuses an externalIP or LoadBalancer IP of a Service port that another Service listens on at the same port
     * and protocol (its clusterIP or one of its own such addresses); an address the Service lists twice, or that is
     * its own clusterIP, is one listener and no clash. One at the address and port of svcproxy's admin or Ingress
     * listener is refused at the address (the address is what moves it off the listener; one on every address
     * shares its port); one of the other family than the clusterIP's is not served, so not checked against those.
     */
    private void checkExtraAddresses(Placed s, PortSpec port, Node portNode, String owner,
                                     Map<java.net.InetSocketAddress, String> own,
                                     Map<ServiceKey, String> clusterKeys, Map<ServiceKey, String> extra) {
        ServiceSpec spec = s.spec();
        for (InetAddress a : spec.extraAddresses()) {
            ServiceKey key = new ServiceKey(a, port.port(), port.protocol());
            String listener = a.getClass() == spec.clusterIP().getClass()
                    ? ProxySettings.listenerTaking(own, key) : null;
            if (listener != null) {
                Written at = s.addresses().getOrDefault(a, new Written(portNode, pathOf(portNode, "port")));
                Values.wrong(p, at.node(), at.path(), "an address where svcproxy does not listen already at the "
                        + "Service's ports; with port: " + port.port() + " at " + Problems.line(portNode) + ", "
                        + Addresses.format(a, port.port()) + "/" + port.protocol() + " is its " + listener);
                continue;
            }
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
