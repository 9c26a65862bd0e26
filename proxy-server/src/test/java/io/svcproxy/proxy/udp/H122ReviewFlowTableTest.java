package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendState;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * helper-122's review: the flow table under a flood of chosen client addresses. UDP sources cost nothing to forge,
 * and {@code InetSocketAddress.hashCode()} is the address's int plus the port (Inet6Address: the sum of its four
 * words plus the port), with no seed: the clients {@code 10.0.0.0 + k} at port {@code 65535 - k} all share one hash
 * code. FlowTable keeps its flows in a {@code HashMap<InetSocketAddress, UdpFlow>}; sharing a hash code they share
 * a bin, and since InetSocketAddress is not Comparable the bin's tree cannot order them: every get and put walks the
 * whole bin. Each datagram of the listener costs a get ({@code current}), each new flow a get, a find and a put,
 * all O(flows) on the event loop that serves the port's other flows (and, on epoll, TCP relays: the UDP listeners
 * run on the worker loops); on this machine 60,000 such flows took 58 s of CPU to insert and then 2.8 ms per
 * datagram to look up, so a few thousand forged datagrams a second, within {@code maxUdpFlows} (65,536), hold an
 * event loop for good. IPVS hashes its connection table with a random seed ({@code ip_vs_conn_rnd}, jhash), as
 * conntrack does, so that clients cannot pick their bucket.
 *
 * <p>No timed assertion of a speed: the work is bounded by a generous deadline (a table with a seeded hash does it
 * in well under a second; the one now needs minutes), and the test says how far it got.
 */
class H122ReviewFlowTableTest {
    static final int FLOWS = 65_536; // proxy.maxUdpFlows' default
    static final Duration BUDGET = Duration.ofSeconds(20);

    static InetSocketAddress colliding(int k) throws Exception {
        int ip = (10 << 24) + k; // 10.0.0.0 + k
        byte[] bytes = {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip};
        return new InetSocketAddress(InetAddress.getByAddress(bytes), 65_535 - k);
    }

    @Test
    void flowsOfClientsThatChoseOneHashCodeCostNoMoreThanOthers() throws Exception {
        BackendState endpoint = BackendState.of(InetAddress.getByName("127.0.0.124"), 53, 1);
        FlowTable table = new FlowTable();
        long idle = TimeUnit.SECONDS.toNanos(30);
        int hash = colliding(1).hashCode();
        long deadline = System.nanoTime() + BUDGET.toNanos();
        int started = 0;
        // what the listener does for each forged datagram: look its client up, then start its flow
        for (int k = 1; k < FLOWS && System.nanoTime() < deadline; k++) {
            InetSocketAddress client = colliding(k);
            assertThat(client.hashCode()).isEqualTo(hash);
            if (table.get(client, 0) == null && table.find(client) == null) {
                table.add(new UdpFlow(client, endpoint, endpoint.counters().lease(), idle, 0, 0));
                started++;
            }
        }
        assertThat(started).as("flows of forged clients (one hash code) started within %s; a table whose hash the "
                + "clients cannot choose starts all %d in well under a second", BUDGET, FLOWS - 1)
                .isEqualTo(FLOWS - 1);
    }
}
