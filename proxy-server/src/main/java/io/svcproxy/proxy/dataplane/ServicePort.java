package io.svcproxy.proxy.dataplane;

import io.netty.channel.Channel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.ClientAddress;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.config.OutlierDetection;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.proxy.connlog.EndReason;
import io.svcproxy.proxy.connlog.OpenConnection;
import io.svcproxy.proxy.connlog.RecentConnections;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The live state of one Service port: its desired spec, the endpoint set the data plane picks from, its open
 * connections and its byte and refusal counters. The reconciler swaps the spec and the endpoint set; the data
 * plane reads each with one volatile read per connection and never waits on the control plane.
 */
public final class ServicePort {
    private final ServiceKey key;
    private volatile ServicePortSpec spec;
    private volatile BackendSet backendSet;
    private final Set<Channel> connections = ConcurrentHashMap.newKeySet();
    private final LongAdder bytesToEndpoint = new LongAdder();
    private final LongAdder bytesToClient = new LongAdder();
    private final LongAdder noEndpoint = new LongAdder();
    private final LongAdder[] rejected = new LongAdder[Rejection.values().length];
    private final LongAdder[] arrivals = new LongAdder[AddressKind.values().length];
    private final AtomicInteger open = new AtomicInteger();
    /** Keyed by {@link ClientAddress}: a client cannot choose its bin (forged IPv6 addresses of one hash code). */
    private final ConcurrentHashMap<ClientAddress, AtomicInteger> openByClient = new ConcurrentHashMap<>();
    private volatile Consumer<ServicePort> healthListener = p -> { };
    private volatile Function<String, ConnectionCounters> departedCounters = e -> null;
    private volatile boolean retired;
    /** The counters of its endpoints that a successor took over ({@link #retire}); identity set. */
    private volatile Set<ConnectionCounters> shared = Set.of();
    private final UdpCounters udp = new UdpCounters();
    private volatile EligibleEndpoints local;
    /** The Cluster policy's filter of {@code spec}: {@code null} inside when every ready endpoint is eligible. */
    private volatile ClusterFilter cluster;
    private volatile Labels labels;
    private volatile Map<InetSocketAddress, AddressKind> extraAddresses = Map.of();
    private final RecentConnections recent =
            new RecentConnections(RecentConnections.DEFAULT_CAPACITY);

    public ServicePort(ServicePortSpec spec, BackendSet backendSet) {
        this.key = spec.key();
        this.spec = spec;
        this.backendSet = backendSet;
        for (int i = 0; i < rejected.length; i++) {
            rejected[i] = new LongAdder();
        }
        for (int i = 0; i < arrivals.length; i++) {
            arrivals[i] = new LongAdder();
        }
    }

    /** Returns the clusterIP, port and protocol this Service port listens on. */
    public ServiceKey key() {
        return key;
    }

    /** Returns the desired state in force. */
    public ServicePortSpec spec() {
        return spec;
    }

    /** Returns the endpoint set in force. */
    public BackendSet backendSet() {
        return backendSet;
    }

    /** Swaps in a new spec and endpoint set; called by the reconciler only. */
    public void update(ServicePortSpec spec, BackendSet backendSet) {
        this.spec = spec;
        this.backendSet = backendSet;
    }

    /**
     * Returns this Service port's ready endpoints on {@code nodeName} (a Local policy's), built again only when the
     * spec or name changed.
     */
    public EligibleEndpoints localEndpoints(String nodeName) {
        EligibleEndpoints l = local;
        ServicePortSpec s = spec;
        if (l == null || l.spec() != s || !l.nodeName().equals(nodeName)) {
            l = EligibleEndpoints.local(s, nodeName);
            local = l;
        }
        return l;
    }

    /**
     * Returns the endpoints Cluster-policy traffic may use, or {@code null} when it may use every ready one (see
     * {@link EligibleEndpoints#cluster}); built again only when the spec changed.
     */
    public EligibleEndpoints clusterEndpoints() {
        ClusterFilter c = cluster;
        ServicePortSpec s = spec;
        if (c == null || c.spec() != s) {
            c = new ClusterFilter(s, EligibleEndpoints.cluster(s));
            cluster = c;
        }
        return c.eligible();
    }

    private record ClusterFilter(ServicePortSpec spec, EligibleEndpoints eligible) {
    }

    /** Returns {@code namespace/name}, the {@code service} label of the metrics. */
    public String serviceLabel() {
        return labels().service();
    }

    /** Returns the Service port's name, or its number when it has none: the {@code port} label of the metrics. */
    public String portLabel() {
        return labels().port();
    }

    /** The labels of the spec in force, made once per spec: each connection's log line holds them. */
    private record Labels(ServicePortSpec spec, String service, String port) {
    }

    private Labels labels() {
        Labels l = labels;
        ServicePortSpec s = spec;
        if (l == null || l.spec() != s) {
            l = new Labels(s, s.service().qualifiedName(), s.port().label());
            labels = l; // a race makes equal labels twice, harmlessly
        }
        return l;
    }

    /** Returns the last connections and flows of this Service port that ended, for the "what if" card. */
    public RecentConnections recent() {
        return recent;
    }

