package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.dataplane.Transport;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * UDP Service ports on the Epoll transport, and what only epoll's flow sockets do: the socket of a flow that got
 * every answer ({@code udpResponses}) carries a later flow to the same endpoint ({@link FlowSocketPool}).
 */
class EpollUdpDataPlaneTest extends UdpDataPlaneTest {
    /** Longer than the pool's quarantine, so that a parked socket may be reused. */
    private static final long PAST_QUARANTINE_MS = 3 * FlowSocketPool.QUARANTINE_NANOS / 1_000_000;

    @Override
    Transport transport() {
        return Transport.EPOLL;
    }

    @Test
    void aDnsFlowsSocketCarriesTheNextFlowToItsEndpoint() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "", ", udpResponses: 1", endpoints(a)));
        assertThat(ask(client(), "one")).isEqualTo("a:one");
        Thread.sleep(PAST_QUARANTINE_MS);
        assertThat(ask(client(), "two")).isEqualTo("a:two");
        Thread.sleep(PAST_QUARANTINE_MS);
        assertThat(ask(client(), "three")).isEqualTo("a:three");
        assertThat(a.sourcePorts).as("three flows, one socket toward the endpoint").hasSize(3).containsOnly(
                a.sourcePorts.get(0));
        assertThat(port().backendSet().backends().get(0).counters().total()).as("flows").isEqualTo(3);
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 0);
    }

    @Test
    void anAnswerBeyondUdpResponsesReachesNoLaterClientAndItsSocketIsNotReused() throws Exception {
        UdpEcho a = new UdpEcho("127.0.0.61", "a", false, 2); // answers every datagram twice
        echoes.add(a);
        start(service("rr", "", ", udpResponses: 1", endpoints(a)));
        DatagramSocket first = client();
        assertThat(ask(first, "one")).isEqualTo("a:one"); // the flow ends here; "a:one#2" finds its socket parked
        Thread.sleep(PAST_QUARANTINE_MS);
        DatagramSocket second = client();
        assertThat(ask(second, "two")).isEqualTo("a:two");
        second.setSoTimeout(500);
        first.setSoTimeout(500);
        assertThatThrownBy(() -> second.receive(new DatagramPacket(new byte[1500], 1500)))
                .as("the second answers were dropped, none reached the later client")
                .isInstanceOf(SocketTimeoutException.class);
        assertThatThrownBy(() -> first.receive(new DatagramPacket(new byte[1500], 1500)))
                .isInstanceOf(SocketTimeoutException.class);
        assertThat(a.sourcePorts).as("the socket that got an extra answer is closed, not reused").hasSize(2)
                .doesNotHaveDuplicates();
    }

    @Test
    void aFlowEndedByItsIdleTimeoutClosesItsSocket() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "  udpIdleTimeout: 200ms\n", "", endpoints(a))); // no udpResponses: flows end idle
        assertThat(ask(client(), "one")).isEqualTo("a:one");
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 0);
        assertThat(ask(client(), "two")).isEqualTo("a:two");
        assertThat(a.sourcePorts).as("a new socket for the next flow").hasSize(2).doesNotHaveDuplicates();
    }
}
