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
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link UdpRefusalSeenAtSendTest} on the NIO transport, whose flow sockets are Netty channels (helper-142's review):
 * two datagrams of one client read in one turn of the listener, the first to an endpoint that refuses. The channel
 * queued the second and wrote it at the flush, where the kernel reported the first one's ICMP port unreachable: the
 * write failed, the flow ended, and that datagram (counted as relayed) was lost instead of being scheduled again.
 * Service 127.0.10.144, endpoints 127.0.0.143 (closed: refuses) and 127.0.0.144.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpNioRefusalSeenAtSendTest {
    static final String VIP = "127.0.10.144";
    static final int PORT = 42145;

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
        if (live != null) {
            live.close();
        }
    }

    ServicePort port() {
        return server.table().servicePorts().get(0);
    }

    @Test
    void theDatagramThatMeetsTheRefusalAtTheFlushIsScheduledAgain() throws Exception {
        live = new UdpEcho("127.0.0.144", "b", false);
        UdpEcho dead = new UdpEcho("127.0.0.143", "a", false);
        int deadPort = dead.port();
        dead.close(); // its port answers ICMP port unreachable
        server = ProxyServer.start(ConfigLoader.parse("proxy:\n  admin: off\nservices:\n  - name: dns\n"
                + "    clusterIP: " + VIP + "\n    scheduler: rr\n    ports: [{protocol: UDP, port: " + PORT + "}]\n"
                + "    endpoints:\n      - {ip: 127.0.0.143, port: " + deadPort + "}\n"
                + "      - {ip: 127.0.0.144, port: " + live.port() + "}\n", "test.yaml"), Transport.NIO, 1);
        client = new DatagramSocket(new InetSocketAddress("127.0.5.142", 0));
        client.setSoTimeout(3000);
        client.connect(new InetSocketAddress(VIP, PORT));

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
        String state = "datagramsToEndpoint=" + port().udp().datagramsToEndpoint() + ", b received "
                + live.received.get() + ", answer " + answer;
        assertThat(live.received.get()).as(state).isEqualTo(1);
        assertThat(answer).as(state).isEqualTo("b:AAAA");
    }
}
