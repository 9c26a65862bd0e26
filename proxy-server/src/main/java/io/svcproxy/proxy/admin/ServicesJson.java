package io.svcproxy.proxy.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.proxy.dataplane.AddressKind;
import io.svcproxy.proxy.dataplane.ReloadStatus;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Renders {@code GET /api/v1/services}: the fields of SPEC.md ("Admin HTTP") in that order, one entry per
 * Service port, plus what the stats page needs. Reads the live objects without locking: each Service port's
 * spec and endpoint set are read once, so an entry is consistent with itself while counters move on.
 *
 * <p>A Service port removed by a change while its connections drain is listed as long as the metrics list it (until
 * the reconciler's sweep finds them ended or cut at {@code drainTimeout}): the endpoints that still have connections
 * there, each {@code "state": "draining"} with weight 0, under the port in force at its address when one was added
 * back, else in an entry of its own made from the removed port (its spec as it was, no {@code "not ready"} ones).
 *
 * <p>Fields beyond SPEC.md; times are ISO-8601 UTC with millisecond precision, counters count since start:
 * <ul>
 *   <li>top level: {@code svcproxyVersion} (the jar's version, {@code dev} from classes), {@code ready} (as
 *       {@code /readyz}), {@code startedAt} (the process start), {@code now} (when this document was made: the
 *       page divides byte deltas by the difference of two {@code now}s), {@code lastReload} ({@code null} until
 *       the first config change, else {@code at}, {@code result} = {@code applied} or {@code rejected}, and
 *       {@code errors}, the {@code FILE:LINE:COLUMN: message} lines of a rejection, empty when applied),
 *       {@code unbound} (the addresses of the desired state that could not be bound, {@code cannot bind ADDRESS:
 *       reason}, tried again every second: a Service port among them is not in the list below);</li>
 *   <li>per Service port: {@code targetPort}, {@code schedulerFlags}, {@code sessionAffinityTimeoutSeconds},
 *       {@code connections} (client connections open now), {@code bytesToEndpoint}, {@code bytesToClient} and
 *       {@code noEndpoint} (connections closed at once for want of an endpoint);</li>
 *   <li>per endpoint: {@code bytesToEndpoint}, {@code bytesToClient} and {@code connectFailures}. After the
 *       endpoints in the set ({@code ready}, {@code draining}) come those of the spec that are not ready and not
 *       in the set, with {@code state} {@code "not ready"}, their weight, no connection open, and the counts kept from
 *       when they were last in it (zero for one never ready).</li>
 * </ul>
 * The page renders any {@code state} string, so states added later (such as {@code ejected}) need no change here.
 */
final class ServicesJson {
    /** The {@code state} of an endpoint that is known but not ready (Kubernetes' {@code ready: false}). */
    static final String NOT_READY = "not ready";

    private final ObjectMapper mapper = new ObjectMapper();
    private final Clock clock;
    private final Instant startedAt;
    private final String svcproxyVersion;

    /** Returns a renderer reporting the current process's start time and the jar's version. */
    ServicesJson() {
        this(Clock.systemUTC(), Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime()),
                svcproxyVersion());
    }

    ServicesJson(Clock clock, Instant startedAt, String svcproxyVersion) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.startedAt = Objects.requireNonNull(startedAt, "startedAt");
        this.svcproxyVersion = Objects.requireNonNull(svcproxyVersion, "svcproxyVersion");
    }

    /** Returns the version from the jar's manifest, or {@code dev} when run from classes. */
    static String svcproxyVersion() {
        String v = ServicesJson.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** Returns the document as UTF-8 bytes. */
    byte[] render(ServiceTable table) {
        ObjectNode root = mapper.createObjectNode();
        root.put("version", table.version());
        root.put("svcproxyVersion", svcproxyVersion);
        root.put("ready", table.isReady());
        ArrayNode unbound = root.putArray("unbound");
        table.unbound().forEach(unbound::add);
        root.put("startedAt", time(startedAt));
        root.put("now", time(clock.instant()));
        ReloadStatus reload = table.lastReload();
        if (reload == null) {
            root.putNull("lastReload");
        } else {
            ObjectNode r = root.putObject("lastReload");
            r.put("at", time(reload.at()));
            r.put("result", reload.result());
            r.put("errors", reload.errors() == null ? "" : reload.errors());
        }
        ArrayNode services = root.putArray("services");
        for (Entry entry : entries(table)) {
            if (!entry.removed() || !entry.draining().isEmpty()) {
                services.add(servicePort(entry));
            }
        }
        try {
            return mapper.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e); // a tree of plain nodes always serializes
        }
    }

    /**
     * One entry of the list: a Service port in force, or a removed one whose connections drain at an address no port
     * in force has ({@code removed}); {@code draining} are the endpoints of the removed ports at its address that
     * still have connections and that no port in force lists with the same counters (a port added back or moved takes
     * its predecessor's endpoints over with their counters: those are counted there), as {@code
     * svcproxy_endpoints{state="draining"}} counts them.
     */
    private record Entry(ServicePort port, boolean removed, List<BackendState> draining, int drainingConnections) {
    }

    /** The entries, ordered by namespace, name and port. */
    private static List<Entry> entries(ServiceTable table) {
        List<ServicePort> inForce = table.servicePorts();
        Set<ConnectionCounters> listed = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<ServiceKey> keys = new HashSet<>();
        for (ServicePort port : inForce) {
            keys.add(port.key());
            if (port.backendSet() != null) {
                port.backendSet().backends().forEach(b -> listed.add(b.counters()));
            }
        }
        Map<ServiceKey, List<ServicePort>> removed = new LinkedHashMap<>();
        for (ServicePort port : table.drainingPorts()) {
            removed.computeIfAbsent(port.key(), k -> new ArrayList<>()).add(port);
        }
        List<Entry> out = new ArrayList<>();
        for (ServicePort port : inForce) {
            out.add(entry(port, false, removed.getOrDefault(port.key(), List.of()), listed));
        }
        for (List<ServicePort> ports : removed.values()) {
            if (!keys.contains(ports.get(0).key())) {
                out.add(entry(ports.get(0), true, ports, listed));
            }
        }
        out.sort(Comparator.comparing(Entry::port, ServiceTable.ORDER));
        return out;
    }

    private static Entry entry(ServicePort port, boolean removed, List<ServicePort> drainingHere,
                               Set<ConnectionCounters> listed) {
        List<BackendState> draining = new ArrayList<>();
        int connections = 0;
        for (ServicePort d : drainingHere) {
            connections += d.connections().size();
            for (BackendState b : d.backendSet().backends()) {
                ConnectionCounters c = b.counters();
                if (c.active() + c.inactive() > 0 && listed.add(c)) { // once, even if two removed ports share it
                    draining.add(b);
                }
            }
        }
        return new Entry(port, removed, draining, connections);
    }

    /**
     * Service types (issue 13): {@code type}, {@code externalTrafficPolicy}, {@code addresses} (every address the
     * port listens on, the clusterIP first, each with its {@code kind}: cluster, node, external, lb) and {@code
     * connectionsByAddress} (the connections, UDP: flows, that came in on each kind of address, admitted or not).
     */
    private void addresses(ObjectNode node, ServicePort servicePort) {
        io.svcproxy.config.ServiceExposure exposure = servicePort.spec().service().exposure();
        node.put("type", exposure.type().yamlName());
        node.put("externalTrafficPolicy", exposure.externalTrafficPolicy() == io.svcproxy.config.TrafficPolicy.LOCAL
                ? "Local" : "Cluster");
        ArrayNode list = node.putArray("addresses");
        java.util.EnumSet<AddressKind> kinds = java.util.EnumSet.of(AddressKind.CLUSTER);
        ObjectNode cluster = list.addObject();
        cluster.put("address", Backends.format(servicePort.key().clusterIP(), servicePort.key().port()));
        cluster.put("kind", AddressKind.CLUSTER.label());
        servicePort.extraAddresses().entrySet().stream()
                .sorted(java.util.Comparator.comparing((java.util.Map.Entry<java.net.InetSocketAddress,
                        AddressKind> e) -> e.getValue()).thenComparing(e -> Backends.format(e.getKey().getAddress(),
                        e.getKey().getPort())))
                .forEach(e -> {
                    ObjectNode a = list.addObject();
                    a.put("address", Backends.format(e.getKey().getAddress(), e.getKey().getPort()));
                    a.put("kind", e.getValue().label());
                    kinds.add(e.getValue());
                });
        ObjectNode byKind = node.putObject("connectionsByAddress");
        for (AddressKind kind : AddressKind.values()) {
            if (kinds.contains(kind) || servicePort.arrivals(kind) > 0) {
                byKind.put(kind.label(), servicePort.arrivals(kind));
            }
        }
    }

    private static String time(Instant at) {
        return at.truncatedTo(ChronoUnit.MILLIS).toString();
    }

    private ObjectNode servicePort(Entry entry) {
        ServicePort servicePort = entry.port();
        ServicePortSpec spec = servicePort.spec();
        BackendSet set = servicePort.backendSet();
        ServiceSpec service = spec.service();
        PortSpec port = spec.port();
        ObjectNode node = mapper.createObjectNode();
        node.put("namespace", service.namespace());
        node.put("name", service.name());
        node.put("clusterIP", Backends.formatIp(spec.key().clusterIP()));
        node.put("port", spec.key().port());
        node.put("portName", port.name());
        node.put("protocol", spec.key().protocol().name());
        node.put("targetPort", port.targetPort().toString());
        node.put("scheduler", set != null ? set.schedulerName() : service.scheduler());
        // sorted so that the document is stable from one request to the next
        ArrayNode flags = node.putArray("schedulerFlags");
        (set != null ? set.flags() : service.schedulerFlags()).stream()
                .map(SchedulerFlag::configName).sorted().forEach(flags::add);
        SessionAffinity affinity = set != null ? set.affinity() : service.sessionAffinity();
        node.put("sessionAffinity", affinity.label());
        node.put("sessionAffinityTimeoutSeconds", affinity.timeout().toSeconds());
        // a removed port's own connections are among those of the removed ports at its address
        node.put("connections", (entry.removed() ? 0 : servicePort.connections().size())
                + entry.drainingConnections());
        node.put("bytesToEndpoint", servicePort.bytesToEndpoint());
        node.put("bytesToClient", servicePort.bytesToClient());
        node.put("noEndpoint", servicePort.noEndpointCount());
        // robustness (issue 6): limits, refusals by reason and the active health checks
        node.put("maxConnections", service.maxConnections());
        node.put("maxConnectionsPerClient", service.maxConnectionsPerClient());
        ObjectNode rejected = node.putObject("rejected");
        for (io.svcproxy.proxy.dataplane.Rejection reason : io.svcproxy.proxy.dataplane.Rejection.values()) {
            rejected.put(reason.label(), servicePort.rejectedCount(reason));
        }
        addresses(node, servicePort);
        boolean udp = spec.key().protocol() == io.svcproxy.config.Protocol.UDP;
        if (udp) {
            io.svcproxy.proxy.dataplane.UdpCounters c = servicePort.udp();
            ObjectNode u = node.putObject("udp");
            u.put("datagramsToEndpoint", c.datagramsToEndpoint());
            u.put("datagramsToClient", c.datagramsToClient());
            ObjectNode dropped = u.putObject("dropped");
            for (io.svcproxy.proxy.dataplane.UdpCounters.Drop reason
                    : io.svcproxy.proxy.dataplane.UdpCounters.Drop.values()) {
                dropped.put(reason.label(), c.dropped(reason));
            }
        }
        if (service.healthCheck() != null) {
            ObjectNode hc = node.putObject("healthCheck");
            hc.put("intervalMillis", service.healthCheck().interval().toMillis());
            hc.put("timeoutMillis", service.healthCheck().timeout().toMillis());
            hc.put("rise", service.healthCheck().rise());
            hc.put("fall", service.healthCheck().fall());
        }
        ArrayNode endpoints = node.putArray("endpoints");
        Set<String> inSet = new HashSet<>();
        if (set != null && !entry.removed()) {
            for (BackendState backend : set.backends()) {
                inSet.add(backend.endpoint());
                endpoint(endpoints, backend, backend.weight(), backend.state().label(), udp);
            }
        }
        // the endpoints still draining on the removed Service ports here: weight 0, as an endpoint that left a list
        for (BackendState backend : entry.draining()) {
            inSet.add(backend.endpoint());
            endpoint(endpoints, backend, 0, BackendState.State.DRAINING.label(), udp);
        }
        if (entry.removed()) {
            return node; // its spec is not in force: no endpoint of it is waited for
        }
        // Not-ready endpoints are not in the set (the reconciler gives them no backend): one that was in it shows
        // the counters kept for its return (SPEC's total: since svcproxy started), one never ready zero counts; one
        // that is still draining its connections shows once, as draining (a bypassed one only so: EndpointTarget
        // .notReady).
        for (EndpointTarget target : spec.endpoints()) {
            String endpoint = Backends.format(target.ip(), target.port());
            if (!target.notReady() || inSet.contains(endpoint)) {
                continue;
            }
            ConnectionCounters kept = servicePort.departedCounters(endpoint);
            ObjectNode e = endpoints.addObject();
            e.put("ip", Backends.formatIp(target.ip()));
            e.put("port", target.port());
            e.put("weight", target.weight());
            e.put("state", NOT_READY);
            e.put("active", 0);
            e.put("inactive", 0);
            e.put("total", kept == null ? 0 : kept.total());
            if (udp) {
                e.put("flows", 0);
            }
            e.put("bytesToEndpoint", kept == null ? 0 : kept.bytesToEndpoint());
            e.put("bytesToClient", kept == null ? 0 : kept.bytesToClient());
            e.put("connectFailures", kept == null ? 0 : kept.connectFailures());
            // every field a listed endpoint has (docs/operations.md), from the counters kept for its return
            e.put("consecutiveFailures", kept == null ? 0 : kept.health().consecutiveFailures());
            e.put("ejections", kept == null ? 0 : kept.health().ejections());
            e.put("failedChecks", kept == null ? 0 : kept.health().checkFailures());
        }
        return node;
    }

    private static void endpoint(ArrayNode endpoints, BackendState backend, int weight, String state, boolean udp) {
        ConnectionCounters counters = backend.counters();
        ObjectNode e = endpoints.addObject();
        e.put("ip", Backends.formatIp(backend.address()));
        e.put("port", backend.port());
        e.put("weight", weight);
        e.put("state", state);
        e.put("active", counters.active());
        e.put("inactive", counters.inactive());
        e.put("total", counters.total());
        if (udp) {
            e.put("flows", counters.inactive()); // a UDP flow is one inactive connection while it lives
        }
        e.put("bytesToEndpoint", counters.bytesToEndpoint());
        e.put("bytesToClient", counters.bytesToClient());
        e.put("connectFailures", counters.connectFailures());
        e.put("consecutiveFailures", counters.health().consecutiveFailures());
        e.put("ejections", counters.health().ejections());
        e.put("failedChecks", counters.health().checkFailures());
    }
}
