package io.svcproxy.proxy.reconcile;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.balancer.EndpointHealth;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the reconciler looks after between changes: endpoints that drain (since when, until the drain timeout),
 * Service ports unbound while their connections drain, ejected endpoints whose time is over, session affinity
 * entries that expire, and the endpoint lists built again when any of these changes. It visits only the ports
 * with something to look after, so it costs what is happening, not the size of the cluster. Called under the
 * reconciler's lock only.
 */
final class Housekeeping {
    /** The reconcile step's logger: operators follow one name for what it does. */
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    private final ServiceTable table;
    private final ListenerManager listeners;
    private final ProxyMetrics metrics;
    private final LongSupplier nanoTime;
    /** When each draining endpoint of a Service port started draining, by {@code ip:port}. */
    private final Map<ServiceKey, Map<String, Long>> drainingSince = new HashMap<>();
    /** Service ports that were unbound while they still had connections, with their drain deadline. */
    private final List<Removed> removedPorts = new ArrayList<>();
    /**
     * The Service ports {@link #sweep()} looks after: those with an endpoint draining, ejected or failing its
     * checks, and those with session affinity. The others have nothing to do between changes.
     */
    private final Set<ServiceKey> attention = new HashSet<>();
    /** The endpoints that left each Service port's list, by the port's key (see {@link DepartedEndpoints}). */
    private final Map<ServiceKey, DepartedEndpoints> departed = new HashMap<>();
    private Duration drainTimeout = Duration.ofSeconds(30);
    /**
     * Ends the claims on an endpoint other than the relay's connections (the Ingress's requests and tunnels) when its
     * drain outlived {@link #drainTimeout}; returns how many it ended.
     */
    private ToIntFunction<ConnectionCounters> otherClaims = counters -> 0;

    /** How long past its deadline a removed Service port is cut again at each sweep while anything of it is left. */
    private static final long CUT_GRACE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private record Removed(ServicePort port, long deadline) {
    }

    Housekeeping(ServiceTable table, ListenerManager listeners, ProxyMetrics metrics, LongSupplier nanoTime) {
        this.table = table;
        this.listeners = listeners;
        this.metrics = metrics;
        this.nanoTime = nanoTime;
    }

    /** Ends the claims on an endpoint that are not the relay's at its drain deadline (see {@link #otherClaims}). */
    void otherClaims(ToIntFunction<ConnectionCounters> cut) {
        this.otherClaims = cut;
    }

    /** How long endpoints and Service ports that leave may keep their connections (the last apply's). */
    void drainTimeout(Duration timeout) {
        this.drainTimeout = timeout;
    }

    /**
     * Takes the Service port that was just unbound: its series and its entry in the API go now, or while its
     * connections drain (their bytes are still counted), every endpoint draining, until {@link #sweep()} finds them
     * ended or timed out.
     */
    void removed(ServicePort port) {
        departed.remove(port.key());
        drainingSince.remove(port.key());
        attention.remove(port.key());
        if (drained(port)) {
            metrics.servicePortRemoved(port);
        } else {
            metrics.servicePortDraining(port);
            table.draining(port); // the API lists it as the metrics do
            removedPorts.add(new Removed(port, nanoTime.getAsLong() + drainTimeout.toNanos()));
        }
    }

    /** The endpoints that left the list of the Service port at {@code key}, to take back their counters. */
    DepartedEndpoints departed(ServiceKey key) {
        return departed.computeIfAbsent(key, k -> new DepartedEndpoints());
    }

    /**
     * The removed Service port at {@code key} whose connections still drain, the one removed last when a port there
     * was removed and added back more than once within a drain; {@code null} when none drains.
     */
    ServicePort draining(ServiceKey key) {
        ServicePort newest = null;
        for (Removed r : removedPorts) {
            if (r.port().key().equals(key)) {
                newest = r.port();
            }
        }
        return newest;
    }

    /** Retires every removed Service port at {@code key} that still drains for {@code successor}, added there. */
    void retireDraining(ServiceKey key, ServicePort successor) {
        for (Removed r : removedPorts) {
            if (r.port().key().equals(key)) {
                r.port().retire(successor);
            }
        }
    }

