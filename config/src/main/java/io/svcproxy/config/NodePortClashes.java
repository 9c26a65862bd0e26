package io.svcproxy.config;

import io.svcproxy.config.ServiceClashes.Placed;
import io.svcproxy.config.ServiceClashes.Written;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Checks the listeners of the node's addresses ({@code proxy.nodeAddresses}) once all Services are bound. A nodePort
 * listens on every node address of its Service's family, a healthCheckNodePort (TCP) on every node address; neither
 * may need the socket (address, port and protocol) of svcproxy's admin or Ingress listener, nor of another Service
 * port's clusterIP, externalIP or LoadBalancer IP: the second could not be bound ({@code Address already in use} at
 * start, or a reload counted applied whose listener never serves). Within one Service port the node address and
 * the other address are one listener, and no clash. Two nodePorts of one number and protocol, or a nodePort and a
 * healthCheckNodePort, are refused by {@link ExposureBinder} already.
 *
 * <p>Between Service ports the error is at the one written second, naming the first; against the admin or Ingress
 * listener it is at the Service's value (the {@code proxy:} section is bound first). A listener on every address
 * shares its port (SO_REUSEPORT, README "Own listeners on every address") and never clashes.
 *
 * <p>A CIDR in {@code nodeAddresses} stands for this host's addresses in it, found when the config is applied: the
 * admin or Ingress listener at an address in it counts as on the node (it is bound there, so the host has it), a
 * Service's address does not (a clusterIP, say, is the host's only with {@code vipInterface}, and only once added);
 * the Services' addresses are checked against the addresses written.
 */
final class NodePortClashes {
    private static final String NODE_PORT_EXPECTED = "a port where svcproxy does not listen already on the node's "
            + "addresses";
    private static final String SERVICE_ADDRESS_EXPECTED = "an address, port and protocol of one Service only";

    /** A listener of the node ports: one Service port's, or one Service's health check. */
    private record Listener(int service, int port) {
    }

    /** A socket a listener needs, where it is written, and what the error there expects. */
    private record Claim(Listener listener, String what, Written at, String expected) {
    }

    private final Problems p;
    private final NodeSettings node;
    private final Map<InetSocketAddress, String> own;
    private final Map<Node, String> paths;
    private final Map<Node, Node> nodePortNodes;
    /** The nodes reported at already: one error per value, also when it clashes at several node addresses. */
    private final Map<Node, Boolean> reported = new IdentityHashMap<>();

    NodePortClashes(Problems p, ProxySettings proxy, Map<Node, String> paths, Map<Node, Node> nodePortNodes) {
        this.p = p;
        this.node = proxy.node();
        this.own = proxy.ownListeners();
        this.paths = paths;
        this.nodePortNodes = nodePortNodes;
    }

    void check(List<Placed> placed) {
        if (node.nodeAddresses().isEmpty() && node.nodeAddressRanges().isEmpty()) {
            return; // the node ports listen nowhere
        }
        Map<ServiceKey, Claim> atNode = serviceAddressesAtNode(placed);
        for (int i = 0; i < placed.size(); i++) {
            Placed s = placed.get(i);
            ServiceSpec spec = s.spec();
            if (spec.clusterIP() == null) {
                continue;
            }
            String name = spec.name() == null ? "?" : spec.qualifiedName();
            for (int j = 0; j < spec.ports().size(); j++) {
                PortSpec port = spec.ports().get(j);
                Node portNode = s.portNodes().get(j);
                Node nodePortNode = portNode == null ? null : nodePortNodes.get(portNode);
                if (port.nodePort() <= 0 || port.protocol() == null || nodePortNode == null) {
                    continue;
                }
                Claim mine = new Claim(new Listener(i, j), "the nodePort of " + name,
                        new Written(nodePortNode, paths.getOrDefault(nodePortNode, "nodePort")),
                        "a port where no other Service listens on the node's addresses");
                check(mine, port.nodePort(), port.protocol(), spec.clusterIP().getClass(), atNode);
            }
            if (s.healthCheckNodePort() != null && spec.exposure().healthCheckNodePort() > 0) {
                Claim mine = new Claim(new Listener(i, -1), "the healthCheckNodePort of " + name,
                        s.healthCheckNodePort(), "a port where no Service listens on the node's addresses");
                check(mine, spec.exposure().healthCheckNodePort(), Protocol.TCP, null, atNode);
            }
        }
    }

