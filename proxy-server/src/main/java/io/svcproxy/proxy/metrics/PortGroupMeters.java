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

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
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
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToDoubleFunction;

/**
 * The meters of one Service port's labels ({@code service}, {@code port}) that are not per endpoint: the
 * no-endpoint, byte, refusal, address-kind and UDP counters, the endpoint states and the connect duration. Usually
 * one Service port has them; the two halves of a dual-stack Service (one Service port per clusterIP, the same labels)
 * share them, and each meter reads the sum over both, since a registry keeps one meter per name and labels (a
 * second one registered is ignored, so one family went unreported). Members are added and removed on the
 * control-plane thread and read at scrape time.
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
    private final List<Meter> meters = new ArrayList<>();
    private final Set<AddressKind> addressKinds = EnumSet.noneOf(AddressKind.class);
    private boolean udp;

    PortGroupMeters(MeterRegistry registry, Tags tags) {
        this.registry = registry;
        this.tags = tags;
        this.connectDuration = Timer.builder(CONNECT_DURATION).tags(tags)
                .description("Time to connect to an endpoint")
                .serviceLevelObjectives(CONNECT_BUCKETS)
                .register(registry);
        meters.add(connectDuration);
        meters.add(counter(NO_ENDPOINT, ServicePort::noEndpointCount, Tags.empty(),
                "Client connections closed because no endpoint was usable"));
        meters.add(FunctionCounter.builder(BYTES, this, g -> g.sum(ServicePort::bytesToEndpoint)).tags(tags)
                .tag(TAG_DIRECTION, "to_endpoint").baseUnit("bytes").description("Bytes relayed").register(registry));
        meters.add(FunctionCounter.builder(BYTES, this, g -> g.sum(ServicePort::bytesToClient)).tags(tags)
                .tag(TAG_DIRECTION, "to_client").baseUnit("bytes").description("Bytes relayed").register(registry));
        meters.add(endpointsGauge("ready", p -> count(p.backendSet(), BackendState.State.READY)));
        meters.add(endpointsGauge("draining", p -> count(p.backendSet(), BackendState.State.DRAINING)));
        meters.add(endpointsGauge("not_ready", PortGroupMeters::notReady));
        meters.add(endpointsGauge("ejected", p -> count(p.backendSet(), BackendState.State.EJECTED)));
        meters.add(endpointsGauge("unhealthy", p -> count(p.backendSet(), BackendState.State.UNHEALTHY)));
        for (Rejection reason : Rejection.values()) {
            meters.add(counter(REJECTED, p -> p.rejectedCount(reason), Tags.of(TAG_REASON, reason.label()),
                    "Client connections closed at once by a limit"));
        }
    }

    /** Adds a Service port under these labels: its counts join the sums; its kinds of address are listed. */
    void add(ServicePort port) {
        if (!members.contains(port)) {
            members.add(port);
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

    /** Removes a Service port; returns whether none is left (then {@link #removeAll} is due). */
    boolean remove(ServicePort port) {
        members.remove(port);
        return members.isEmpty();
    }

    /** Unregisters every meter of these labels. */
    void removeAll() {
        meters.forEach(registry::remove);
        meters.clear();
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

    private Meter counter(String name, ToDoubleFunction<ServicePort> f, Tags more, String description) {
        return FunctionCounter.builder(name, this, g -> g.sum(f)).tags(tags).tags(more).description(description)
                .register(registry);
    }

    private Gauge endpointsGauge(String state, ToDoubleFunction<ServicePort> f) {
        return Gauge.builder(ENDPOINTS, this, g -> g.sum(f)).tags(tags).tag(TAG_STATE, state).strongReference(true)
                .description("Endpoints of the Service port by state").register(registry);
    }

    private static double count(BackendSet set, BackendState.State state) {
        if (set == null) {
            return 0;
        }
        int n = 0;
        for (BackendState backend : set.backends()) {
            if (backend.state() == state) {
                n++;
            }
        }
        return n;
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
            if (!target.ready() && !inSet.contains(Backends.format(target.ip(), target.port()))) {
                n++;
            }
        }
        return n;
    }
}
