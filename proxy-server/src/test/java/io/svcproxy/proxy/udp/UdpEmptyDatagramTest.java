package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Datagrams of 0 bytes, which IPVS and kube-proxy relay (SPEC: boundaries and bytes kept; some protocols use empty
 * datagrams as keep-alives or acknowledgements). From helper-122's review: an endpoint's empty answer was dropped
 * and counted nowhere, EpollFlowSocket taking Netty's {@code recv} result for it (-1) as an empty socket's (0), so
 * with {@code udpResponses: 1} its flow waited for the idle timeout. Service on 127.0.10.85, the endpoint on
 * 127.0.0.126, clients on 127.0.122.x.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpEmptyDatagramTest extends UdpProxyTestBase {
    static final String VIP = "127.0.10.85";
    static final int PORT = 41055;

    /** The sizes of the datagrams the endpoint received. */
    final List<Integer> received = new CopyOnWriteArrayList<>();

    /** Starts an endpoint on 127.0.0.126 that answers every datagram with an empty one, and svcproxy in front of it. */
    void start(Transport transport) throws Exception {
        start(transport, "");
    }

    void start(Transport transport, String portExtra) throws Exception {
        DatagramSocket endpoint = new DatagramSocket(new InetSocketAddress("127.0.0.126", 0));
        sockets.add(endpoint);
        Thread answering = new Thread(() -> {
            byte[] buffer = new byte[1500];
            while (!endpoint.isClosed()) {
                try {
                    DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                    endpoint.receive(in);
                    received.add(in.getLength());
                    endpoint.send(new DatagramPacket(new byte[0], 0, in.getSocketAddress()));
                } catch (IOException e) {
                    return;
                }
            }
        }, "empty-answers");
        answering.setDaemon(true);
        answering.start();
        server = ProxyServer.start(ConfigLoader.parse("proxy:\n  admin: off\nservices:\n  - name: dns\n"
                + "    clusterIP: " + VIP + "\n    ports: [{protocol: UDP, port: " + PORT + ", udpResponses: 1"
                + portExtra + "}]\n"
                + "    endpoints: [{ip: 127.0.0.126, port: " + endpoint.getLocalPort() + "}]\n", "test.yaml"),
                transport, 2);
    }

    DatagramSocket client(String ip) throws IOException {
        return client(ip, VIP, PORT, 2000);
    }

    @Test
    void anEndpointsEmptyAnswerIsRelayedAndEndsItsFlowAsAnyAnswer() throws Exception {
        start(Transport.EPOLL);
        DatagramSocket client = client("127.0.122.11");
        client.send(new DatagramPacket(new byte[] {'q'}, 1));
        DatagramPacket in = new DatagramPacket(new byte[100], 100);
        client.receive(in);
        assertThat(in.getLength()).isZero();
        assertThat(in.getSocketAddress()).as("the reply's source").isEqualTo(new InetSocketAddress(VIP, PORT));
        // the empty answer leaves by the socket itself, before the listener counts it: so it is waited for
        await().atMost(Duration.ofSeconds(10)).until(() -> port().udp().datagramsToClient() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.listeners().udpFlowCount() == 0);
    }

    /** Netty's NIO datagram channel takes an empty message as written and sends nothing: so it is counted. */
    @Test
    void onNioAnEndpointsEmptyAnswerIsCountedAsDropped() throws Exception {
        start(Transport.NIO);
        DatagramSocket client = client("127.0.122.13");
        client.send(new DatagramPacket(new byte[] {'q'}, 1));
        await().atMost(Duration.ofSeconds(10)).until(() -> port().udp().dropped(Drop.EMPTY) == 1);
        assertThat(received).containsExactly(1);
        assertThat(port().udp().datagramsToClient()).isZero();
    }

    /**
     * An answer svcproxy drops itself (here NIO's empty one; also {@code too_big}, a client socket not writable) was
     * still owed: the flow waited to its idle timeout and then counted its endpoint, which had answered, as failing
     * ({@code reason="timeout"}, toward outlier detection). The answer is the endpoint's, so it counts as one: the flow
     * ends on it and the endpoint is not blamed. Failed before: a failure counted at the 300 ms idle timeout.
     */
    @Test
    void anAnswerDroppedByTheProxyIsNoFailureOfTheEndpointThatSentIt() throws Exception {
        start(Transport.NIO, ", udpIdleTimeout: 300ms");
        DatagramSocket client = client("127.0.122.14");
        client.send(new DatagramPacket(new byte[] {'q'}, 1));
        await().atMost(Duration.ofSeconds(10)).until(() -> port().udp().dropped(Drop.EMPTY) == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.listeners().udpFlowCount() == 0);
        assertThat(port().backendSet().backends().get(0).counters().connectFailures())
                .as("failures of the endpoint that answered").isZero();
    }
}
