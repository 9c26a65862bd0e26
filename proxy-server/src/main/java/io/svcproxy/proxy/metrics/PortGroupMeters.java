package io.svcproxy.proxy.metrics;

import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.ADDRESS_CONNECTIONS;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.BYTES;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.CONNECT_DURATION;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.ENDPOINTS;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.NO_ENDPOINT;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.REJECTED;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.TAG_ADDRESS;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.TAG_DIRECTION;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.TAG_REASON;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.TAG_STATE;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.UDP_DATAGRAMS;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.UDP_DROPPED;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.proxy.dataplane.AddressKind;
import io.svcproxy.proxy.dataplane.Rejection;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.UdpCounters;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToDoubleFunction;

/**
 * The meters of one Service port's labels ({@code service}, {@code port}): the no-endpoint, byte, refusal,
 * address-kind and UDP counters, the endpoint states and the connect duration, and each endpoint's meters. Usually
 * one Service port has them; the two halves of a dual-stack Service (one Service port per clusterIP, the same labels)
 * share them, and so do a Service port that moves to another address and its successor while both are in force.
 * Each meter reads the sum over them, since a registry keeps one meter per name and labels (a second one registered
 * is ignored: one family went unreported, and a moved port's endpoint series went with its predecessor). Members and
 * endpoints are added and removed on the control-plane thread and read at scrape time.
 */
