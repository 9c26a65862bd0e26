package io.svcproxy.proxy.reconcile;

import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.proxy.dataplane.AddressKind;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServiceAddresses;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.vip.ClusterIpHolder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The addresses the reconciler makes local and binds besides each Service port's own clusterIP:port: clusterIPs,
 * external and LoadBalancer IPs on the ClusterIP holder, and each port's node, external and LoadBalancer listeners.
 * Remembers which of those failed, so the next apply tries them again. Called under the reconciler's lock only.
 */
final class PortAddresses {
    /** The reconcile step's logger: operators follow one name for what it does. */
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    private final ServiceTable table;
    private final ListenerManager listeners;
    private final ClusterIpHolder clusterIps;
    /** Whether a removed Service port whose connections still drain uses a clusterIP. */
    private final Predicate<InetAddress> drainingAt;
    /** The external and LoadBalancer IPs made local through the ClusterIP holder. */
    private final Set<InetAddress> heldExternal = new HashSet<>();
    /** Service ports some of whose other addresses could not be bound: looked at again at each apply. */
    private final Set<ServiceKey> toRetry = new HashSet<>();
    /**
     * The sockets that Service ports wanted take before any nodePort at a node address, by protocol: clusterIPs,
     * external and LoadBalancer IPs at their ports (see {@link #wanted}).
     */
    private Set<ServiceKey> beforeNodePorts = Set.of();
    /** The node addresses a nodePort lost ("service address"), said at this apply and at the one before. */
    private Set<String> saidNow = new HashSet<>();
    private Set<String> said = Set.of();

    PortAddresses(ServiceTable table, ListenerManager listeners, ClusterIpHolder clusterIps,
                  Predicate<InetAddress> drainingAt) {
        this.table = table;
        this.listeners = listeners;
        this.clusterIps = clusterIps;
        this.drainingAt = drainingAt;
    }

    /** Makes the clusterIP of {@code key} local (with {@code vipInterface}), before its listener binds. */
    void holdClusterIp(ServiceKey key) throws BindException {
        try {
            clusterIps.add(key.clusterIP());
        } catch (IOException e) {
            throw new BindException(key.toString(), e);
        }
    }

    /**
     * Removes {@code clusterIP} from the interface once no Service port uses it, neither one in force nor a
     * removed one whose connections still drain: without the local address those connections would stall.
     */
    void releaseClusterIp(InetAddress clusterIP) {
        boolean inUse = heldExternal.contains(clusterIP)
                || table.keys().stream().anyMatch(k -> k.clusterIP().equals(clusterIP))
                || drainingAt.test(clusterIP);
        if (!inUse) {
            clusterIps.remove(clusterIP);
        }
    }

    /**
     * Makes the external and LoadBalancer IPs of the wanted Service ports (TCP and UDP) local (with {@code
     * vipInterface}), before their listeners bind; node addresses are the node's own and are never added.
     *
     * @return the addresses wanted now
     */
    Set<InetAddress> holdExternal(Collection<ServicePortSpec> wanted, List<BindException> failures) {
        Set<InetAddress> want = new LinkedHashSet<>();
        for (ServicePortSpec spec : wanted) {
            want.addAll(spec.service().exposure().externalIPs());
            want.addAll(spec.service().exposure().loadBalancerIPs());
        }
        for (InetAddress ip : want) {
            if (heldExternal.contains(ip)) {
                continue;
            }
            try {
                clusterIps.add(ip);
                heldExternal.add(ip);
            } catch (IOException e) {
                failures.add(new BindException(ip.getHostAddress(), e));
            }
        }
        return want;
    }

    /** Removes the external and LoadBalancer IPs no longer wanted, unless a clusterIP in use is the same. */
    void releaseExternal(Set<InetAddress> wanted) {
        for (InetAddress ip : Set.copyOf(heldExternal)) {
            if (!wanted.contains(ip)) {
                heldExternal.remove(ip);
                releaseClusterIp(ip);
            }
        }
    }

