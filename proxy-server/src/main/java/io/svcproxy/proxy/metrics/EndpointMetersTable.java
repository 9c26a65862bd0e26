package io.svcproxy.proxy.metrics;

import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.CONNECTIONS;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.CONNECTIONS_ACTIVE;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.CONNECT_FAILURES;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.EJECTIONS;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.TAG_ENDPOINT;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.TAG_REASON;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.UDP_FLOWS;
import static io.svcproxy.proxy.metrics.MicrometerProxyMetrics.UDP_FLOWS_ACTIVE;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.svcproxy.balancer.ConnectionCounters;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToDoubleFunction;

/**
 * The endpoint meters of one label pair's {@link PortGroupMeters}: per endpoint ({@code ip:port}) its connections,
 * ejections and UDP flows over the counters the ports of those labels list it with, and its connect failures by
 * reason. Endpoints are added and removed on the control-plane thread; failures are counted on event loops; scrapes
 * read.
 */
final class EndpointMetersTable {
    private final MeterRegistry registry;
    private final Tags tags;
    /** Each endpoint's meters, over the counters the ports list it with. */
    private final Map<String, EndpointMeters> endpoints = new ConcurrentHashMap<>();
    /** Connect failures by endpoint, then reason: event loops add, the control plane removes. */
    private final Map<String, Map<String, Counter>> failures = new ConcurrentHashMap<>();
    private volatile boolean removed;
    /**
     * The connect failures, by reason, of the endpoints whose meters were taken away (the last {@value #DEPARTED}):
     * one that comes back (a readiness flap) goes on counting where it stopped, as its connections do
     * ({@code DepartedEndpoints}). Control-plane thread.
     */
    private final Map<String, Map<String, Double>> departedFailures = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Map<String, Double>> eldest) {
            return size() > DEPARTED;
        }
    };
    /** How many departed endpoints' failure counts a label pair remembers, as DepartedEndpoints' endpoints. */
    static final int DEPARTED = 1024;

    EndpointMetersTable(MeterRegistry registry, Tags tags) {
        this.registry = registry;
        this.tags = tags;
    }

    /** Unregisters every meter. */
    void removeAll() {
        removed = true;
        endpoints.values().forEach(EndpointMeters::remove);
        endpoints.clear();
        failures.values().forEach(byReason -> byReason.values().forEach(registry::remove));
        failures.clear();
    }

    /** A port lists {@code endpoint} with {@code counters}: its meters read them too. */
    void add(String endpoint, ConnectionCounters counters, boolean udpPort) {
        EndpointMeters m = endpoints.get(endpoint);
        if (m == null) { // endpoints changes on this (the control-plane) thread only
            m = new EndpointMeters(endpoint);
            endpoints.put(endpoint, m);
            // listed first: a failure counted meanwhile on an event loop keeps its meter (failureCounter)
            Map<String, Double> kept = departedFailures.remove(endpoint);
            if (kept != null) { // back: its failure series go on from their counts
                Map<String, Counter> byReason = failures.computeIfAbsent(endpoint, e -> new ConcurrentHashMap<>());
                kept.forEach((reason, count) -> byReason.computeIfAbsent(reason, r -> failureMeter(endpoint, r))
                        .increment(count));
            }
        }
        m.add(counters, udpPort);
    }

    /** A port no longer lists {@code endpoint} with {@code counters}; the last one takes its meters away. */
    void remove(String endpoint, ConnectionCounters counters) {
        EndpointMeters m = endpoints.get(endpoint);
        if (m == null) {
            return;
        }
        m.release(counters);
        if (m.counters.isEmpty()) {
            endpoints.remove(endpoint);
            m.remove();
            Map<String, Counter> byReason = failures.remove(endpoint);
            if (byReason != null) {
                Map<String, Double> counts = new HashMap<>();
                byReason.forEach((reason, counter) -> counts.put(reason, counter.count()));
                departedFailures.put(endpoint, counts);
                byReason.values().forEach(registry::remove);
            }
        }
    }

    /**
     * The connect failures of {@code endpoint} by {@code reason}, registered at the first. Event-loop thread: one
     * registered while the control plane removed the endpoint (or the labels) is taken out again, not left behind.
     */
    Counter failureCounter(String endpoint, String reason) {
        Map<String, Counter> byReason = failures.computeIfAbsent(endpoint, e -> new ConcurrentHashMap<>());
        Counter counter = byReason.get(reason);
        if (counter == null) {
            counter = byReason.computeIfAbsent(reason, r -> failureMeter(endpoint, r));
            if (removed || !endpoints.containsKey(endpoint)) {
                registry.remove(counter);
                failures.remove(endpoint, byReason);
            }
        }
        return counter;
    }

    private Counter failureMeter(String endpoint, String reason) {
        return Counter.builder(CONNECT_FAILURES).tags(tags).tag(TAG_ENDPOINT, endpoint).tag(TAG_REASON, reason)
                .description("Failed connects to an endpoint").register(registry);
    }

    /**
     * One endpoint's meters, reading the distinct counters its members list it with: one object, also while a port
     * and the successor it moves to both list it (the successor takes over its predecessor's counters). Its UDP flow
     * meters read the counters of UDP ports only: a TCP and a UDP port of the same labels (a single-port Service
     * whose protocol changed, the old port draining) list it apart.
     */
    private final class EndpointMeters {
        final List<ConnectionCounters> counters = new CopyOnWriteArrayList<>();
        /** The members of {@code counters} a UDP port lists (the same counters are never listed by both kinds). */
        final List<ConnectionCounters> udpCounters = new CopyOnWriteArrayList<>();
        final List<Meter> own = new ArrayList<>();
        final Tags endpointTags;
        /** What counters no member lists any more had counted, while others still list the endpoint. */
        double retiredTotal;
        double retiredEjections;
        double retiredFlows;
        /**
         * What each of those counters had counted when it left (total, ejections, flows): one that comes back (an
         * endpoint that left a port's list and returned, DepartedEndpoints) is counted live again, not twice.
         */
        final Map<ConnectionCounters, double[]> retiredBy = new IdentityHashMap<>();
        /** Whether a UDP port listed it: its flow meters stay from then on, as its other meters. */
        boolean flowMeters;

        EndpointMeters(String endpoint) {
            endpointTags = tags.and(TAG_ENDPOINT, endpoint);
            own.add(Gauge.builder(CONNECTIONS_ACTIVE, this, m -> m.sum(ConnectionCounters::active))
                    .tags(endpointTags).strongReference(true).description("Connections open in both directions")
                    .register(registry));
            own.add(FunctionCounter.builder(CONNECTIONS, this, m -> m.total())
                    .tags(endpointTags).description("Connections given to the endpoint").register(registry));
            own.add(FunctionCounter.builder(EJECTIONS, this, m -> m.ejections())
                    .tags(endpointTags).description("Ejections of the endpoint by outlier detection")
                    .register(registry));
        }

        synchronized void add(ConnectionCounters c, boolean udpPort) {
            double[] was = retiredBy.remove(c);
            if (was != null) {
                retiredTotal -= was[0];
                retiredEjections -= was[1];
                retiredFlows -= was[2];
            }
            counters.add(c);
            if (udpPort) {
                if (!flowMeters) {
                    flowMeters = true;
                    // a UDP flow counts as one inactive connection of its endpoint while it lives (as IPVS's)
                    own.add(Gauge.builder(UDP_FLOWS_ACTIVE, this, m -> sum(m.udpCounters,
                            ConnectionCounters::inactive)).tags(endpointTags).strongReference(true)
                            .description("UDP flows alive").register(registry));
                    own.add(FunctionCounter.builder(UDP_FLOWS, this, m -> m.flows())
                            .tags(endpointTags).description("UDP flows given to the endpoint").register(registry));
                }
                udpCounters.add(c);
            }
        }

        synchronized double flows() {
            return retiredFlows + sum(udpCounters, ConnectionCounters::total);
        }

        synchronized double total() {
            return retiredTotal + sum(ConnectionCounters::total);
        }

        synchronized double ejections() {
            return retiredEjections + sum(c -> c.health().ejections());
        }

        /** One member no longer lists the endpoint with {@code c}: its counts stay in the totals if others go on. */
        synchronized void release(ConnectionCounters c) {
            counters.remove(c);
            boolean udp = udpCounters.remove(c);
            boolean stillListed = false;
            for (ConnectionCounters other : counters) {
                stillListed |= other == c;
            }
            if (!stillListed && !counters.isEmpty()) {
                double total = c.total();
                double ejections = c.health().ejections();
                double flows = udp ? total : 0;
                retiredTotal += total;
                retiredEjections += ejections;
                retiredFlows += flows;
                retiredBy.put(c, new double[] {total, ejections, flows});
            }
        }

        double sum(ToDoubleFunction<ConnectionCounters> f) {
            return sum(counters, f);
        }

        /** The sum of {@code f} over the distinct objects of {@code list}. */
        static double sum(List<ConnectionCounters> list, ToDoubleFunction<ConnectionCounters> f) {
            double total = 0;
            List<ConnectionCounters> seen = new ArrayList<>(2);
            for (ConnectionCounters c : list) {
                boolean again = false;
                for (ConnectionCounters s : seen) {
                    again |= s == c;
                }
                if (!again) {
                    seen.add(c);
                    total += f.applyAsDouble(c);
                }
            }
            return total;
        }

        void remove() {
            own.forEach(registry::remove);
        }
    }
}