final class PortGroupMeters {
    /**
     * The connect duration buckets: loopback connects take tens of microseconds, a remote Pod a millisecond
     * or so, and a connect near {@code connectTimeout} (default 2 s) seconds.
     */
    private static final Duration[] CONNECT_BUCKETS = {
        Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000),
        Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
        Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
        Duration.ofSeconds(10),
    };

    private final MeterRegistry registry;
    final Tags tags;
    final Timer connectDuration;
    private final List<ServicePort> members = new CopyOnWriteArrayList<>();
    /** Members removed from the Service table whose connections drain: their endpoints all count as draining. */
    private final Set<ServicePort> drainingMembers = ConcurrentHashMap.newKeySet();
    private final List<Meter> meters = new ArrayList<>();
    /** The counters over the members, each keeping what members that left had counted (a counter never falls). */
    private final List<Summed> summed = new ArrayList<>();
    /** Members that came from other labels (relabelled), not counted from their start. Guarded by summed. */
    private final Set<ServicePort> joinedLater = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<AddressKind> addressKinds = EnumSet.noneOf(AddressKind.class);
    private boolean udp;
    /** Each endpoint's meters and connect failures. */
    private final EndpointMetersTable endpoints;

    PortGroupMeters(MeterRegistry registry, Tags tags) {
        this.registry = registry;
        this.tags = tags;
        this.endpoints = new EndpointMetersTable(registry, tags);
        this.connectDuration = Timer.builder(CONNECT_DURATION).tags(tags)
                .description("Time to connect to an endpoint")
                .serviceLevelObjectives(CONNECT_BUCKETS)
                .register(registry);
        meters.add(connectDuration);
        meters.add(counter(NO_ENDPOINT, ServicePort::noEndpointCount, Tags.empty(),
                "Client connections (UDP: datagrams; Ingress: requests) refused because no endpoint was usable"));
        meters.add(counter(BYTES, ServicePort::bytesToEndpoint, Tags.of(TAG_DIRECTION, "to_endpoint"),
                "Bytes relayed"));
        meters.add(counter(BYTES, ServicePort::bytesToClient, Tags.of(TAG_DIRECTION, "to_client"),
                "Bytes relayed"));
        meters.add(endpointsGauge("ready", p -> count(p, BackendState.State.READY)));
        meters.add(endpointsGauge("draining", p -> count(p, BackendState.State.DRAINING)));
        meters.add(endpointsGauge("not_ready", p -> drainingMembers.contains(p) ? 0 : notReady(p)));
        meters.add(endpointsGauge("ejected", p -> count(p, BackendState.State.EJECTED)));
        meters.add(endpointsGauge("unhealthy", p -> count(p, BackendState.State.UNHEALTHY)));
        for (Rejection reason : Rejection.values()) {
            meters.add(counter(REJECTED, p -> p.rejectedCount(reason), Tags.of(TAG_REASON, reason.label()),
                    "Client connections closed at once by a limit"));
        }
    }

    /**
     * Adds a Service port under these labels: its counts join the sums (all of them when {@code fromStart}, else
     * those from now on); its kinds of address are listed.
     */
    void add(ServicePort port, boolean fromStart) {
        synchronized (summed) {
            if (!members.contains(port)) {
                // a port that comes from other labels counts here from now on (its earlier counts are theirs)
                if (!fromStart) {
                    joinedLater.add(port);
                }
                for (Summed c : summed) {
                    c.base.put(port, fromStart ? 0 : c.f.applyAsDouble(port));
                }
                members.add(port);
            }
        }
        if (!udp && port.key().protocol() == Protocol.UDP) {
            udp = true;
            meters.add(counter(UDP_DATAGRAMS, p -> p.udp().datagramsToEndpoint(), Tags.of(TAG_DIRECTION,
                    "to_endpoint"), "UDP datagrams relayed"));
            meters.add(counter(UDP_DATAGRAMS, p -> p.udp().datagramsToClient(), Tags.of(TAG_DIRECTION,
                    "to_client"), "UDP datagrams relayed"));
            for (UdpCounters.Drop reason : UdpCounters.Drop.values()) {
                meters.add(counter(UDP_DROPPED, p -> p.udp().dropped(reason), Tags.of(TAG_REASON, reason.label()),
                        "UDP datagrams dropped"));
            }
        }
        syncAddressKinds(port);
    }

    /**
     * Removes a Service port, its counts kept in the counters' totals; returns whether none is left (then
     * {@link #removeAll} is due).
     */
    boolean remove(ServicePort port) {
        synchronized (summed) {
            if (members.remove(port)) {
                for (Summed c : summed) {
                    Double base = c.base.remove(port);
                    c.retired += c.f.applyAsDouble(port) - (base == null ? 0 : base);
                }
                joinedLater.remove(port);
            }
        }
        drainingMembers.remove(port);
        return members.isEmpty();
    }

    /** A member left the Service table and drains: its endpoints count as draining until it is removed. */
    void draining(ServicePort port) {
        if (members.contains(port)) {
            drainingMembers.add(port);
        }
    }

    /** Unregisters every meter of these labels. */
    void removeAll() {
        meters.forEach(registry::remove);
        meters.clear();
        endpoints.removeAll();
    }

    /** A member lists {@code endpoint} with {@code counters}: its meters read them too. */
    void addEndpoint(String endpoint, ConnectionCounters counters, boolean udpPort) {
        endpoints.add(endpoint, counters, udpPort);
    }

    /** A member no longer lists {@code endpoint} with {@code counters}; the last one takes its meters away. */
    void removeEndpoint(String endpoint, ConnectionCounters counters) {
        endpoints.remove(endpoint, counters);
    }

    /** The connect failures of {@code endpoint} by {@code reason}; see {@link EndpointMetersTable#failureCounter}. */
    Counter failureCounter(String endpoint, String reason) {
        return endpoints.failureCounter(endpoint, reason);
    }

    /** Registers the address-kind counter of each kind of address the Service port has (never removes one). */
    private void syncAddressKinds(ServicePort port) {
        ServiceExposure exposure = port.spec().service().exposure();
        registerKind(AddressKind.CLUSTER);
        if (exposure.type().hasNodePorts() && port.spec().port().nodePort() > 0) {
            registerKind(AddressKind.NODE);
        }
        if (!exposure.externalIPs().isEmpty()) {
            registerKind(AddressKind.EXTERNAL);
        }
        if (!exposure.loadBalancerIPs().isEmpty()) {
            registerKind(AddressKind.LB);
        }
    }

    private void registerKind(AddressKind kind) {
        if (addressKinds.add(kind)) {
            meters.add(counter(ADDRESS_CONNECTIONS, p -> p.arrivals(kind), Tags.of(TAG_ADDRESS, kind.label()),
                    "Client connections (UDP: flows) by the kind of address they came in on"));
        }
    }

    private double sum(ToDoubleFunction<ServicePort> f) {
        double total = 0;
        for (ServicePort p : members) {
            total += f.applyAsDouble(p);
        }
        return total;
    }

    /** A counter over the members: what those still here count, plus what those that left had counted. */
    private final class Summed {
        final ToDoubleFunction<ServicePort> f;
        /** Each member's count when it joined from other labels (0 for one counted from its start). */
        final Map<ServicePort, Double> base = new IdentityHashMap<>(); // guarded by summed
        double retired; // guarded by summed

        Summed(ToDoubleFunction<ServicePort> f) {
            this.f = f;
        }

        double value() {
            synchronized (summed) {
                double total = retired;
                for (ServicePort p : members) {
                    Double b = base.get(p);
                    total += f.applyAsDouble(p) - (b == null ? 0 : b);
                }
                return total;
            }
        }
    }

    private Meter counter(String name, ToDoubleFunction<ServicePort> f, Tags more, String description) {
        Summed c = new Summed(f);
        synchronized (summed) {
            // a counter made after its members joined: one that came from other labels counts from now on here too
            for (ServicePort p : joinedLater) {
                c.base.put(p, f.applyAsDouble(p));
            }
            summed.add(c);
        }
        return FunctionCounter.builder(name, c, Summed::value).tags(tags).tags(more).description(description)
                .register(registry);
    }

    private Gauge endpointsGauge(String state, ToDoubleFunction<ServicePort> f) {
        return Gauge.builder(ENDPOINTS, this, g -> g.sum(f)).tags(tags).tag(TAG_STATE, state).strongReference(true)
                .description("Endpoints of the Service port by state").register(registry);
    }

    /** The port's endpoints in {@code state}; all of them draining once the port itself drains. */
    private double count(ServicePort port, BackendState.State state) {
        BackendSet set = port.backendSet();
        if (set == null) {
            return 0;
        }
        if (drainingMembers.contains(port)) {
            // its endpoints with connections left that no port in force lists with the same counters (those are
            // counted there): what still drains here
            if (state != BackendState.State.DRAINING) {
                return 0;
            }
            Set<ConnectionCounters> inForce = listedInForce();
            int n = 0;
            for (BackendState backend : set.backends()) {
                ConnectionCounters c = backend.counters();
                if (c.active() + c.inactive() > 0 && !inForce.contains(c)) {
                    n++;
                }
            }
            return n;
        }
        int n = 0;
        for (BackendState backend : set.backends()) {
            if (backend.state() == state) {
                n++;
            }
        }
        return n;
    }

    /** The counters the members in force (not draining) list their endpoints with, by identity. */
    private Set<ConnectionCounters> listedInForce() {
        Set<ConnectionCounters> in = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (ServicePort p : members) {
            if (!drainingMembers.contains(p) && p.backendSet() != null) {
                for (BackendState b : p.backendSet().backends()) {
                    in.add(b.counters());
                }
            }
        }
        return in;
    }

    /**
     * The endpoints of the Service port's desired state that are not ready and not in the endpoint set in force
     * (see {@link MicrometerProxyMetrics}).
     */
    private static double notReady(ServicePort port) {
        BackendSet set = port.backendSet();
        Set<String> inSet = new HashSet<>();
        if (set != null) {
            for (BackendState backend : set.backends()) {
                inSet.add(backend.endpoint());
            }
        }
        int n = 0;
        for (EndpointTarget target : port.spec().endpoints()) {
            if (target.notReady() && !inSet.contains(Backends.format(target.ip(), target.port()))) {
                n++;
            }
        }
        return n;
    }
}
