package io.svcproxy.proxy.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.proxy.dataplane.ServicePort;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Reports the proxy's state and events to a Prometheus {@link MeterRegistry} under the names of SPEC.md
 * ("Metrics"). Counters the data plane keeps itself (connections per endpoint, bytes and refusals per Service
 * port) are read at scrape time through gauges and function counters that hold their targets strongly; the
 * connect duration and connect failures are recorded as they happen, into meters cached per Service port so
 * the event loops do one map lookup per event.
 *
 * <p>{@code svcproxy_endpoints{state="not_ready"}} counts the endpoints of the Service port's desired state
 * ({@link io.svcproxy.config.ServicePortSpec#endpoints()}) that are not ready and not in the endpoint set in
 * force. The desired state holds not-ready endpoints only when no endpoint is ready (kube-proxy's fallback to
 * serving and terminating ones), so this is usually 0; {@code ready} and {@code draining} count the set's
 * backends by {@link BackendState#state()}.
 *
 * <p>The {@code servicePort*} methods run on the control-plane thread; {@link #connected} and
 * {@link #connectFailed} on event loops; scrapes on the admin server's thread.
 */
public final class MicrometerProxyMetrics implements ProxyMetrics, AutoCloseable {
    /** {@code svcproxy_ingress_certificate_expiry_timestamp_seconds}: gauge; ingress, certificate. */
    public static final String CERTIFICATE_EXPIRY = "svcproxy.ingress.certificate.expiry.timestamp";
    /**
     * {@code svcproxy_ingress_tls_handshake_failures_total}: counter; reason. A reason's series appears with its first
     * failure.
     */
    public static final String TLS_HANDSHAKE_FAILURES = "svcproxy.ingress.tls.handshake.failures";
    /** {@code svcproxy_connections_active}: gauge; service, port, endpoint. */
    public static final String CONNECTIONS_ACTIVE = "svcproxy.connections.active";
    /** {@code svcproxy_connections_total}: counter; service, port, endpoint. */
    public static final String CONNECTIONS = "svcproxy.connections";
    /** {@code svcproxy_connect_failures_total}: counter; service, port, endpoint, reason. */
    public static final String CONNECT_FAILURES = "svcproxy.connect.failures";
    /** {@code svcproxy_no_endpoint_total}: counter; service, port. */
    public static final String NO_ENDPOINT = "svcproxy.no.endpoint";
    /** {@code svcproxy_bytes_total}: counter; service, port, direction. */
    public static final String BYTES = "svcproxy.bytes";
    /** {@code svcproxy_connect_duration_seconds}: histogram; service, port. */
    public static final String CONNECT_DURATION = "svcproxy.connect.duration";
    /** {@code svcproxy_endpoints}: gauge; service, port, state. */
    public static final String ENDPOINTS = "svcproxy.endpoints";
    /** {@code svcproxy_config_reloads_total}: counter; result. */
    public static final String CONFIG_RELOADS = "svcproxy.config.reloads";
    /** {@code svcproxy_connection_log_dropped_total}: counter; connection log lines dropped (queue full). */
    public static final String CONNECTION_LOG_DROPPED = "svcproxy.connection.log.dropped";
    /** {@code svcproxy_ejections_total}: counter; service, port, endpoint. */
    public static final String EJECTIONS = "svcproxy.ejections";
    /** {@code svcproxy_rejected_connections_total}: counter; service, port, reason. */
    public static final String REJECTED = "svcproxy.rejected.connections";
    /**
     * {@code svcproxy_address_connections_total}: counter; service, port, address ({@code cluster}, {@code node},
     * {@code external}, {@code lb}): the connections (UDP: flows) that came in on each kind of address, admitted or
     * not. A kind is listed once the Service port has such an address.
     */
    public static final String ADDRESS_CONNECTIONS = "svcproxy.address.connections";
    /** The label of {@link #ADDRESS_CONNECTIONS}: the kind of address. */
    public static final String TAG_ADDRESS = "address";
    /** {@code svcproxy_accept_paused}: gauge, 1 while the file-descriptor guard holds accepting. */
    public static final String ACCEPT_PAUSED = "svcproxy.accept.paused";
    /** {@code svcproxy_accept_pauses_total}: counter of the file-descriptor guard's pauses. */
    public static final String ACCEPT_PAUSES = "svcproxy.accept.pauses";
    /** {@code svcproxy_connects_in_progress}: gauge, the connect queue. */
    public static final String CONNECTS_IN_PROGRESS = "svcproxy.connects.in.progress";
    /** UDP flows alive now, per endpoint (gauge). */
    public static final String UDP_FLOWS_ACTIVE = "svcproxy.udp.flows.active";
    /** UDP flows given to an endpoint (counter). */
    public static final String UDP_FLOWS = "svcproxy.udp.flows";
    /** UDP datagrams relayed, by direction (counter). */
    public static final String UDP_DATAGRAMS = "svcproxy.udp.datagrams";
    /** UDP datagrams dropped, by reason (counter). */
    public static final String UDP_DROPPED = "svcproxy.udp.dropped";

    public static final String TAG_SERVICE = "service";
    public static final String TAG_PORT = "port";
    public static final String TAG_ENDPOINT = "endpoint";
    public static final String TAG_REASON = "reason";
    public static final String TAG_DIRECTION = "direction";
    public static final String TAG_STATE = "state";
    public static final String TAG_RESULT = "result";

    private final PrometheusMeterRegistry registry;
    private final Counter reloadsApplied;
    private final Counter reloadsRejected;
    private final Counter connectionLogDropped;
    /** By Service port object: a removed one that drains and its successor at the same key are two. */
    private final Map<ServicePort, PortMeters> ports = new ConcurrentHashMap<>();
    /** The meters of each label pair, shared by the Service ports that carry it (both halves of a dual-stack one). */
    private final Map<Tags, PortGroupMeters> groups = new ConcurrentHashMap<>();
    private final List<AutoCloseable> binders = new ArrayList<>();
    private final HttpRequestMeters httpRequests;
    private final MultiGauge certificateExpiry;
    /** By reason; a handful of fixed labels, resolved once each. */
    private final Map<String, Counter> tlsHandshakeFailures = new ConcurrentHashMap<>();
    private boolean systemMetricsBound;

    /**
     * Returns metrics over {@code registry}, with the reload counters registered at 0 and the JVM, process and
     * Netty allocator metrics bound. {@link #close()} unbinds them and closes the registry.
     */
    public MicrometerProxyMetrics(PrometheusMeterRegistry registry) {
        this(registry, true);
    }

    /**
     * Returns metrics over {@code registry}, with the reload counters registered at 0, and the system metrics
     * (JVM memory, GC, threads, class loading; process CPU, uptime, file descriptors; Netty's pooled allocator)
     * bound when {@code bindSystemMetrics}. Tests pass {@code false} to keep scrapes small.
     */
    public MicrometerProxyMetrics(PrometheusMeterRegistry registry, boolean bindSystemMetrics) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.reloadsApplied = Counter.builder(CONFIG_RELOADS).tag(TAG_RESULT, "applied")
                .description("Config changes, applied or rejected as invalid").register(registry);
        this.reloadsRejected = Counter.builder(CONFIG_RELOADS).tag(TAG_RESULT, "rejected")
                .description("Config changes, applied or rejected as invalid").register(registry);
        this.httpRequests = new HttpRequestMeters(registry);
        this.certificateExpiry = MultiGauge.builder(CERTIFICATE_EXPIRY).baseUnit("seconds")
                .description("When each certificate the HTTPS Ingress listener serves expires (Unix time)")
                .register(registry);
        this.connectionLogDropped = Counter.builder(CONNECTION_LOG_DROPPED)
                .description("Connection log lines dropped because its queue was full").register(registry);
        if (bindSystemMetrics) {
            bindSystemMetrics();
        }
    }

    @Override
    public void ingressCertificates(List<CertificateExpiry> served) {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (CertificateExpiry c : served) {
            rows.add(MultiGauge.Row.of(Tags.of("ingress", c.ingress(), "certificate", c.certificate()),
                    c.notAfter().getEpochSecond()));
        }
        certificateExpiry.register(rows, true);
    }

    @Override
    public void ingressTlsHandshakeFailed(String reason) {
        tlsHandshakeFailures.computeIfAbsent(reason, r -> Counter.builder(TLS_HANDSHAKE_FAILURES).tag(TAG_REASON, r)
                .description("Client connections to the HTTPS Ingress listener that ended without a TLS session")
                .register(registry)).increment();
    }

    /**
     * Binds the system metrics (JVM memory, GC, threads, class loading; process CPU, uptime, file descriptors;
     * Netty's pooled allocator) once; later calls do nothing. {@link io.svcproxy.proxy.ProxyServer} calls it after
     * the Service ports listen and only when the admin server (their only reader) is on: it is a tenth of the
     * start-up work (docs/performance.md, "Issue 15, round 3"). Control-plane thread.
     */
    public synchronized void bindSystemMetrics() {
        if (systemMetricsBound) {
            return;
        }
        systemMetricsBound = true;
        new JvmMemoryMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        binders.add(gc);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider provider) {
            new NettyAllocatorMetrics(provider).bindTo(registry);
        }
    }

    /** Returns the registry the meters live in. */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Returns every meter in the Prometheus text format 0.0.4. */
    public String scrape() {
        return registry.scrape();
    }

    @Override
    public void servicePortAdded(ServicePort port) {
        sync(port);
    }

    @Override
    public void servicePortChanged(ServicePort port) {
        sync(port);
    }

    @Override
    public void servicePortDraining(ServicePort port) {
        PortMeters meters = ports.get(port);
        if (meters != null) {
            meters.group.draining(port);
        }
    }

    @Override
    public void servicePortRemoved(ServicePort port) {
        PortMeters meters = ports.remove(port);
        if (meters != null) {
            leave(meters);
        }
    }

    @Override
    public void connectFailed(ServicePort port, BackendState backend, String reason) {
        PortMeters meters = ports.get(port);
        Counter counter = meters == null ? null : meters.failureCounter(backend.endpoint(), reason);
        if (counter != null) {
            counter.increment();
        }
    }

    @Override
    public void connected(ServicePort port, BackendState backend, long nanos) {
        PortMeters meters = ports.get(port);
        if (meters != null) {
            meters.group.connectDuration.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void httpRequest(String ingress, String host, String path, String service, int code, long nanos) {
        httpRequests.record(ingress, host, path, service, code, nanos);
    }

    @Override
    public HttpRequestMeter httpRequestMeter(String ingress, String host, String path, String service) {
        return httpRequests.meter(ingress, host, path, service);
    }

    @Override
    public void ingressesRemoved(java.util.Set<String> present) {
        httpRequests.retain(present);
    }

    @Override
    public void connectionLogDropped() {
        connectionLogDropped.increment();
    }

    @Override
    public void reload(boolean applied) {
        (applied ? reloadsApplied : reloadsRejected).increment();
    }

    /** Unbinds the system metrics that hold resources and closes the registry. */
    @Override
    public synchronized void close() {
        for (AutoCloseable binder : binders) {
            try {
                binder.close();
            } catch (Exception e) {
                // closing a notification listener cannot fail in a way worth reporting at shutdown
            }
        }
        registry.close();
    }

    /** Takes {@code meters}' port out of its group, and the group's meters out of the registry when it was the last. */
    private void leave(PortMeters meters) {
        if (meters.removeAll()) {
            groups.remove(meters.group.tags, meters.group);
            meters.group.removeAll();
        }
    }

    /** Registers the meters of {@code port}'s current labels and endpoints, and removes those that left. */
    private void sync(ServicePort port) {
        Tags tags = Tags.of(TAG_SERVICE, port.serviceLabel(), TAG_PORT, port.portLabel());
        PortMeters meters = ports.get(port);
        boolean fromStart = meters == null;
        if (meters != null && !meters.group.tags.equals(tags)) {
            // relabelled: start over rather than report under stale labels (from now on: its counts so far are the
            // old labels')
            ports.remove(port);
            leave(meters);
            meters = null;
        }
        if (meters == null) {
            meters = new PortMeters(port, groups.computeIfAbsent(tags, t -> new PortGroupMeters(registry, t)));
            ports.put(port, meters);
        }
        meters.group.add(port, fromStart);
        meters.syncEndpoints();
    }

    /**
     * One Service port's share of its labels' {@link PortGroupMeters}: the endpoints it lists, each with the
     * counters it lists it with (the group's endpoint meters read them; a port that moves to another address lists
     * the same counters as the port it replaces while both are in force). Control-plane thread, but
     * {@link #failureCounter} (event loops).
     */
    private static final class PortMeters {
        final ServicePort port;
        /** The group of the labels it was made with ({@code group.tags}). */
        final PortGroupMeters group;
        // written on the control-plane thread only, read there too
        final Map<String, ConnectionCounters> endpoints = new HashMap<>();
        volatile boolean removed;

        PortMeters(ServicePort port, PortGroupMeters group) {
            this.port = port;
            this.group = group;
        }

        boolean udp() {
            return port.key().protocol() == io.svcproxy.config.Protocol.UDP;
        }

        void syncEndpoints() {
            BackendSet set = port.backendSet();
            List<BackendState> backends = set == null ? List.of() : set.backends();
            Map<String, ConnectionCounters> current = new HashMap<>();
            for (BackendState backend : backends) {
                current.putIfAbsent(backend.endpoint(), backend.counters());
            }
            for (Map.Entry<String, ConnectionCounters> e : current.entrySet()) {
                ConnectionCounters had = endpoints.get(e.getKey());
                if (had == e.getValue()) {
                    continue;
                }
                if (had != null) {
                    group.removeEndpoint(e.getKey(), had);
                }
                group.addEndpoint(e.getKey(), e.getValue(), udp());
                endpoints.put(e.getKey(), e.getValue());
            }
            endpoints.entrySet().removeIf(e -> {
                if (current.containsKey(e.getKey())) {
                    return false;
                }
                group.removeEndpoint(e.getKey(), e.getValue());
                return true;
            });
        }

        Counter failureCounter(String endpoint, String reason) {
            return removed ? null : group.failureCounter(endpoint, reason);
        }

        /** Leaves the group; returns whether it has no member left (then its meters are due to go). */
        boolean removeAll() {
            removed = true;
            endpoints.forEach(group::removeEndpoint);
            endpoints.clear();
            return group.remove(port);
        }
    }

    /** Registers the data plane's proxy-wide gauges: the file-descriptor guard and the connect queue. */
    public void bindDataPlane(io.svcproxy.proxy.dataplane.ListenerManager listeners) {
        Gauge.builder(ACCEPT_PAUSED, listeners, l -> l.acceptPaused() ? 1 : 0).strongReference(true)
                .description("1 while accepting is paused near the file descriptor limit").register(registry);
        FunctionCounter.builder(ACCEPT_PAUSES, listeners, l -> l.acceptPauses())
                .description("Pauses of accepting near the file descriptor limit").register(registry);
        Gauge.builder(CONNECTS_IN_PROGRESS, listeners, l -> l.connectsInProgress()).strongReference(true)
                .description("Connects to endpoints in progress").register(registry);
    }

}
