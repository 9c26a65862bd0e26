package io.svcproxy.proxy.udp;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.EndpointTarget;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The flows of one UDP Service port, by client address and port. Decides, without I/O, whether a datagram belongs
 * to a live flow, when a flow has expired (no datagram either way for the idle timeout, or the endpoint sent
 * {@code udpResponses} datagrams), and whether a flow's endpoint is still usable in the list in force (in it with
 * a weight above 0: a flow whose endpoint left, drains or was weighted 0 is scheduled again on its next datagram;
 * but for a ready endpoint only left out of new picks, {@link #usable}).
 * The idle timeout is the one in force at each datagram, as IPVS's UDP entries take the current timeout at each
 * packet ({@code udp_state_transition} in {@code ip_vs_proto_udp.c}): a reload that lowers it reaches running flows
 * at their next datagram. {@code udpResponses} is each flow's own, fixed when it started (it counts that flow's
 * answers).
 * Single-threaded: the listener's event loop owns it; time is passed in, so tests drive it with their own clock.
 */
final class FlowTable {
    /** See {@link #draining}; no limit until then. */
    private long quietNanos = Long.MAX_VALUE;
    /**
     * A client's datagram that comes this long or more after its previous one begins a new burst ({@link #timeout}):
     * the drain's quiet time, as a query unanswered for that long counts as lost there.
     */
    static final long IN_FLIGHT = UdpListener.DRAIN_QUIET.toNanos();

    /** Keyed by seeded hash, as clients choose their addresses and ports: see {@link ClientKey}. */
    private final Map<ClientKey, UdpFlow> flows = new HashMap<>();
    /** The key each lookup is made with: a datagram's lookup allocates nothing. */
    private final ClientKey probe = new ClientKey();

    /** Returns the live flow of {@code client}, or {@code null}; an expired one is left for {@link #expire}. */
    UdpFlow get(InetSocketAddress client, long now) {
        UdpFlow flow = flows.get(probe.set(client));
        if (flow == null || flow.ended || expired(flow, now)) {
            return null;
        }
        return flow;
    }

    /** Returns the flow of {@code client} whatever its state, or {@code null}. */
    UdpFlow find(InetSocketAddress client) {
        return flows.get(probe.set(client));
    }

    void add(UdpFlow flow) {
        ClientKey key = ClientKey.of(flow.client);
        UdpFlow old = flows.put(key, flow);
        if (old != null && old != flow && !old.ended) {
            flows.put(key, old);
            throw new IllegalStateException("flow of " + flow.client + " exists: " + old);
        }
    }

    /** Forgets {@code flow} (if it is still the client's flow). */
    void remove(UdpFlow flow) {
        flows.remove(probe.set(flow.client), flow);
    }

    /** Records a datagram from the client, sent to the endpoint; {@code idleNanos}: the timeout in force now. */
    void clientSent(UdpFlow flow, long now, long idleNanos) {
        flow.lastActivity = now;
        flow.idleNanos = idleNanos;
        if (flow.requests == 0 || now - flow.lastRequest >= IN_FLIGHT) {
            flow.lostAnswers = owed(flow); // a new burst: what is still owed from before is taken as lost
        }
        flow.requests++;
        flow.lastRequest = now;
    }

    /** As {@link #clientSent(UdpFlow, long, long)} with the flow's timeout unchanged. */
    void clientSent(UdpFlow flow, long now) {
        clientSent(flow, now, flow.idleNanos);
    }

    /**
     * Records a datagram from the endpoint; returns whether the flow got every answer it waits for: with {@code
     * udpResponses} set, that many per datagram the client sent, as nginx's {@code proxy_responses} counts. (Ending
     * at the first answer would drop the answers to the client's other queries in flight on the same port.)
     */
    boolean endpointSent(UdpFlow flow, long now, long idleNanos) {
        flow.idleNanos = idleNanos;
        return endpointSent(flow, now);
    }

    /** As {@link #endpointSent(UdpFlow, long, long)} with the flow's timeout unchanged. */
    boolean endpointSent(UdpFlow flow, long now) {
        flow.lastActivity = now;
        flow.responses++;
        flow.lostAnswers = Math.min(flow.lostAnswers, owed(flow)); // one taken as lost came after all
        return flow.maxResponses > 0 && flow.responses >= (long) flow.maxResponses * flow.requests;
    }

