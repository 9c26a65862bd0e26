package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-105's review. SPEC, "A flow whose endpoint ... refuses (ICMP port unreachable) is scheduled again on its next
 * datagram"; docs/operations.md: "the client's next datagram goes to another endpoint". When the refusal is seen by
 * the flow socket's send() (ECONNREFUSED: the kernel reports the ICMP error pending on a connected socket to the next
 * send) rather than by its read, the datagram being sent is dropped as unreachable instead of starting a new flow:
 * UdpListener.fromClient returns on Sent.FAILED. That happens whenever a client's datagrams are read in one turn of
 * the listener (recvmmsg, or the read loop) - a resolver's A and AAAA queries sent back to back from one socket.
 * On epoll and NIO. Service 127.0.10.212, endpoints 127.0.0.212 (closed: refuses) and 127.0.0.213.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpRefusalSeenAtSendTest {
    static final String VIP = "127.0.10.212";
    static final int PORT = 43212;

    ProxyServer server;
    UdpEcho live;
    DatagramSocket client;

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        live.close();
    }

    ServicePort port() {
        return server.table().servicePorts().get(0);
    }

    /**
     * One round: a fresh proxy (rr gives the first flow to the refusing endpoint, first in the list), both datagrams
     * read in one turn of the listener. Returns whether the refusal was met at the second datagram's send (then that
     * datagram must reach b); {@code false} when the kernel reported the ICMP error only after both sends (its softirq
     * deferred under load: both went to the refusing endpoint, nothing to schedule again).
     */
    private boolean round(Transport transport, int dead) throws Exception {
        server = ProxyServer.start(ConfigLoader.parse("proxy:\n  admin: off\nservices:\n  - name: dns\n"
                + "    clusterIP: " + VIP + "\n    scheduler: rr\n    ports: [{protocol: UDP, port: " + PORT + "}]\n"
                + "    endpoints:\n      - {ip: 127.0.0.212, port: " + dead + "}\n"
                + "      - {ip: 127.0.0.213, port: " + live.port() + "}\n", "test.yaml"), transport, 1);
        client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        client.setSoTimeout(2000);
        client.connect(new InetSocketAddress(VIP, PORT));
        int before = live.received.get();

        // hold the one event loop so that both datagrams are read in the same turn of the listener
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch holding = new CountDownLatch(1);
        server.listeners().eventLoops().next().execute(() -> {
            holding.countDown();
            try {
                held.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(holding.await(5, TimeUnit.SECONDS)).isTrue();
        for (String q : new String[] {"A", "AAAA"}) {
            byte[] out = q.getBytes(StandardCharsets.UTF_8);
            client.send(new DatagramPacket(out, out.length));
        }
        held.countDown();

        String answer = UdpDataPlaneTest.receiveOrNull(client);
        await().atMost(Duration.ofSeconds(10)).until(() -> port().udp().dropped(Drop.UNREACHABLE) == 1);
        long sent = port().udp().datagramsToEndpoint();
        String state = "datagramsToEndpoint=" + sent + " dropped unreachable=" + port().udp().dropped(Drop.UNREACHABLE)
                + ", b received " + (live.received.get() - before) + ", answer " + answer;
        // the refusal met at a send drops nothing: before the fix the second datagram was lost there (sent once)
        assertThat(sent).as(state).isEqualTo(2);
        boolean metAtSend = live.received.get() - before == 1;
        if (metAtSend) {
            assertThat(answer).as(state).isEqualTo("b:AAAA");
        }
        client.close();
        server.close();
        return metAtSend;
    }

    /**
     * On NIO the flow sockets are Netty channels (helper-142's review): the channel queued the second datagram and
     * wrote it at the flush, where the kernel reported the first one's ICMP port unreachable; the write failed, the
     * flow ended, and that datagram (counted as relayed) was lost instead of being scheduled again. Each datagram is
     * written at its send now, as on epoll.
     */
    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "NIO"})
    void theDatagramThatMeetsTheRefusalAtSendIsScheduledAgain(Transport transport) throws Exception {
        live = new UdpEcho("127.0.0.213", "b", false);
        int met = 0;
        for (int i = 0; i < 5 && met < 2; i++) { // bounded; on a quiet machine the first rounds meet it at the send
            UdpEcho dead = new UdpEcho("127.0.0.212", "a", false);
            int port = dead.port();
            dead.close(); // its port answers ICMP port unreachable
            met += round(transport, port) ? 1 : 0;
        }
        assertThat(met).as("rounds in which the kernel reported the refusal at the second datagram's send")
                .isPositive();
    }
}