    /**
     * Every socket a Service port needs at an address written in {@code nodeAddresses}: its clusterIP (written at
     * its {@code port}) and its externalIPs and LoadBalancer IPs of that family (at the address), the first claim of
     * each (a second is refused by {@link ServiceClashes}).
     */
    private Map<ServiceKey, Claim> serviceAddressesAtNode(List<Placed> placed) {
        Map<ServiceKey, Claim> out = new HashMap<>();
        if (node.nodeAddresses().isEmpty()) {
            return out;
        }
        Set<InetAddress> nodeAddresses = new HashSet<>(node.nodeAddresses());
        for (int i = 0; i < placed.size(); i++) {
            Placed s = placed.get(i);
            ServiceSpec spec = s.spec();
            if (spec.clusterIP() == null) {
                continue;
            }
            String name = spec.name() == null ? "?" : spec.qualifiedName();
            for (int j = 0; j < spec.ports().size(); j++) {
                PortSpec port = spec.ports().get(j);
                Node portNode = s.portNodes().get(j);
                if (port.port() == 0 || port.protocol() == null || portNode == null) {
                    continue;
                }
                Listener listener = new Listener(i, j);
                Written portAt = new Written(portNode, paths.getOrDefault(portNode, "port"));
                if (nodeAddresses.contains(spec.clusterIP())) {
                    out.putIfAbsent(new ServiceKey(spec.clusterIP(), port.port(), port.protocol()),
                            new Claim(listener, "the clusterIP of " + name, portAt, SERVICE_ADDRESS_EXPECTED));
                }
                for (InetAddress a : spec.extraAddresses()) {
                    if (nodeAddresses.contains(a) && a.getClass() == spec.clusterIP().getClass()) {
                        out.putIfAbsent(new ServiceKey(a, port.port(), port.protocol()), new Claim(listener,
                                "an externalIP or loadBalancerIP of " + name, s.addresses().getOrDefault(a, portAt),
                                SERVICE_ADDRESS_EXPECTED));
                    }
                }
            }
        }
        return out;
    }

    /**
     * Checks one node port listener ({@code family}: the node addresses it listens on, {@code null} for all) against
     * the admin and Ingress listeners, then against the Service ports' addresses at each node address; reports each
     * value once.
     */
    private void check(Claim mine, int port, Protocol protocol, Class<?> family, Map<ServiceKey, Claim> atNode) {
        if (protocol == Protocol.TCP) {
            for (Map.Entry<InetSocketAddress, String> e : own.entrySet()) {
                InetAddress ip = e.getKey().getAddress();
                if (e.getKey().getPort() == port && onNode(ip, family)) {
                    report(mine.at(), NODE_PORT_EXPECTED + "; " + port + " is its " + e.getValue() + " "
                            + Addresses.format(ip, port));
                    return;
                }
            }
        }
        for (InetAddress a : node.nodeAddresses()) {
            if (family != null && a.getClass() != family) {
                continue;
            }
            ServiceKey key = new ServiceKey(a, port, protocol);
            Claim other = atNode.get(key);
            if (other != null && !other.listener().equals(mine.listener())) {
                // the one written second is the error, naming the first
                boolean mineLater = mine.at().node().getStartMark().getIndex()
                        >= other.at().node().getStartMark().getIndex();
                Claim second = mineLater ? mine : other;
                Claim first = mineLater ? other : mine;
                report(second.at(), second.expected() + "; " + Addresses.format(a, port) + "/" + protocol
                        + " is also " + first.what() + " at " + Problems.line(first.at().node()));
            }
        }
    }

    /** Whether an admin or Ingress listener at {@code ip} listens on a node address of {@code family}. */
    private boolean onNode(InetAddress ip, Class<?> family) {
        return ip != null && !ip.isAnyLocalAddress() && (family == null || ip.getClass() == family)
                && (node.nodeAddresses().contains(ip)
                        || node.nodeAddressRanges().stream().anyMatch(r -> r.contains(ip)));
    }

    private void report(Written at, String expected) {
        if (reported.put(at.node(), Boolean.TRUE) == null) {
            Values.wrong(p, at.node(), at.path(), expected);
        }
    }
}
