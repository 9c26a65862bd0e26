package io.svcproxy.proxy.udp;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Lease;
import java.net.InetSocketAddress;

/**
 * One UDP flow: a client address and port on one Service port, the endpoint its first datagram was scheduled to,
 * and the connected socket that carries its datagrams there. Counted, as IPVS counts UDP, as one inactive
 * connection of its endpoint for its whole life: {@code ip_vs_bind_dest} (ip_vs_conn.c) counts a new connection
 * in {@code inactconns}, and only the TCP and SCTP state machines move one to {@code activeconns} on ESTABLISHED;
 * UDP has no such state, so lc, wlc, sed and nq weigh a flow as an inactive connection ({@code
 * ip_vs_dest_conn_overhead}). The lease is released exactly once, when the flow ends. Owned by one event loop.
 */
final class UdpFlow {
    final InetSocketAddress client;
    final BackendState backend;
    final Lease lease;
    /**
     * A flow with no datagram either way this long has expired: the Service port's timeout as of its last datagram
     * (IPVS's UDP entries take the timeout in force at each packet, {@code udp_state_transition}).
     */
    long idleNanos;
    /**
     * The flow ends once its endpoint sent this many datagrams per datagram of the client ({@code udpResponses}
     * when it started); 0 for no such limit.
     */
    final int maxResponses;
    /** The socket toward the endpoint; {@code null} in unit tests of the table. */
    FlowSocket socket;
    /** System.nanoTime() of the first datagram, the flow's start in the connection log. */
    final long started;
    /** Bytes of the client's datagrams relayed to the endpoint, and of the endpoint's relayed back. */
    long bytesToEndpoint;
    long bytesToClient;
    /** System.nanoTime() of the last datagram either way. */
    long lastActivity;
    /** Datagrams the client sent. */
    int requests;
    /** Datagrams the endpoint sent back. */
    int responses;
    /** When the client's last datagram came. */
    long lastRequest;
    /**
     * The answers ({@code udpResponses}) still owed when the client's current burst of datagrams began (one coming
     * {@link FlowTable#IN_FLIGHT} or more after the one before): taken as lost, so that the shutdown drain tells the
     * queries in flight from an answer lost long ago.
     */
    long lostAnswers;
    /** Set once the flow ended: later events for it are ignored. */
    boolean ended;
    /** It ended because its endpoint refused (ICMP port or host unreachable). */
    boolean refused;
    /**
     * The PROXY v2 header put before each datagram to the endpoint, or {@code null} without proxyProtocol: made or
     * dropped at a datagram when the Service port's setting changed.
     */
    byte[] proxyHeader;
    /** The endpoint list this flow's endpoint was last found usable in. */
    io.svcproxy.balancer.BackendSet checkedAgainst;
    /** Whether it counts against its Service's {@code maxConnectionsPerClient} (one was set when it started). */
    boolean perClient;
    /** The idle check. */
    java.util.concurrent.ScheduledFuture<?> timer;

    UdpFlow(InetSocketAddress client, BackendState backend, Lease lease, long idleNanos, int maxResponses, long now) {
        this.client = client;
        this.backend = backend;
        this.lease = lease;
        this.idleNanos = idleNanos;
        this.maxResponses = maxResponses;
        this.lastActivity = now;
        this.started = now;
    }

    @Override
    public String toString() {
        return client + "->" + backend.endpoint();
    }
}