    /**
     * Returns the TCP connections of this Service port given an endpoint and still open, by start: the "what if"
     * card replays them after a {@link #recent()} snapshot as holding their endpoints. Any thread.
     */
    public List<OpenConnection> stillOpen() {
        return ConnectionEnds.stillOpen(this);
    }

    /** Returns the client channels of the connections open on this Service port. */
    public Set<Channel> connections() {
        return connections;
    }

    /**
     * Resets the open connections served by the endpoint {@code ip:port} (a drain that outlived
     * {@code drainTimeout}), both ways ({@link FrontendHandler#abort}).
     *
     * @return how many were closed
     */
    public int closeConnectionsTo(String endpoint) {
        int closed = 0;
        for (Channel channel : connections) {
            io.svcproxy.balancer.BackendState backend = channel.attr(FrontendHandler.BACKEND).get();
            if (backend != null && backend.endpoint().equals(endpoint)) {
                ConnectionEnds.abort(channel, EndReason.DRAIN);
                closed++;
            }
        }
        return closed;
    }

    /** Resets every open connection of this Service port (its drain deadline), both ways; returns how many. */
    public int closeConnections() {
        int closed = connections.size();
        for (Channel channel : connections) {
            ConnectionEnds.abort(channel, EndReason.DRAIN);
        }
        return closed;
    }

    /** Returns the bytes relayed from clients to endpoints. */
    public long bytesToEndpoint() {
        return bytesToEndpoint.sum();
    }

    /** Returns the bytes relayed from endpoints to clients. */
    public long bytesToClient() {
        return bytesToClient.sum();
    }

    /** Returns the datagram counters (a UDP Service port's; zero for TCP). */
    public UdpCounters udp() {
        return udp;
    }

    /** Returns the client connections closed because no endpoint was usable. */
    public long noEndpointCount() {
        return noEndpoint.sum();
    }

    /** Counts {@code n} bytes relayed from a client to an endpoint (TCP bytes, UDP payload). */
    public void addBytesToEndpoint(long n) {
        bytesToEndpoint.add(n);
    }

    /** Counts {@code n} bytes relayed from an endpoint to a client (TCP bytes, UDP payload). */
    public void addBytesToClient(long n) {
        bytesToClient.add(n);
    }

    /** Counts a client connection (UDP: a new flow) that found no usable endpoint. */
    public void countNoEndpoint() {
        noEndpoint.increment();
    }

    /** Returns the client connections closed at once for {@code reason}. */
    public long rejectedCount(Rejection reason) {
        return rejected[reason.ordinal()].sum();
    }

    public void countRejected(Rejection reason) {
        rejected[reason.ordinal()].increment();
    }

    /**
     * Counts a client connection (UDP: a new flow) that came in on an address of kind {@code kind}, before it is
     * admitted or refused.
     */
    public void countArrival(AddressKind kind) {
        arrivals[kind.ordinal()].increment();
    }

    /** Returns the addresses this Service port listens on besides its clusterIP, with their kind. */
    public Map<InetSocketAddress, AddressKind> extraAddresses() {
        return extraAddresses;
    }

    void setExtraAddresses(Map<InetSocketAddress, AddressKind> addresses) {
        this.extraAddresses = addresses;
    }

    /** Returns the client connections (UDP: flows) that came in on addresses of kind {@code kind}. */
    public long arrivals(AddressKind kind) {
        return arrivals[kind.ordinal()].sum();
    }

    /** Returns the client connections admitted and still open on this Service port. */
    public int openConnections() {
        return open.get();
    }

    /**
     * Returns the client addresses with connections open that count against {@code maxConnectionsPerClient}
     * (only connections admitted while such a limit was set are counted per address).
     */
    public int clientCount() {
        return openByClient.size();
    }

    /**
     * Admits a client connection against the Service's {@code maxConnections} and {@code perClient}, the
     * {@code maxConnectionsPerClient} its caller read once (0: no limit, and then the client is not counted per
     * address, which keeps a map update off every accept and close). On success the caller must call
     * {@link #release} once, with {@code perClient > 0}, when the connection closes.
     *
     * @return {@code null}, or why the connection is refused
     */
    public Rejection admit(InetAddress client, int perClient) {
        int max = spec.service().maxConnections();
        int n = open.incrementAndGet();
        if (max > 0 && n > max) {
            open.decrementAndGet();
            return Rejection.MAX_CONNECTIONS;
        }
        if (perClient <= 0) {
            return null;
        }
        boolean[] over = new boolean[1];
        openByClient.compute(ClientAddress.of(client), (k, count) -> {
            AtomicInteger c = count == null ? new AtomicInteger() : count;
            if (c.get() >= perClient) {
                over[0] = true;
            } else {
                c.incrementAndGet();
            }
            return c;
        });
        if (over[0]) {
            open.decrementAndGet();
            return Rejection.MAX_CONNECTIONS_PER_CLIENT;
        }
        return null;
    }