    /** Whether a removed Service port whose connections still drain has {@code clusterIP}. */
    boolean drainingAt(InetAddress clusterIP) {
        for (Removed r : removedPorts) {
            if (r.port().key().clusterIP().equals(clusterIP)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Notes since when the draining endpoints of the port at {@code key} drain, as of the list {@code backends} built
     * from {@code targets}. An endpoint {@linkplain EndpointTarget#bypassed bypassed} there (a ready Pod this node's
     * traffic leaves out) has no drain deadline: its connections go on until they end, and it leaves the list then.
     */
    void trackDraining(ServiceKey key, List<BackendState> backends, List<EndpointTarget> targets) {
        Map<String, Long> since = drainingSince.computeIfAbsent(key, k -> new HashMap<>());
        long now = nanoTime.getAsLong();
        Set<String> bypassed = new HashSet<>();
        for (EndpointTarget t : targets) {
            if (t.bypassed()) {
                bypassed.add(Backends.format(t.ip(), t.port()));
            }
        }
        Map<String, Long> next = new HashMap<>();
        for (BackendState b : backends) {
            if (b.state() == BackendState.State.DRAINING && !bypassed.contains(b.endpoint())) {
                next.put(b.endpoint(), since.getOrDefault(b.endpoint(), now));
            }
        }
        if (next.isEmpty()) {
            drainingSince.remove(key);
        } else {
            drainingSince.put(key, next);
        }
    }

    /** Builds the list of {@code port} again from its spec and the endpoints' health; swaps it in when it changed. */
    void republish(ServicePort port, String event) {
        BackendSet previous = port.backendSet();
        List<BackendState> backends = EndpointList.of(previous.backends(), port.spec().endpoints(),
                departed(port.key()));
        if (!Backends.sameElements(backends, previous.backends())) {
            ServiceSpec service = port.spec().service();
            port.update(port.spec(), previous.update(service.scheduler(), service.schedulerFlags(),
                    service.sessionAffinity(), backends));
            listeners.endpointsChanged(port);
            metrics.servicePortChanged(port);
            log.info("{} service={} port={} endpoints={}", event, port.serviceLabel(), port.portLabel(), backends);
            trackDraining(port.key(), backends, port.spec().endpoints());
            dropDrained(port);
            lookAfter(port);
            return;
        }
        trackDraining(port.key(), backends, port.spec().endpoints());
        lookAfter(port);
    }

    /** Puts the port in the housekeeping's set when it has something to look after, or takes it out. */
    void lookAfter(ServicePort port) {
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
    void dropDrained(ServicePort port) {
        for (BackendState b : port.backendSet().backends()) {
            if (b.state() == BackendState.State.DRAINING && !EndpointList.hasConnections(b)) {
                republish(port, "Endpoint drained");
                return;
            }
        }
    }

    /**
     * Drops draining endpoints whose connections have all ended, closes the connections of endpoints and Service
     * ports that drained longer than the drain timeout, returns ejected endpoints whose time is over, and expires
     * session affinity entries.
     *
     * @return the removed Service ports whose connections all ended now (closed at the timeout or on their own)
     */
    List<ServicePort> sweep() {
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
                    closed += cutOtherClaims(port, e.getKey(), closed);
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
        List<ServicePort> drained = new ArrayList<>();
        removedPorts.removeIf(r -> {
            if (drained(r.port())) {
                drained.add(r.port());
                return true;
            }
            if (now - r.deadline() >= 0) {
                int closed = r.port().closeConnections();
                for (BackendState b : r.port().backendSet().backends()) {
                    if (!r.port().sharesWithSuccessor(b.counters())) {
                        closed += cutOtherClaims(r.port(), b.endpoint(), 0);
                    }
                }
                if (closed > 0) {
                    log.info("Drain timeout: closed connections of removed service={} port={} closed={}",
                            r.port().serviceLabel(), r.port().portLabel(), closed);
                }
                // cut again at the next sweeps until nothing is left: an Ingress request whose endpoint connect was
                // under way at the deadline has nothing to cut yet; bounded, should a count never come back to 0
                if (now - r.deadline() >= CUT_GRACE_NANOS) {
                    drained.add(r.port());
                    return true;
                }
                return false;
            }
            return false;
        });
        for (ServicePort port : drained) {
            metrics.servicePortRemoved(port);
            table.drained(port);
        }
        return drained;
    }

    /**
     * Whether a Service port that was unbound has nothing left to drain: no connection of its own, and, on a TCP port,
     * no other claim on its endpoints (an Ingress request or tunnel to them, which goes on after the port is gone).
     * The endpoints a successor took over share their counters with it: the claims on them are the successor's.
     */
    private static boolean drained(ServicePort port) {
        if (!port.connections().isEmpty()) {
            return false;
        }
        if (port.key().protocol() != Protocol.TCP) {
            return true; // a UDP port's flows end with its listener
        }
        for (BackendState b : port.backendSet().backends()) {
            if (!port.sharesWithSuccessor(b.counters()) && EndpointList.hasConnections(b)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Ends the claims on the endpoint {@code ip:port} of {@code port} other than the relay's {@code relayClosed}
     * connections just closed (their counts drop once their event loops closed them), when its counters show more.
     */
    private int cutOtherClaims(ServicePort port, String endpoint, int relayClosed) {
        if (port.key().protocol() != Protocol.TCP) {
            return 0; // the Ingress's backends are TCP ports; a UDP port's flows end by themselves
        }
        for (BackendState b : port.backendSet().backends()) {
            if (b.endpoint().equals(endpoint)) {
                return b.activeConnections() + b.inactiveConnections() > relayClosed
                        ? otherClaims.applyAsInt(b.counters()) : 0;
            }
        }
        return 0;
    }

    /**
     * Returns ejected endpoints whose ejection time is over to service, or all of them when outlier detection is
     * off; returns whether any came back.
     */
    private boolean returnEjected(ServicePort port, long now) {
        io.svcproxy.config.OutlierDetection outlier = listeners.settings().outlierDetection();
        boolean off = !outlier.enabled();
        boolean any = false;
        for (BackendState b : port.backendSet().backends()) {
            EndpointHealth health = b.counters().health();
            // held to the longest ejection in force: a reload that shortens it reaches endpoints ejected before
            if (off ? health.clearEjection() : health.returnIfDue(now, outlier.maxEjectionTime())) {
                log.info("Returning endpoint service={} port={} endpoint={} ejections={}", port.serviceLabel(),
                        port.portLabel(), b.endpoint(), health.ejections());
                any = true;
            }
        }
        return any;
    }

    private static boolean anyOutOfService(ServicePort port) {
        for (BackendState b : port.backendSet().backends()) {
            if (b.state() != BackendState.State.READY) {
                return true;
            }
        }
        return false;
    }
}
