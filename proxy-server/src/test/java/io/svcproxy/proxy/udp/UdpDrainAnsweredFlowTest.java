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
class UdpDrainAnsweredFlowTest extends UdpProxyTestBase {
    static final String VIP = "127.0.10.148";
    static final int PORT = 42148;

    private DatagramSocket client() throws IOException {
        return client("127.0.5.148", VIP, PORT, 10_000);
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
     * after the resolver's timeout, while the proxy shuts down, and answered: the flow owes nothing for its last query, so it goes quiet in 2 s,
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
        long asked = System.nanoTime();
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

        // the resolver's retry, same port, after its own timeout (glibc's: 5 s; here just past the 2 s within which
        // two queries count as in flight together)
        long retryAt = asked + UdpListener.DRAIN_QUIET.toNanos() + TimeUnit.MILLISECONDS.toNanos(100);
        TimeUnit.NANOSECONDS.sleep(Math.max(0, retryAt - System.nanoTime()));
        send(client, "query");
        assertThat(receive(client)).isEqualTo("answer:query");
        shutdown.join(15_000);
        assertThat(shutdown.isAlive()).as("the answered flow went quiet in 2 s, and the shutdown ended").isFalse();
    }

    /**
     * A resolver asks for A and AAAA at once from one socket (glibc does by default): during the drain the A answer
     * comes at once, the AAAA one 3 s later (past {@link UdpListener#DRAIN_QUIET}); the flow still owes that answer for
     * a query in flight and must get it within the drain timeout, as the flow waiting for its only answer does
     * ({@code UdpFlowLifecycleEdgesTest}). Failed before (helper-147): the flow counted as waiting only while the
     * client's datagram was the last either way, so the first answer ended the wait and the second was lost at 2 s
     * quiet. The flow now waits for the answers to the client's latest burst of datagrams (each within 2 s of the one
     * before); what was owed before a burst is taken as lost ({@code FlowTableTest}).
     */
    @Test
    void aFlowWithTwoQueriesInFlightGetsTheSlowSecondAnswerDuringTheDrain() throws Exception {
        CountDownLatch bothAsked = new CountDownLatch(2);
        CountDownLatch answer = new CountDownLatch(1);
        DatagramSocket endpoint = new DatagramSocket(new InetSocketAddress("127.0.0.148", 0));
        sockets.add(endpoint);
        Thread answering = new Thread(() -> {
            try {
                List<DatagramPacket> asked = new ArrayList<>();
                for (int n = 0; n < 2; n++) {
                    DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
                    endpoint.receive(in);
                    asked.add(in);
                    bothAsked.countDown();
                }
                answer.await(30, TimeUnit.SECONDS);
                for (int n = 0; n < 2; n++) {
                    DatagramPacket in = asked.get(n);
                    byte[] out = ("answer:" + new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8))
                            .getBytes(StandardCharsets.UTF_8);
                    endpoint.send(new DatagramPacket(out, out.length, in.getSocketAddress()));
                    if (n == 0) {
                        Thread.sleep(UdpListener.DRAIN_QUIET.toMillis() + 1000); // the AAAA upstream is slow
                    }
                }
            } catch (IOException | InterruptedException e) {
                // closed by the test's end
            }
        }, "two-answers-endpoint");
        answering.setDaemon(true);
        answering.start();
        server = ProxyServer.start(ConfigLoader.parse("""
                proxy:
                  admin: off
                  drainTimeout: 30s
                services:
                  - name: dns
                    clusterIP: %s
                    ports: [{protocol: UDP, port: %d, udpResponses: 1}]
                    endpoints: [{ip: 127.0.0.148, port: %d}]
                """.formatted(VIP, PORT, endpoint.getLocalPort()), "test.yaml"), Transport.select(), 1);
        DatagramSocket client = client();
        send(client, "A");
        send(client, "AAAA");
        assertThat(bothAsked.await(5, TimeUnit.SECONDS)).isTrue();

        Thread shutdown = new Thread(server::shutdown, "shutdown");
        shutdown.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().listenersClosed());
        answer.countDown();
        assertThat(receive(client)).isEqualTo("answer:A");
        assertThat(receive(client)).as("the second answer owed, within drainTimeout").isEqualTo("answer:AAAA");
        shutdown.join(15_000);
        assertThat(shutdown.isAlive()).isFalse();
    }
}