    /**
     * Releases what {@link #admit} took for a connection of {@code client} that closed; {@code perClient}: it was
     * admitted with a {@code perClient} above 0 ({@code client} is not read otherwise).
     */
    public void release(InetAddress client, boolean perClient) {
        open.decrementAndGet();
        if (perClient) {
            openByClient.computeIfPresent(ClientAddress.of(client), (k, c) -> c.decrementAndGet() <= 0 ? null : c);
        }
    }

    /**
     * Sets where the counters of an endpoint that left the list are kept for its return ({@code ip:port} to its
     * counters, or {@code null}; thread-safe): the admin API lists a not-ready endpoint with them.
     */
    public void setDepartedCounters(Function<String, ConnectionCounters> lookup) {
        this.departedCounters = lookup;
    }

    /** The counters the endpoint {@code ip:port} left the list with, kept for its return, or {@code null}. */
    public ConnectionCounters departedCounters(String endpoint) {
        return departedCounters.apply(endpoint);
    }

    /** Sets what runs when an endpoint's health changed (the reconciler publishes the list again). */
    public void setHealthListener(Consumer<ServicePort> listener) {
        this.healthListener = listener;
    }

    /**
     * Marks this port as replaced by {@code successor} (it moved to another address, or it was removed and added back
     * while it drained): its connections drain, and the successor shares the counters of the endpoints it took over
     * ({@link #leaseReleased}, {@link #sharesWithSuccessor}). Control-plane thread.
     */
    public void retire(ServicePort successor) {
        Set<ConnectionCounters> theirs = Collections.newSetFromMap(new IdentityHashMap<>());
        for (BackendState b : successor.backendSet().backends()) {
            theirs.add(b.counters());
        }
        Set<ConnectionCounters> shared = Collections.newSetFromMap(new IdentityHashMap<>());
        shared.addAll(this.shared);
        for (BackendState b : backendSet.backends()) {
            if (theirs.contains(b.counters())) {
                shared.add(b.counters());
            }
        }
        this.shared = shared;
        retired = true;
    }

    /**
     * Whether a successor this port was {@linkplain #retire retired} for lists the endpoint of {@code counters} with
     * them: the claims on them (an Ingress request) are then the successor's too, not this port's to wait for or cut.
     */
    public boolean sharesWithSuccessor(ConnectionCounters counters) {
        return shared.contains(counters);
    }

    /** Reports that the health of an endpoint of this Service port changed; any thread. */
    public void healthChanged() {
        healthListener.accept(this);
    }

    /**
     * Reports that a connection to {@code backend} closed and released its lease; event-loop thread. When that was
     * the endpoint's last connection and the list in force holds it as draining, the list is published again at
     * once (through the health listener), so a removed endpoint leaves the scheduler's list with its last
     * connection rather than at the next housekeeping tick. The reconciler checks the same after each swap: the
     * counter is written before the list is read here, and the list before the counter there, so one of the two
     * always sees the other (issue 11: with mh a draining endpoint's slots closed clients meanwhile). A port that
     * moved reports every endpoint's last connection: its successor may list the endpoint (its counters) as
     * draining.
     */
    public void leaseReleased(BackendState backend) {
        ConnectionCounters c = backend.counters();
        if (c.active() + c.inactive() != 0) {
            return;
        }
        if (retired) {
            healthChanged();
            return;
        }
        BackendSet set = backendSet;
        if (!set.hasDraining()) {
            return;
        }
        for (BackendState b : set.backends()) {
            if (b.counters() == c && b.state() == BackendState.State.DRAINING) {
                healthChanged();
                return;
            }
        }
    }

    /**
     * Reports a connect to {@code backend} that failed with {@code reason} ({@link ConnectErrors#reason}), the same
     * for every protocol (a TCP connection, a UDP flow its endpoint refused, an Ingress request): the metric, the
     * endpoint's failure counts, and at {@code consecutiveFailures} in a row outlier detection. A connect that failed
     * on svcproxy's own host ({@link ConnectErrors#LOCAL}: no local port left for the endpoint's address, no buffer)
     * is counted in the metric only: it says nothing of the endpoint, whose failures in a row it neither adds to nor
     * ends. Event-loop thread.
     */
    public void connectFailed(BackendState backend, String reason, ProxyMetrics metrics, DataPlaneSettings settings) {
        metrics.connectFailed(this, backend, reason);
        if (reason.equals(ConnectErrors.LOCAL)) {
            return;
        }
        backend.counters().countConnectFailure();
        int failures = backend.counters().health().connectFailed();
        OutlierDetection outlier = settings.outlierDetection();
        if (outlier.enabled() && failures >= outlier.consecutiveFailures()) {
            maybeEject(backend, failures, outlier, settings.node().nodeName());
        }
    }

    /**
     * Ejects {@code backend} after {@code failures} failed connects in a row unless outlier detection's limits keep
     * it ({@link OutlierEjection#maybeEject}). Event-loop thread.
     */
    public void maybeEject(BackendState backend, int failures, OutlierDetection outlier, String nodeName) {
        OutlierEjection.maybeEject(this, backend, failures, outlier, nodeName);
    }

    @Override
    public String toString() {
        return serviceLabel() + " " + key;
    }
}
