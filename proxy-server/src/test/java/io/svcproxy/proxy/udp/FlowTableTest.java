package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.EndpointTarget;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The flow table alone: expiry, udpResponses, the endpoint check, counted as IPVS counts UDP; time is injected. */
class FlowTableTest {
    static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    final InetSocketAddress client = new InetSocketAddress("127.0.1.1", 40000);
    final BackendState a = BackendState.of(ip("127.0.0.61"), 53, 1);
    final BackendState b = BackendState.of(ip("127.0.0.62"), 53, 1);

    static InetAddress ip(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    UdpFlow flow(BackendState backend, long now) {
        return flow(client, backend, 30 * SECOND, 0, now);
    }

    static UdpFlow flow(InetSocketAddress from, BackendState backend, long idleNanos, int maxResponses, long now) {
        return new UdpFlow(from, backend, backend.counters().lease(), idleNanos, maxResponses, now);
    }

    @Test
    void aFlowLivesWhileDatagramsComeWithinTheIdleTimeout() {
        FlowTable table = new FlowTable();
        UdpFlow flow = flow(a, 0);
        table.add(flow);
        table.clientSent(flow, 20 * SECOND);
        table.endpointSent(flow, 40 * SECOND);
        assertThat(table.get(client, 69 * SECOND)).isSameAs(flow);
        assertThat(table.nanosLeft(flow, 69 * SECOND)).isEqualTo(SECOND);
        assertThat(table.get(client, 70 * SECOND)).as("30 s after the last datagram").isNull();
        assertThat(table.expire(70 * SECOND)).containsExactly(flow);
        assertThat(table.size()).isZero();
    }

    @Test
    void aFlowEndsWithItsLastAllowedResponse() {
        FlowTable table = new FlowTable();
        UdpFlow flow = flow(client, a, 30 * SECOND, 2, 0);
        table.add(flow);
        table.clientSent(flow, 0);
        assertThat(table.endpointSent(flow, 1)).isFalse();
        assertThat(table.endpointSent(flow, 2)).as("udpResponses: 2 reached").isTrue();
    }

    /**
     * The shutdown drain ends a flow quiet for its quiet time, but not one whose client's last datagram still waits
     * for its answer ({@code udpResponses}): that one keeps its idle timeout. A flow that owes an answer lost long
     * ago, its later queries answered, goes quiet as any other (helper-142).
     */
    @Test
    void whileDrainingAFlowWaitingForItsAnswerKeepsItsIdleTimeout() {
        FlowTable table = new FlowTable();
        UdpFlow waiting = flow(client, a, 30 * SECOND, 1, 0);
        UdpFlow answeredLast = flow(new InetSocketAddress("127.0.1.2", 40000), a, 30 * SECOND, 1, 0);
        UdpFlow twoInFlight = flow(new InetSocketAddress("127.0.1.4", 40000), a, 30 * SECOND, 1, 0);
        UdpFlow plain = flow(new InetSocketAddress("127.0.1.3", 40000), a, 30 * SECOND, 0, 0);
        table.add(waiting);
        table.add(answeredLast);
        table.add(twoInFlight);
        table.add(plain);
        table.clientSent(waiting, 0);
        table.clientSent(answeredLast, 0); // its answer lost: the client asks again after its own timeout
        table.clientSent(answeredLast, 5 * SECOND);
        assertThat(table.endpointSent(answeredLast, 5 * SECOND)).as("1 of 2 answers").isFalse();
        table.clientSent(twoInFlight, 5 * SECOND); // A and AAAA from one socket, the A answered
        table.clientSent(twoInFlight, 5 * SECOND + 1_000);
        assertThat(table.endpointSent(twoInFlight, 5 * SECOND + 2_000)).as("1 of 2 answers").isFalse();
        table.clientSent(plain, 5 * SECOND);
        table.draining(2 * SECOND);
        assertThat(table.expire(7 * SECOND + 2_000)).containsExactlyInAnyOrder(answeredLast, plain);
        assertThat(table.nanosLeft(waiting, 7 * SECOND)).isEqualTo(23 * SECOND);
        assertThat(table.nanosLeft(twoInFlight, 7 * SECOND + 2_000)).isEqualTo(28 * SECOND);
        assertThat(table.expire(30 * SECOND)).containsExactly(waiting);
        // the AAAA answer comes: nothing is owed any more, the flow goes quiet as any other
        assertThat(table.endpointSent(twoInFlight, 31 * SECOND)).as("2 of 2 answers").isTrue();
    }

    /** A query in flight after an answer lost long ago still holds the drain: the lost answer is not its. */
    @Test
    void aLostAnswerDoesNotHideALaterQueryInFlight() {
        FlowTable table = new FlowTable();
        UdpFlow flow = flow(client, a, 30 * SECOND, 1, 0);
        table.add(flow);
        table.clientSent(flow, 0); // lost
        table.clientSent(flow, 5 * SECOND);
        table.endpointSent(flow, 5 * SECOND);
        table.clientSent(flow, 20 * SECOND); // in flight
        table.draining(2 * SECOND);
        assertThat(table.expire(23 * SECOND)).isEmpty();
        assertThat(table.nanosLeft(flow, 23 * SECOND)).isEqualTo(27 * SECOND);
        table.endpointSent(flow, 24 * SECOND);
        assertThat(table.expire(26 * SECOND)).containsExactly(flow);
    }

    @Test
    void udpResponsesCountsPerClientDatagramAsNginx() {
        FlowTable table = new FlowTable();
        UdpFlow flow = flow(client, a, 30 * SECOND, 1, 0);
        table.add(flow);
        table.clientSent(flow, 0);
        table.clientSent(flow, 1); // a second query from the same port before the first answer
        table.clientSent(flow, 2);
        assertThat(table.endpointSent(flow, 3)).as("1 of 3 answers").isFalse();
        assertThat(table.endpointSent(flow, 4)).as("2 of 3 answers").isFalse();
        assertThat(table.endpointSent(flow, 5)).as("every query answered").isTrue();
    }

    @Test
    void withoutUdpResponsesEveryAnswerKeepsTheFlow() {
        FlowTable table = new FlowTable();
        UdpFlow flow = flow(a, 0);
        for (int i = 0; i < 1000; i++) {
            assertThat(table.endpointSent(flow, i)).isFalse();
        }
    }

    @Test
    void aFlowTakesTheTimeoutInForceAtEachDatagramAndKeepsItsUdpResponses() {
        FlowTable table = new FlowTable();
        UdpFlow before = flow(a, 0); // started before a reload: 30 s, no udpResponses
        InetSocketAddress other = new InetSocketAddress("127.0.1.2", 40000);
        UdpFlow after = flow(other, b, 5 * SECOND, 1, 0); // started after it: 5 s, udpResponses 1
        table.add(before);
        table.add(after);
        table.clientSent(before, 0);
        table.clientSent(after, 0);
        assertThat(table.get(client, 5 * SECOND)).as("the old flow keeps 30 s").isSameAs(before);
        assertThat(table.get(other, 5 * SECOND)).as("the new flow has 5 s").isNull();
        assertThat(table.endpointSent(before, 1)).as("the old flow has no udpResponses").isFalse();
        assertThat(table.endpointSent(after, 1)).isTrue();
        // the old flow's next datagram comes under the reload's 5 s: it expires 5 s after it
        table.clientSent(before, 10 * SECOND, 5 * SECOND);
        assertThat(table.get(client, 14 * SECOND)).isSameAs(before);
        assertThat(table.get(client, 15 * SECOND)).as("5 s after its last datagram").isNull();
    }

    @Test
    void oneLiveFlowPerClient() {
        FlowTable table = new FlowTable();
        table.add(flow(a, 0));
        assertThatThrownBy(() -> table.add(flow(b, 0))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aFlowsEndpointMustStayInTheListWithAWeight() {
        BackendSet both = BackendSet.of("rr", Set.of(), SessionAffinity.NONE, List.of(a, b), System::nanoTime);
        UdpFlow flow = flow(a, 0);
        assertThat(FlowTable.usable(flow, both, List.of())).isTrue();
        BackendSet withoutA = both.update("rr", Set.of(), SessionAffinity.NONE, List.of(b));
        assertThat(FlowTable.usable(flow, withoutA, List.of())).as("removed").isFalse();
        BackendSet drainingA = both.update("rr", Set.of(), SessionAffinity.NONE,
                List.of(a.withWeight(0, BackendState.State.DRAINING), b));
        assertThat(FlowTable.usable(flow, drainingA, List.of())).as("draining, weight 0").isFalse();
        BackendSet sameCountersNewWeight = both.update("rr", Set.of(), SessionAffinity.NONE,
                List.of(a.withWeight(5, BackendState.State.READY), b));
        assertThat(FlowTable.usable(flow, sameCountersNewWeight, List.of())).as("reweighted, still there").isTrue();
    }

    /**
     * A ready endpoint that topology hints or a Local policy leave out of new picks ({@link EndpointTarget#bypassed})
     * is listed as draining with weight 0 while it has flows, and its flows stay (kube-proxy leaves the UDP conntrack
     * entries of every serving endpoint); one bypassed but no longer listed, or listed at weight 0 without being
     * bypassed (left, terminating, weighted 0), is not usable.
     */
    @Test
    void aFlowToABypassedEndpointStays() {
        BackendSet both = BackendSet.of("rr", Set.of(), SessionAffinity.NONE, List.of(a, b), System::nanoTime);
        UdpFlow flow = flow(a, 0);
        List<EndpointTarget> aBypassed = List.of(EndpointTarget.bypassed(a.address(), a.port(), true, "node-b"),
                EndpointTarget.ready(b.address(), b.port(), 1));
        BackendSet drainingA = both.update("rr", Set.of(), SessionAffinity.NONE,
                List.of(a.withWeight(0, BackendState.State.DRAINING), b));
        assertThat(FlowTable.usable(flow, drainingA, aBypassed)).as("bypassed, listed at weight 0").isTrue();
        List<EndpointTarget> otherPortBypassed = List.of(
                EndpointTarget.bypassed(a.address(), a.port() + 1, true, "node-b"),
                EndpointTarget.ready(b.address(), b.port(), 1));
        assertThat(FlowTable.usable(flow, drainingA, otherPortBypassed)).as("another endpoint bypassed").isFalse();
        BackendSet withoutA = both.update("rr", Set.of(), SessionAffinity.NONE, List.of(b));
        assertThat(FlowTable.usable(flow, withoutA, aBypassed)).as("bypassed, no longer listed").isFalse();
    }

    @Test
    void aFlowIsOneInactiveConnectionOfItsEndpointUntilReleased() {
        UdpFlow flow = flow(a, 0);
        assertThat(a.inactiveConnections()).isEqualTo(1);
        assertThat(a.activeConnections()).isZero();
        assertThat(a.counters().total()).isEqualTo(1);
        flow.lease.release();
        flow.lease.release();
        assertThat(a.inactiveConnections()).isZero();
    }

    @Test
    void theFlowLimitIsSharedAndGivenBack() {
        UdpFlowLimit limit = new UdpFlowLimit(2);
        assertThat(limit.tryAcquire()).isTrue();
        assertThat(limit.tryAcquire()).isTrue();
        assertThat(limit.tryAcquire()).as("maxUdpFlows: 2").isFalse();
        limit.release();
        assertThat(limit.tryAcquire()).isTrue();
        assertThat(limit.flows()).isEqualTo(2);
    }
}