    /** Returns whether {@code flow} has seen no datagram for the idle timeout. */
    boolean expired(UdpFlow flow, long now) {
        return now - flow.lastActivity >= timeout(flow);
    }

    /** Returns the nanoseconds until {@code flow} expires if nothing happens (at most the idle timeout). */
    long nanosLeft(UdpFlow flow, long now) {
        return flow.lastActivity + timeout(flow) - now;
    }

    /**
     * From now on (the shutdown drain) a flow also ends once quiet for {@code quietNanos}, when that is shorter than
     * its idle timeout: what is still exchanging datagrams goes on, what went quiet does not hold the shutdown for
     * the rest of its idle timeout (but for a flow still owed answers, see {@link #timeout}).
     */
    void draining(long quietNanos) {
        this.quietNanos = quietNanos;
    }

    /**
     * The flow's idle timeout, or during the shutdown drain its quiet time when shorter; but a flow that waits for
     * answers to the client's latest burst of datagrams ({@code udpResponses} set; a burst: datagrams each within
     * {@link #IN_FLIGHT} of the one before, as a resolver's A and AAAA from one socket) has not ended by going quiet:
     * it keeps its idle timeout (the drain's deadline still holds), so that a slow answer is relayed rather than
     * lost, as nginx's graceful shutdown waits for its {@code proxy_responses} sessions. The answers still owed when
     * a burst begins are taken as lost (the client asked again after its own timeout): a flow owing only those goes
     * quiet as any other. Answers are counted against the latest burst first.
     */
    long timeout(UdpFlow flow) {
        boolean waiting = flow.maxResponses > 0 && owed(flow) > flow.lostAnswers;
        return waiting ? flow.idleNanos : Math.min(flow.idleNanos, quietNanos);
    }

    /** The answers the flow still waits for: {@code udpResponses} per client datagram, less those that came. */
    static long owed(UdpFlow flow) {
        return Math.max(0, (long) flow.maxResponses * flow.requests - flow.responses);
    }

    /** Removes and returns the flows that expired by {@code now}. */
    List<UdpFlow> expire(long now) {
        List<UdpFlow> out = new ArrayList<>();
        for (Iterator<UdpFlow> it = flows.values().iterator(); it.hasNext(); ) {
            UdpFlow flow = it.next();
            if (flow.ended || expired(flow, now)) {
                it.remove();
                out.add(flow);
            }
        }
        return out;
    }

    /**
     * Returns whether {@code flow}'s endpoint is still usable in {@code set}: in the list (the same endpoint and
     * counters) with a weight above 0, and not published ready while its health says it is out of service (ejected
     * or failing its checks since the list was built: the list that gives it weight 0 follows). An endpoint listed
     * out of service with its weight kept, as every endpoint is when none is in service (panic mode), is usable: new
     * flows are given to it, so running ones stay (the scheduler's own test, {@code BackendSet.pickInService}).
     * An endpoint listed as draining (weight 0) that {@code targets} name {@linkplain EndpointTarget#bypassed
     * bypassed} is usable too: a ready Pod of the Service that topology hints or a Local policy only leave out of
     * new picks, whose flows stay until they idle out as kube-proxy leaves the UDP conntrack entries of every
     * serving endpoint ("we do not take traffic policies, topology, or terminating status of the service into
     * account", {@code CleanStaleEntries} in pkg/proxy/conntrack/cleanup.go), and as its TCP connections go on.
     */
    static boolean usable(UdpFlow flow, BackendSet set, List<EndpointTarget> targets) {
        for (BackendState b : set.backends()) {
            if (b.counters() == flow.backend.counters()) {
                if (b.weight() > 0) {
                    return b.inService() || b.state() != BackendState.State.READY;
                }
                return b.state() == BackendState.State.DRAINING && bypassed(b, targets);
            }
        }
        return false;
    }

    /** Returns whether {@code targets} name {@code b}'s address and port as bypassed. */
    private static boolean bypassed(BackendState b, List<EndpointTarget> targets) {
        for (EndpointTarget t : targets) {
            if (t.bypassed() && t.port() == b.port() && t.ip().equals(b.address())) {
                return true;
            }
        }
        return false;
    }

    /** Returns the flows held, live or not yet expired away. */
    int size() {
        return flows.size();
    }

    /** Returns a copy of the flows, for closing them all. */
    List<UdpFlow> all() {
        return new ArrayList<>(flows.values());
    }
}
