package io.svcproxy.proxy.reconcile;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.proxy.dataplane.AddressKind;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServiceAddresses;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import io.svcproxy.proxy.vip.ClusterIpHolder;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a desired state to the data plane by difference, as kube-proxy's sync does: binds the Service ports
 * that are new, unbinds the ones that left (their established connections go on), and swaps the endpoint set of
 * the ones that stay, keeping scheduler state and counters where they did not change. Idempotent: applying the
 * same state twice changes nothing. Callers serialise calls (it is {@code synchronized}).
 */
public final class Reconciler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    private final ServiceTable table;
    private final ListenerManager listeners;
    private final ProxyMetrics metrics;
    private final LongSupplier nanoTime;
    private final ClusterIpHolder clusterIps;
    /** When each draining endpoint of a Service port started draining, by {@code ip:port}. */
    private final Map<ServiceKey, Map<String, Long>> drainingSince = new HashMap<>();
    /** Service ports that were unbound while they still had connections, with their drain deadline. */
    private final List<Removed> removedPorts = new ArrayList<>();
    /** The external and LoadBalancer IPs this reconciler made local through the ClusterIP holder. */
    private final Set<InetAddress> heldExternal = new java.util.HashSet<>();
    private Duration drainTimeout = Duration.ofSeconds(30);
    /** Publishes endpoint lists again after health changes, off the event loops that report them. */
    private final java.util.concurrent.ExecutorService healthExecutor = new java.util.concurrent.ThreadPoolExecutor(
            0, 1, 10, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
            new io.netty.util.concurrent.DefaultThreadFactory("svcproxy-health", true));

    private record Removed(ServicePort port, long deadline) {
    }

    /** The node settings of the last apply: when they change, every port's node addresses are looked at again. */
    private io.svcproxy.config.NodeSettings appliedNode;
    /** Service ports kept at their old address while the address they moved to cannot be bound. */
    private final Set<ServiceKey> kept = new java.util.HashSet<>();
    /** Service ports some of whose other addresses could not be bound: looked at again at each apply. */
    private final Set<ServiceKey> addressesToRetry = new java.util.HashSet<>();
    /**
     * The Service ports {@link #sweep()} looks after: those with an endpoint draining, ejected or failing its
     * checks, and those with session affinity. The others have nothing to do between changes, so housekeeping
     * costs what is happening, not the size of the cluster.
     */
    private final Set<ServiceKey> attention = new java.util.HashSet<>();
    /** The list applied last, and whether its keys were all different (see {@link #replacedInPlace}). */
    private List<ServicePortSpec> applied;
    private boolean appliedUnique;
    /** Whether the last apply bound everything it was asked to (see {@link #settled()}). */
    private volatile boolean settled = true;

    public Reconciler(ServiceTable table, ListenerManager listeners, ProxyMetrics metrics, LongSupplier nanoTime) {
        this(table, listeners, metrics, nanoTime, ClusterIpHolder.NONE);
    }

    public Reconciler(ServiceTable table, ListenerManager listeners, ProxyMetrics metrics, LongSupplier nanoTime,
                      ClusterIpHolder clusterIps) {
        this.table = table;
        this.listeners = listeners;
        this.metrics = metrics;
        this.nanoTime = nanoTime;
        this.clusterIps = clusterIps;
    }

    /**
     * Makes the data plane serve exactly {@code desired}.
     *
     * @return the listeners that could not be bound (empty when all is well); the rest is applied regardless
     */
    public synchronized List<BindException> apply(List<ServicePortSpec> desired) {
        return apply(desired, drainTimeout);
    }

    /**
     * Makes the data plane serve exactly {@code desired}; connections of removed endpoints and Service ports
     * may finish for up to {@code drainTimeout}, after which {@link #sweep()} closes them.
     *
     * @return the listeners that could not be bound (empty when all is well); the rest is applied regardless
     */
    public synchronized List<BindException> apply(List<ServicePortSpec> desired, Duration drainTimeout) {
        this.drainTimeout = drainTimeout;
        io.svcproxy.config.NodeSettings node = listeners.settings().node();
        List<ServicePortSpec> replaced = node.equals(appliedNode) ? replacedInPlace(desired) : null;
        List<BindException> failures = new ArrayList<>();
        if (replaced != null) {
            Map<PortIdentity, ServiceKey> noneMoving = new HashMap<>(); // same keys: nothing moved
            for (ServicePortSpec spec : replaced) {
                applyOne(spec, true, failures, noneMoving);
            }
        } else {
            applyAll(desired, node, failures);
        }
        applied = List.copyOf(desired);
        settled = failures.isEmpty();
        table.setVersion(table.version() + 1);
        return failures;
    }

    /**
     * Returns whether the last apply bound every listener and address it was given; when not, applying the same
     * list again tries what failed (a Service port that moved may still serve at its old address meanwhile).
     */
    public boolean settled() {
        return settled;
    }

    /**
     * Returns the Service ports of {@code desired} that replace, in their places, those of the list applied last
     * (same key, same external and LoadBalancer IPs: the common change, endpoints of Services that stay), or
     * {@code null} when the list changed otherwise or the last apply left something to do again. A walk of
     * references: a change costs its own ports, not a pass over every key of the cluster.
     */
    private List<ServicePortSpec> replacedInPlace(List<ServicePortSpec> desired) {
        if (applied == null || !appliedUnique || desired.size() != applied.size()
                || table.keys().size() != applied.size() || !addressesToRetry.isEmpty() || !settled) {
            return null;
        }
        List<ServicePortSpec> replaced = new ArrayList<>();
        for (int i = 0; i < desired.size(); i++) {
            ServicePortSpec spec = desired.get(i);
            ServicePortSpec before = applied.get(i);
            if (spec == before) {
                continue;
            }
            if (!spec.key().equals(before.key())
                    || !spec.service().exposure().externalIPs().equals(before.service().exposure().externalIPs())
                    || !spec.service().exposure().loadBalancerIPs().equals(
                            before.service().exposure().loadBalancerIPs())) {
                return null;
            }
            replaced.add(spec);
        }
        return replaced;
    }

    /**
     * Applies the whole list: unbinds the keys that left, then looks at every Service port wanted. A Service port
     * that moved (same Service, port name and protocol, another clusterIP or port) is made before it is broken:
     * its old address is unbound once the new one is bound, and keeps serving while the new one cannot be.
     */
    private void applyAll(List<ServicePortSpec> desired, io.svcproxy.config.NodeSettings node,
                          List<BindException> failures) {
        Map<ServiceKey, ServicePortSpec> wanted = new LinkedHashMap<>();
        Map<PortIdentity, ServicePortSpec> wantedById = new HashMap<>();
        for (ServicePortSpec spec : desired) {
            if (wanted.putIfAbsent(spec.key(), spec) == null) {
                wantedById.putIfAbsent(PortIdentity.of(spec), spec);
            }
        }
        appliedUnique = wanted.size() == desired.size();
        Map<PortIdentity, ServiceKey> moving = new HashMap<>();
        for (ServiceKey key : List.copyOf(table.keys())) {
            if (!wanted.containsKey(key)) {
                PortIdentity id = PortIdentity.of(table.get(key).spec());
                if (wantedById.containsKey(id)) {
                    moving.put(id, key);
                } else {
                    remove(key);
                }
            }
        }
        Set<InetAddress> external = holdExternalAddresses(wanted.values(), failures);
        boolean sameNode = node.equals(appliedNode);
        appliedNode = node;
        releaseLostAddresses(wanted.values(), moving, wantedById);
        for (ServicePortSpec spec : wanted.values()) {
            applyOne(spec, sameNode, failures, moving);
        }
        Set<ServiceKey> keptNow = new java.util.HashSet<>();
        for (Map.Entry<PortIdentity, ServiceKey> e : moving.entrySet()) {
            ServicePortSpec successor = wantedById.get(e.getKey());
            if (table.get(successor.key()) != null) {
                removeMoved(e.getValue());
            } else {
                keptNow.add(e.getValue());
                ServicePort old = table.get(e.getValue());
                if (!kept.contains(e.getValue())) { // once, not at each retry
                    log.warn("Service port keeps serving at its old address (with the endpoints it had) until the "
                            + "new one can be bound service={} port={} address={} newAddress={}",
                            old.serviceLabel(), old.portLabel(), e.getValue(), successor.key());
                }
            }
        }
        kept.clear();
        kept.addAll(keptNow);
        releaseExternalAddresses(external);
    }

    /**
     * Unbinds the Service port at {@code key}, whose successor at another address took its endpoints over: it
     * reports its connections' ends to that one ({@link ServicePort#retire}).
     */
    private void removeMoved(ServiceKey key) {
        table.get(key).retire();
        remove(key);
    }

    /** Unbinds the Service port at {@code key}; its connections may finish within the drain timeout. */
    private void remove(ServiceKey key) {
        ServicePort port = table.get(key);
        listeners.unbind(key);
        table.remove(key);
        drainingSince.remove(key);
        addressesToRetry.remove(key);
        attention.remove(key);
        if (port.connections().isEmpty()) {
            metrics.servicePortRemoved(port);
        } else {
            // its series stay while its connections drain (their bytes are still counted), every endpoint draining
            metrics.servicePortDraining(port);
            removedPorts.add(new Removed(port, nanoTime.getAsLong() + drainTimeout.toNanos()));
        }
        log.info("Removed service port service={} port={} address={}", port.serviceLabel(), port.portLabel(), key);
        releaseClusterIp(key.clusterIP());
    }

    /**
     * What makes a Service port the same across a change of its address: its Service, its port's name and
     * protocol (Kubernetes names a Service's ports uniquely per protocol), and its clusterIP's family (a dual-stack
     * Service has one Service port per family, each moving on its own).
     */
    record PortIdentity(String namespace, String service, String port, io.svcproxy.config.Protocol protocol,
                        boolean ipv4) {
        static PortIdentity of(ServicePortSpec spec) {
            return new PortIdentity(spec.service().namespace(), spec.service().name(), spec.port().name(),
                    spec.key().protocol(), spec.key().clusterIP() instanceof java.net.Inet4Address);
        }
    }

    /**
     * The endpoints of the Service port at {@code from} (one that moves to {@code spec}'s address) that {@code spec}
     * lists too: the moved port takes them over with their counters and health, as a reload that keeps an endpoint
     * keeps them (an unhealthy endpoint took new connections again until its checks failed anew, and its counts
     * started over). Empty when nothing moves.
     */
    private List<BackendState> movedEndpoints(ServiceKey from, ServicePortSpec spec) {
        ServicePort moved = from == null ? null : table.get(from);
        if (moved == null || !spec.port().label().equals(moved.portLabel())) {
            // an unnamed port whose number changes is labelled anew: its endpoints start afresh there, rather than
            // counting the same connections under both labels while the old one drains
            return List.of();
        }
        Set<String> listed = new HashSet<>();
        for (EndpointTarget t : spec.endpoints()) {
            listed.add(Backends.format(t.ip(), t.port()));
        }
        List<BackendState> kept = new ArrayList<>();
        for (BackendState b : moved.backendSet().backends()) {
            if (listed.contains(b.endpoint())) {
                kept.add(b);
            }
        }
        return kept;
    }

    /**
     * Makes one Service port serve {@code spec}: updates the port in force, or binds a new one. A new one that
     * replaces a port of {@code moving} takes over from it once its own address is bound, before its node, external
     * and LoadBalancer addresses (which the old one may hold).
     */
    private void applyOne(ServicePortSpec spec, boolean sameNode, List<BindException> failures,
                          Map<PortIdentity, ServiceKey> moving) {
        ServiceSpec service = spec.service();
        ServicePort existing = table.get(spec.key());
        if (existing != null && existing.spec() == spec && sameNode && !addressesToRetry.contains(spec.key())) {
            return; // the very spec in force (the sources keep what did not change): nothing to do
        }
        if (existing != null) {
            BackendSet previous = existing.backendSet();
            List<BackendState> backends = EndpointList.of(previous.backends(), spec.endpoints());
            BackendSet next = previous.update(service.scheduler(), service.schedulerFlags(),
                    service.sessionAffinity(), backends);
            trackDraining(spec.key(), backends);
            if (next != previous || !existing.spec().equals(spec)) {
                existing.update(spec, next);
                listeners.endpointsChanged(existing);
                metrics.servicePortChanged(existing);
                log.info("Updated service port service={} port={} scheduler={} endpoints={}",
                        existing.serviceLabel(), existing.portLabel(), service.scheduler(), backends);
                dropDrained(existing);
            }
            lookAfter(existing);
            setAddresses(existing, spec, failures);
            return;
        }
        List<BackendState> backends = EndpointList.of(movedEndpoints(moving.get(PortIdentity.of(spec)), spec),
                spec.endpoints());
        BackendSet set = BackendSet.of(service.scheduler(), service.schedulerFlags(), service.sessionAffinity(),
                backends, nanoTime);
        ServicePort port = new ServicePort(spec, set);
        port.setHealthListener(p -> healthExecutor.execute(() -> publishHealth(p)));
        try {
            try {
                clusterIps.add(spec.key().clusterIP());
            } catch (IOException e) {
                throw new BindException(spec.key().toString(), e);
            }
            listeners.bind(port);
        } catch (BindException e) {
            log.error("Cannot serve service={} port={}: {}", port.serviceLabel(), port.portLabel(),
                    e.getMessage());
            failures.add(e);
            releaseClusterIp(spec.key().clusterIP());
            return;
        }
        table.put(port);
        // in the metrics before its predecessor leaves them: what that one counted stays in the labels' totals
        metrics.servicePortAdded(port);
        ServiceKey replaced = moving.remove(PortIdentity.of(spec));
        if (replaced != null) {
            removeMoved(replaced);
        }
        lookAfter(port);
        setAddresses(port, spec, failures);
        log.info("Added service port service={} port={} scheduler={} endpoints={}", port.serviceLabel(),
                port.portLabel(), service.scheduler(), backends);
    }

    /**
     * Unbinds the external, LoadBalancer and node addresses that Service ports in force no longer want, before any
     * port binds what it wants: an address that passes from one Service to another in this change (an externalIP
     * moved, or given to another Service that lists it too) is free when the new one binds it. A port that moves
     * keeps what its successor wants (it hands those over once the successor is bound).
     */
    private void releaseLostAddresses(java.util.Collection<ServicePortSpec> wanted,
                                      Map<PortIdentity, ServiceKey> moving,
                                      Map<PortIdentity, ServicePortSpec> wantedById) {
        for (ServicePortSpec spec : wanted) {
            keepOnly(table.get(spec.key()), spec);
        }
        for (Map.Entry<PortIdentity, ServiceKey> e : moving.entrySet()) {
            keepOnly(table.get(e.getValue()), wantedById.get(e.getKey()));
        }
    }

    /** Unbinds the extra addresses of {@code port} (if any) that {@code spec} does not want. */
    private void keepOnly(ServicePort port, ServicePortSpec spec) {
        if (port == null || spec == null || port.extraAddresses().isEmpty()) {
            return;
        }
        Map<java.net.InetSocketAddress, AddressKind> keep = new HashMap<>(port.extraAddresses());
        if (keep.keySet().retainAll(addressesOf(spec).keySet())) {
            listeners.setAddresses(port, keep); // binds nothing: only what it has
        }
    }

    /**
     * Binds the port's other addresses (node, external, LoadBalancer) as {@code spec} wants them; what cannot be
     * bound is tried again at the next apply, with an ERROR line naming it.
     */
    private void setAddresses(ServicePort port, ServicePortSpec spec, List<BindException> failures) {
        List<BindException> failed = listeners.setAddresses(port, addressesOf(spec));
        if (failed.isEmpty()) {
            addressesToRetry.remove(spec.key());
        } else {
            addressesToRetry.add(spec.key());
            failures.addAll(failed);
            for (BindException e : failed) { // tried again every second, as a clusterIP that cannot be bound
                log.error("Cannot serve service={} port={} at one of its addresses: {}", port.serviceLabel(),
                        port.portLabel(), e.getMessage());
            }
        }
    }

    private Map<java.net.InetSocketAddress, AddressKind> addressesOf(ServicePortSpec spec) {
        return ServiceAddresses.of(spec, listeners.settings().node());
    }

    /**
     * Makes the external and LoadBalancer IPs of the wanted Service ports (TCP and UDP) local (with {@code
     * vipInterface}), before their listeners bind; node addresses are the node's own and are never added.
     *
     * @return the addresses wanted now
     */
    private Set<InetAddress> holdExternalAddresses(java.util.Collection<ServicePortSpec> wanted,
                                                   List<BindException> failures) {
        Set<InetAddress> want = new java.util.LinkedHashSet<>();
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
    private void releaseExternalAddresses(Set<InetAddress> wanted) {
        for (InetAddress ip : Set.copyOf(heldExternal)) {
            if (!wanted.contains(ip)) {
                heldExternal.remove(ip);
                releaseClusterIp(ip);
            }
        }
    }

    /**
     * Publishes the endpoint list of {@code port} again after the health of one of its endpoints changed: an
     * endpoint ejected or failing its checks goes to weight 0, one that is back gets its weight again.
     */
    public synchronized void publishHealth(ServicePort port) {
        if (table.get(port.key()) == port) {
            republish(port, "Endpoint health changed");
            return;
        }
        // a port that moved shares its endpoints' health with its successor (connects still under way on the old
        // one can eject an endpoint): the successor's list shows it
        PortIdentity identity = PortIdentity.of(port.spec());
        for (ServicePort successor : table.servicePorts()) {
            if (successor != port && PortIdentity.of(successor.spec()).equals(identity)) {
                republish(successor, "Endpoint health changed");
            }
        }
    }

    /** Builds the list of {@code port} again from its spec and the endpoints' health; swaps it in when it changed. */
    private void republish(ServicePort port, String event) {
        BackendSet previous = port.backendSet();
        List<BackendState> backends = EndpointList.of(previous.backends(), port.spec().endpoints());
        if (!EndpointList.sameElements(backends, previous.backends())) {
            ServiceSpec service = port.spec().service();
            port.update(port.spec(), previous.update(service.scheduler(), service.schedulerFlags(),
                    service.sessionAffinity(), backends));
            listeners.endpointsChanged(port);
            metrics.servicePortChanged(port);
            log.info("{} service={} port={} endpoints={}", event, port.serviceLabel(), port.portLabel(), backends);
            trackDraining(port.key(), backends);
            dropDrained(port);
            lookAfter(port);
            return;
        }
        trackDraining(port.key(), backends);
        lookAfter(port);
    }

    /** Puts the port in the housekeeping's set when it has something to look after, or takes it out. */
    private void lookAfter(ServicePort port) {
        if (drainingSince.containsKey(port.key()) || anyOutOfService(port)
                || port.spec().service().sessionAffinity().clientIp()) {
            attention.add(port.key());
        } else {
            attention.remove(port.key());
        }
    }

    /**
     * Publishes the list of {@code port} again when an endpoint it holds as draining has no connection left: its
     * last one closed between building the list and swapping it in. The data plane checks the same from the other
     * side ({@link ServicePort#leaseReleased}) after releasing a lease, so a drained endpoint never waits for
     * {@link #sweep()}. Each round drops at least one endpoint, so this ends.
     */
    private void dropDrained(ServicePort port) {
        for (BackendState b : port.backendSet().backends()) {
            if (b.state() == BackendState.State.DRAINING && !EndpointList.hasConnections(b)) {
                republish(port, "Endpoint drained");
                return;
            }
        }
    }

    private static boolean anyOutOfService(ServicePort port) {
        for (BackendState b : port.backendSet().backends()) {
            if (b.state() != BackendState.State.READY) {
                return true;
            }
        }
        return false;
    }

    /**
     * Returns ejected endpoints whose ejection time is over to service, or all of them when outlier detection is
     * off; returns whether any came back.
     */
    private boolean returnEjected(ServicePort port, long now) {
        boolean off = !listeners.settings().outlierDetection().enabled();
        boolean any = false;
        for (BackendState b : port.backendSet().backends()) {
            io.svcproxy.balancer.EndpointHealth health = b.counters().health();
            if (off ? health.clearEjection() : health.returnIfDue(now)) {
                log.info("Returning endpoint service={} port={} endpoint={} ejections={}", port.serviceLabel(),
                        port.portLabel(), b.endpoint(), health.ejections());
                any = true;
            }
        }
        return any;
    }

    /**
     * Removes {@code clusterIP} from the interface once no Service port uses it, neither one in force nor a
     * removed one whose connections still drain: without the local address those connections would stall.
     */
    private void releaseClusterIp(InetAddress clusterIP) {
        boolean inUse = heldExternal.contains(clusterIP)
                || table.keys().stream().anyMatch(k -> k.clusterIP().equals(clusterIP))
                || removedPorts.stream().anyMatch(r -> r.port().key().clusterIP().equals(clusterIP));
        if (!inUse) {
            clusterIps.remove(clusterIP);
        }
    }

    private void trackDraining(ServiceKey key, List<BackendState> backends) {
        Map<String, Long> since = drainingSince.computeIfAbsent(key, k -> new HashMap<>());
        long now = nanoTime.getAsLong();
        Map<String, Long> next = new HashMap<>();
        for (BackendState b : backends) {
            if (b.state() == BackendState.State.DRAINING) {
                next.put(b.endpoint(), since.getOrDefault(b.endpoint(), now));
            }
        }
        if (next.isEmpty()) {
            drainingSince.remove(key);
        } else {
            drainingSince.put(key, next);
        }
    }

    /**
     * Housekeeping, run periodically: drops draining endpoints whose connections have all ended, closes the
     * connections of endpoints and Service ports that drained longer than {@code drainTimeout}, and expires
     * session affinity entries. It visits only the ports with something to look after (see {@link #attention}).
     */
    public synchronized void sweep() {
        long now = nanoTime.getAsLong();
        for (ServiceKey key : List.copyOf(attention)) {
            ServicePort port = table.get(key);
            if (port == null) {
                attention.remove(key);
                continue;
            }
            port.backendSet().expireAffinity();
            Map<String, Long> since = drainingSince.getOrDefault(port.key(), Map.of());
            for (Map.Entry<String, Long> e : since.entrySet()) {
                if (now - e.getValue() >= drainTimeout.toNanos()) {
                    int closed = port.closeConnectionsTo(e.getKey());
                    if (closed > 0) {
                        log.info("Drain timeout: closed connections service={} port={} endpoint={} closed={}",
                                port.serviceLabel(), port.portLabel(), e.getKey(), closed);
                    }
                }
            }
            boolean returned = returnEjected(port, nanoTime.getAsLong());
            // the list is built again only where something may have changed
            if (returned || !since.isEmpty() || anyOutOfService(port)) {
                republish(port, "Endpoints drained or returned"); // looks after the port again
            } else {
                lookAfter(port);
            }
        }
        List<Removed> drained = new ArrayList<>();
        removedPorts.removeIf(r -> {
            if (r.port().connections().isEmpty()) {
                drained.add(r);
                return true;
            }
            if (now - r.deadline() >= 0) {
                int closed = r.port().closeConnections();
                log.info("Drain timeout: closed connections of removed service={} port={} closed={}",
                        r.port().serviceLabel(), r.port().portLabel(), closed);
                drained.add(r);
                return true;
            }
            return false;
        });
        for (Removed r : drained) {
            metrics.servicePortRemoved(r.port());
            releaseClusterIp(r.port().key().clusterIP());
        }
    }

}