    /** Unbinds the extra addresses of {@code port} (if any) that {@code spec} does not want. */
    void keepOnly(ServicePort port, ServicePortSpec spec) {
        if (port == null || spec == null || port.extraAddresses().isEmpty()) {
            return;
        }
        Map<InetSocketAddress, AddressKind> keep = new HashMap<>(port.extraAddresses());
        if (keep.keySet().retainAll(addressesOf(spec).keySet())) {
            listeners.setAddresses(port, keep); // binds nothing: only what it has
        }
    }

    /**
     * Binds the port's other addresses (node, external, LoadBalancer) as {@code spec} wants them; what cannot be
     * bound is tried again at the next apply, with an ERROR line naming it.
     */
    void bind(ServicePort port, ServicePortSpec spec, List<BindException> failures) {
        List<BindException> failed = listeners.setAddresses(port, addressesOf(spec));
        if (failed.isEmpty()) {
            toRetry.remove(spec.key());
        } else {
            toRetry.add(spec.key());
            failures.addAll(failed);
            for (BindException e : failed) { // tried again every second, as a clusterIP that cannot be bound
                log.error("Cannot serve service={} port={} at one of its addresses: {}", port.serviceLabel(),
                        port.portLabel(), e.getMessage());
            }
        }
    }

    /** Whether some address of the Service port at {@code key} failed to bind at the last apply. */
    boolean toRetry(ServiceKey key) {
        return toRetry.contains(key);
    }

    /** Whether some address of any Service port failed to bind at the last apply. */
    boolean anyToRetry() {
        return !toRetry.isEmpty();
    }

    /** Forgets the Service port at {@code key}, which was unbound. */
    void forget(ServiceKey key) {
        toRetry.remove(key);
    }

    /**
     * Records the Service ports wanted by this apply, before any of their addresses is bound: a node address at a
     * nodePort where another of them listens as its clusterIP, an externalIP or a LoadBalancer IP (the API server
     * allows a Service to list a node's own address as its externalIP at another Service's nodePort) is left to
     * that listener, as kube-proxy's rules for those addresses come before its jump to the node ports; otherwise
     * both would be bound, the second would fail at every apply, and the proxy would stay unready for good.
     */
    void wanted(Collection<ServicePortSpec> wanted) {
        io.svcproxy.config.NodeSettings node = listeners.settings().node();
        Set<ServiceKey> taken = new HashSet<>();
        for (ServicePortSpec spec : wanted) {
            taken.add(spec.key());
            ServiceAddresses.of(spec, node).forEach((address, kind) -> {
                if (kind != AddressKind.NODE) {
                    taken.add(new ServiceKey(address.getAddress(), address.getPort(), spec.key().protocol()));
                }
            });
        }
        beforeNodePorts = taken;
        said = saidNow;
        saidNow = new HashSet<>();
    }

    private Map<InetSocketAddress, AddressKind> addressesOf(ServicePortSpec spec) {
        Map<InetSocketAddress, AddressKind> all = ServiceAddresses.of(spec, listeners.settings().node());
        if (beforeNodePorts.isEmpty() || !all.containsValue(AddressKind.NODE)) {
            return all;
        }
        Map<InetSocketAddress, AddressKind> out = new java.util.LinkedHashMap<>(all);
        all.forEach((address, kind) -> {
            ServiceKey at = new ServiceKey(address.getAddress(), address.getPort(), spec.key().protocol());
            if (kind == AddressKind.NODE && beforeNodePorts.contains(at)) {
                out.remove(address);
                String what = spec.service().qualifiedName() + " " + at;
                if (saidNow.add(what) && !said.contains(what)) {
                    log.warn("Node port not served at a node address: another Service listens there as its "
                            + "clusterIP, externalIP or LoadBalancer IP service={} port={} address={}",
                            spec.service().qualifiedName(), spec.port().label(), at);
                }
            }
        });
        return out;
    }
}
