package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendState;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * The flow table under a flood of chosen client addresses. From helper-122's review: the table was a {@code
 * HashMap<InetSocketAddress, UdpFlow>}, and {@code InetSocketAddress.hashCode()} is the address's int plus the port
 * (Inet6Address: the sum of its four words plus the port), unseeded and not Comparable, so the clients {@code
 * 127.0.0.0 + k} at port {@code 65535 - k} all shared one bin, walked whole at every get and put: 60,000 such flows
 * took 58 s of an event loop's CPU to insert, then 2.8 ms per datagram to look up. UDP sources cost nothing to
 * forge, and the UDP listeners share the worker loops with TCP relays.
 *
 * <p>No timed assertion of a speed: the work is bounded by a generous deadline (the table does it in well under a
 * second; the unseeded one needed minutes), and the test says how far it got.
 */
class FlowTableForgedClientsTest {
    static final int FLOWS = 65_536; // proxy.maxUdpFlows' default
    static final Duration BUDGET = Duration.ofSeconds(20);
    final BackendState endpoint = BackendState.of(address(new byte[] {127, 0, 0, 124}), 53, 1);

    static InetAddress address(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** 127.0.0.0 + k (loopback) at port 65535 - k: InetSocketAddress's hash code is the same for every k. */
    static InetSocketAddress collidingV4(int k) {
        int ip = (127 << 24) + k;
        byte[] bytes = {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip};
        return new InetSocketAddress(address(bytes), 65_535 - k);
    }

    /**
     * fd00::/64 addresses whose last two words always add up to the same (each byte below 128, as Inet6Address adds
     * them signed), at one port: the same hash code of the address, and so of the client, for every k.
     */
    static InetSocketAddress collidingV6(int k) {
        byte[] bytes = new byte[16];
        bytes[0] = (byte) 0xfd;
        int a = k & 0x7f;
        int b = (k >>> 7) & 0x7f;
        int c = (k >>> 14) & 0x7f;
        bytes[9] = (byte) c;
        bytes[10] = (byte) b;
        bytes[11] = (byte) a;
        bytes[13] = (byte) (127 - c);
        bytes[14] = (byte) (127 - b);
        bytes[15] = (byte) (127 - a);
        return new InetSocketAddress(address(bytes), 53_000);
    }

    @Test
    void flowsOfClientsThatChoseOneHashCodeCostNoMoreThanOthers() {
        assertThat(collidingV4(1).hashCode()).isEqualTo(collidingV4(FLOWS - 1).hashCode());
        floodAndDrain(FlowTableForgedClientsTest::collidingV4);
    }

    /** The seeded hash still takes an IPv6 address's hash code, a sum its owner can choose: the keys' order helps. */
    @Test
    void flowsOfIpv6ClientsThatChoseOneAddressHashCodeCostNoMoreThanOthers() {
        assertThat(collidingV6(1).hashCode()).isEqualTo(collidingV6(FLOWS - 1).hashCode());
        assertThat(collidingV6(1)).isNotEqualTo(collidingV6(FLOWS - 1));
        floodAndDrain(FlowTableForgedClientsTest::collidingV6);
    }

    /** Does what the listener does for each forged datagram: looks its client up, then starts its flow; then ends them. */
    private void floodAndDrain(IntFunction<InetSocketAddress> client) {
        FlowTable table = new FlowTable();
        long idle = TimeUnit.SECONDS.toNanos(30);
        long deadline = System.nanoTime() + BUDGET.toNanos();
        List<UdpFlow> started = new ArrayList<>();
        for (int k = 1; k < FLOWS && System.nanoTime() < deadline; k++) {
            InetSocketAddress from = client.apply(k);
            if (table.get(from, 0) == null && table.find(from) == null) {
                UdpFlow flow = new UdpFlow(from, endpoint, endpoint.counters().lease(), idle, 0, 0);
                table.add(flow);
                started.add(flow);
            }
        }
        assertThat(started).as("flows of forged clients (one hash code) started within %s; a table whose hash the "
                + "clients cannot choose starts all %d in well under a second", BUDGET, FLOWS - 1)
                .hasSize(FLOWS - 1);
        assertThat(table.get(client.apply(FLOWS / 2), 0)).isSameAs(started.get(FLOWS / 2 - 1));
        for (int i = 0; i < started.size() && System.nanoTime() < deadline; i++) {
            table.remove(started.get(i));
        }
        assertThat(table.size()).as("flows left after removing each within %s", BUDGET).isZero();
    }
}
