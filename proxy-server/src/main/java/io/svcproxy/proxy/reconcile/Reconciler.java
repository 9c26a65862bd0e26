package io.svcproxy.proxy.reconcile;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import io.svcproxy.proxy.vip.ClusterIpHolder;
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
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a desired state to the data plane by difference, as kube-proxy's sync does: binds the Service ports
 * that are new, unbinds the ones that left (their established connections go on), and swaps the endpoint set of
 * the ones that stay, keeping scheduler state and counters where they did not change. Idempotent: applying the
 * same state twice changes nothing. Callers serialise calls (it is {@code synchronized}). The addresses besides
 * each port's own are {@link PortAddresses}'s, what happens between changes (drains, ejections, affinity) is
 * {@link Housekeeping}'s; both run under this lock.
 */
public final class Reconciler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    private final ServiceTable table;
    private final ListenerManager listeners;
    private final ProxyMetrics metrics;
    private final LongSupplier nanoTime;
    private final PortAddresses addresses;
    private final Housekeeping housekeeping;
    private Duration drainTimeout = Duration.ofSeconds(30);
    /** Publishes endpoint lists again after health changes, off the event loops that report them. */
    private final java.util.concurrent.ExecutorService healthExecutor = new java.util.concurrent.ThreadPoolExecutor(
            0, 1, 10, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
            new io.netty.util.concurrent.DefaultThreadFactory("svcproxy-health", true));
    /** The node settings of the last apply: when they change, every port's node addresses are looked at again. */
    private io.svcproxy.config.NodeSettings appliedNode;
    /** Service ports kept at their old address while the address they moved to cannot be bound. */
    private final Set<ServiceKey> kept = new java.util.HashSet<>();
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
        this.housekeeping = new Housekeeping(table, listeners, metrics, nanoTime);
        this.addresses = new PortAddresses(table, listeners, clusterIps, housekeeping::drainingAt);
    }

    /**
     * Gives the drain deadline what ends the claims on an endpoint other than the relay's connections (the Ingress's
     * requests and tunnels): called for an endpoint whose drain outlived {@code drainTimeout} while its counters show
     * more than the relay's connections, with its counters; returns how many it ended. Before the first apply.
     */
    public synchronized void alsoCut(ToIntFunction<ConnectionCounters> cut) {
        housekeeping.otherClaims(cut);
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
        housekeeping.drainTimeout(drainTimeout);
        io.svcproxy.config.NodeSettings node = listeners.settings().node();
        List<ServicePortSpec> replaced = node.equals(appliedNode) ? replacedInPlace(desired) : null;
        List<BindException> failures = new ArrayList<>();
        if (replaced != null) {
            Map<PortIdentity, ServiceKey> noneMoving = new HashMap<>(); // same keys: nothing moved
            // a node port that passes between ports of this change (two ports of a Service swap theirs) is free when
            // the other binds it, as in the full path
            releaseLostAddresses(replaced, noneMoving, Map.of());
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
                || table.keys().size() != applied.size() || addresses.anyToRetry() || !settled) {
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
     * its old address is unbound once the new one is bound, and keeps serving while the new one cannot be. The
     * moves come first, so that their old addresses are free for the ports that take them.
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
        Set<InetAddress> external = addresses.holdExternal(wanted.values(), failures);
        boolean sameNode = node.equals(appliedNode);
        appliedNode = node;
        addresses.wanted(wanted.values());
        releaseLostAddresses(wanted.values(), moving, wantedById);
        for (ServicePortSpec spec : movesFirst(wanted.values(), moving)) {
            applyOne(spec, sameNode, failures, moving);
        }
        Set<ServiceKey> keptNow = new java.util.HashSet<>();
        for (Map.Entry<PortIdentity, ServiceKey> e : moving.entrySet()) {
            ServicePortSpec successor = wantedById.get(e.getKey());
            if (table.get(successor.key()) != null) {
                removeMoved(e.getValue(), table.get(successor.key()));
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
        addresses.releaseExternal(external);
    }

    /**
     * Returns {@code wanted} with the Service ports that move first: each unbinds its old clusterIP:port once its
     * successor is bound, and another Service may take that address in this change (as an externalIP or
     * LoadBalancer IP), which it then finds free, as {@link #releaseLostAddresses} frees the others.
     */
    private static java.util.Collection<ServicePortSpec> movesFirst(java.util.Collection<ServicePortSpec> wanted,
                                                                    Map<PortIdentity, ServiceKey> moving) {
        if (moving.isEmpty()) {
            return wanted;
        }
        List<ServicePortSpec> moves = new ArrayList<>();
        List<ServicePortSpec> others = new ArrayList<>();
        for (ServicePortSpec spec : wanted) {
            (moving.containsKey(PortIdentity.of(spec)) ? moves : others).add(spec);
        }
        moves.addAll(others);
        return moves;
    }

    /**
     * Unbinds the Service port at {@code key}, whose successor at another address took its endpoints over: it
     * reports its connections' ends to that one ({@link ServicePort#retire}).
     */
    private void removeMoved(ServiceKey key, ServicePort successor) {
        table.get(key).retire(successor);
        remove(key);
    }

    /** Unbinds the Service port at {@code key}; its connections may finish within the drain timeout. */
    private void remove(ServiceKey key) {
        ServicePort port = table.get(key);
        listeners.unbind(key);
        table.remove(key);
        addresses.forget(key);
        housekeeping.removed(port);
        log.info("Removed service port service={} port={} address={}", port.serviceLabel(), port.portLabel(), key);
        addresses.releaseClusterIp(key.clusterIP());
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
        return takenOver(from == null ? null : table.get(from), spec);
    }

    /**
     * The endpoints of {@code moved} (a Service port that {@code spec}'s port replaces: it moves, or it was removed
     * and is added back while it drains) that {@code spec} lists too, with their counters and health.
     */
    private static List<BackendState> takenOver(ServicePort moved, ServicePortSpec spec) {
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
        if (existing != null && existing.spec() == spec && sameNode && !addresses.toRetry(spec.key())) {
            return; // the very spec in force (the sources keep what did not change): nothing to do
        }
        if (existing != null) {
            BackendSet previous = existing.backendSet();
            List<BackendState> backends = EndpointList.of(previous.backends(), spec.endpoints(),
                    housekeeping.departed(spec.key()));
            BackendSet next = previous.update(service.scheduler(), service.schedulerFlags(),
                    service.sessionAffinity(), backends);
            housekeeping.trackDraining(spec.key(), backends, spec.endpoints());
            if (next != previous || !existing.spec().equals(spec)) {
                existing.update(spec, next);
                listeners.endpointsChanged(existing);
                metrics.servicePortChanged(existing);
                log.info("Updated service port service={} port={} scheduler={} endpoints={}",
                        existing.serviceLabel(), existing.portLabel(), service.scheduler(), backends);
                housekeeping.dropDrained(existing);
            }
            housekeeping.lookAfter(existing);
            addresses.bind(existing, spec, failures);
            return;
        }
        ServiceKey movedFrom = moving.get(PortIdentity.of(spec));
        // a port removed and added back while its connections drain: the new one goes on with its endpoints' counters
        // (SPEC: total since svcproxy started), as a moved port does, and the API and the metrics agree on them
        ServicePort drainingBefore = movedFrom == null ? housekeeping.draining(spec.key()) : null;
        List<BackendState> backends = EndpointList.of(movedFrom != null ? movedEndpoints(movedFrom, spec)
                        : takenOver(drainingBefore, spec), spec.endpoints(), housekeeping.departed(spec.key()));
        BackendSet set = BackendSet.of(service.scheduler(), service.schedulerFlags(), service.sessionAffinity(),
                backends, nanoTime);
        ServicePort port = new ServicePort(spec, set);
        port.setHealthListener(p -> healthExecutor.execute(() -> publishHealth(p)));
        DepartedEndpoints departed = housekeeping.departed(spec.key());
        port.setDepartedCounters(endpoint -> {
            BackendState b = departed.peek(endpoint);
            return b == null ? null : b.counters();
        });
        try {
            addresses.holdClusterIp(spec.key());
            listeners.bind(port);
        } catch (BindException e) {
            log.error("Cannot serve service={} port={}: {}", port.serviceLabel(), port.portLabel(),
                    e.getMessage());
            failures.add(e);
            addresses.releaseClusterIp(spec.key().clusterIP());
            return;
        }
        table.put(port);
        // in the metrics before its predecessor leaves them: what that one counted stays in the labels' totals
        metrics.servicePortAdded(port);
        ServiceKey replaced = moving.remove(PortIdentity.of(spec));
        if (replaced != null) {
            removeMoved(replaced, port);
        }
        if (movedFrom == null) {
            // every removed port still draining here: their connections' ends are reported to this one, which shares
            // the counters of the endpoints it took over
            housekeeping.retireDraining(spec.key(), port);
        }
        housekeeping.lookAfter(port);
        addresses.bind(port, spec, failures);
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
            addresses.keepOnly(table.get(spec.key()), spec);
        }
        for (Map.Entry<PortIdentity, ServiceKey> e : moving.entrySet()) {
            addresses.keepOnly(table.get(e.getValue()), wantedById.get(e.getKey()));
        }
    }

    /**
     * Publishes the endpoint list of {@code port} again after the health of one of its endpoints changed: an
     * endpoint ejected or failing its checks goes to weight 0, one that is back gets its weight again.
     */
    public synchronized void publishHealth(ServicePort port) {
        if (table.get(port.key()) == port) {
            housekeeping.republish(port, "Endpoint health changed");
            return;
        }
        // a port that moved shares its endpoints' health with its successor (connects still under way on the old
        // one can eject an endpoint): the successor's list shows it
        PortIdentity identity = PortIdentity.of(port.spec());
        for (ServicePort successor : table.servicePorts()) {
            if (successor != port && PortIdentity.of(successor.spec()).equals(identity)) {
                housekeeping.republish(successor, "Endpoint health changed");
            }
        }
    }

    /**
     * Housekeeping, run periodically: drops draining endpoints whose connections have all ended, closes the
     * connections of endpoints and Service ports that drained longer than {@code drainTimeout}, returns ejected
     * endpoints whose time is over, and expires session affinity entries ({@link Housekeeping#sweep}).
     */
    public synchronized void sweep() {
        for (ServicePort drained : housekeeping.sweep()) {
            addresses.releaseClusterIp(drained.key().clusterIP());
        }
    }
}
