package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * helper-147's review of the shutdown drain of UDP flows (0cce956, 772c765): a flow still waiting for its
 * {@code udpResponses} answer keeps its idle timeout through the drain, and one that got it goes quiet in
 * {@link UdpListener#DRAIN_QUIET}. A flow that waited when the drain began, and got its answer during it, must then go
 * quiet in those 2 s too. Its expiry stayed where the wait had put it (idle timeout past the last datagram), so the
 * flow, and the whole shutdown, were held until the drain timeout. Service on 127.0.10.148, endpoint on 127.0.0.148,
 * clients on 127.0.5.148.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class UdpDrainAnsweredFlowTest {
    static final String VIP = "127.0.10.148";
    static final int PORT = 42148;

    final List<DatagramSocket> sockets = new ArrayList<>();
    ProxyServer server;

    @AfterEach
    void tearDown() {
        sockets.forEach(DatagramSocket::close);
        if (server != null) {
            server.close();
        }
    }

    private DatagramSocket client() throws IOException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.5.148", 0));
        socket.setSoTimeout(10_000);
        socket.connect(new InetSocketAddress(VIP, PORT));
        sockets.add(socket);
        return socket;
    }

    private static void send(DatagramSocket socket, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length));
    }

    private static String receive(DatagramSocket socket) throws IOException {
        DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
        socket.receive(in);
        return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
    }

    /**
     * A resolver's lookup whose first query is lost (the endpoint drops it) is asked again from the same port
     * while the proxy shuts down, and answered: the flow owes nothing for its last query, so it goes quiet in 2 s,
     * and the shutdown ends then, long before its 60 s drain timeout (the flow's idle timeout, 120 s, further still).
     */
    @Test
    void aFlowAnsweredDuringTheDrainGoesQuietInTwoSeconds() throws Exception {
        CountDownLatch firstDropped = new CountDownLatch(1);
        DatagramSocket endpoint = new DatagramSocket(new InetSocketAddress("127.0.0.148", 0));
        sockets.add(endpoint);
        Thread answering = new Thread(() -> {
            try {
                for (int n = 0; ; n++) {
                    DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
                    endpoint.receive(in);
                    if (n == 0) {
                        firstDropped.countDown(); // lost
                        continue;
                    }
                    byte[] out = ("answer:" + new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8))
                            .getBytes(StandardCharsets.UTF_8);
                    endpoint.send(new DatagramPacket(out, out.length, in.getSocketAddress()));
                }
            } catch (IOException e) {
                // closed by the test's end
            }
        }, "dropping-endpoint");
        answering.setDaemon(true);
        answering.start();
        server = ProxyServer.start(ConfigLoader.parse("""
                proxy:
                  admin: off
                  drainTimeout: 60s
                services:
                  - name: dns
                    clusterIP: %s
                    ports: [{protocol: UDP, port: %d, udpResponses: 1, udpIdleTimeout: 120s}]
                    endpoints: [{ip: 127.0.0.148, port: %d}]
                """.formatted(VIP, PORT, endpoint.getLocalPort()), "test.yaml"), Transport.select(), 1);
        ServicePort port = server.table().servicePorts().get(0);
        DatagramSocket client = client();
        send(client, "query");
        assertThat(firstDropped.await(5, TimeUnit.SECONDS)).isTrue();

        Thread shutdown = new Thread(server::shutdown, "shutdown");
        shutdown.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().listenersClosed());
        // a new client's datagram dropped as draining: the drain reached the listener's loop before the retry
        DatagramSocket other = new DatagramSocket(new InetSocketAddress("127.0.5.148", 0));
        sockets.add(other);
        other.connect(new InetSocketAddress(VIP, PORT));
        send(other, "new");
        await().atMost(Duration.ofSeconds(5)).until(() -> port.udp().dropped(Drop.DRAINING) == 1);

        send(client, "query"); // the resolver's retry, same port
        assertThat(receive(client)).isEqualTo("answer:query");
        shutdown.join(15_000);
        assertThat(shutdown.isAlive()).as("the answered flow went quiet in 2 s, and the shutdown ended").isFalse();
    }
}
