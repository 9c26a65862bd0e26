package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What becomes of running UDP flows when the endpoint list changes while every endpoint is out of service (panic
 * mode), and when the proxy shuts down while a flow still waits for its {@code udpResponses} answer (helper-142's
 * review). Service on 127.0.10.143, endpoints on 127.0.0.143-144, clients on 127.0.5.142.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpFlowLifecycleEdgesTest extends UdpProxyTestBase {
    static final String VIP = "127.0.10.143";
    static final int PORT = 42143;

    DatagramSocket client() throws IOException {
        return client("127.0.5.142", VIP, PORT, 3000);
    }

    static String ask(DatagramSocket socket, String text) throws IOException {
        send(socket, text);
        return receive(socket);
    }

    static void send(DatagramSocket socket, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length));
    }

    static String receive(DatagramSocket socket) throws IOException {
        DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
        socket.receive(in);
        return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
    }

    static String name(String answer) {
        return answer.substring(0, answer.indexOf(':'));
    }

    static String config(String serviceExtra, String portExtra, String endpoints) {
        return "proxy:\n  admin: off\n  drainTimeout: 20s\nservices:\n  - name: dns\n    clusterIP: " + VIP + "\n"
                + "    scheduler: rr\n" + serviceExtra + "    ports: [{protocol: UDP, port: " + PORT + portExtra
                + "}]\n    endpoints:\n" + endpoints;
    }

    /**
     * Every endpoint fails its (TCP) checks, so all keep their weights (panic mode, docs/operations.md) and flows
     * are still given to them. A reload that changes one endpoint's weight, with all still unhealthy, leaves every
     * endpoint in the list with a weight above 0: a running flow must stay on its endpoint (SPEC: a flow is
     * scheduled again only when its endpoint leaves the list, is not ready or has weight 0). It was ended at its
     * next datagram (the flow check asked {@code inService()}, false for every endpoint in panic mode) and that
     * datagram went to the next endpoint of the rr cycle.
     */
    @Test
    void aFlowStaysOnItsEndpointWhenTheListChangesInPanicMode() throws Exception {
        UdpEcho a = echo("127.0.0.143", "a");
        UdpEcho b = echo("127.0.0.144", "b");
        String check = "    healthCheck: {interval: 100ms, timeout: 100ms, rise: 1, fall: 1}\n";
        // neither endpoint listens on TCP: both fail their checks
        String before = "      - {ip: 127.0.0.143, port: " + a.port() + "}\n"
                + "      - {ip: 127.0.0.144, port: " + b.port() + "}\n";
        server = ProxyServer.start(ConfigLoader.parse(config(check, "", before), "test.yaml"), Transport.EPOLL, 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> port().backendSet().backends().stream()
                .allMatch(x -> x.state() == BackendState.State.UNHEALTHY && x.weight() > 0));
        DatagramSocket client = client();
        String first = name(ask(client, "1"));

        String after = "      - {ip: 127.0.0.143, port: " + a.port() + "}\n"
                + "      - {ip: 127.0.0.144, port: " + b.port() + ", weight: 2}\n";
        server.reload(ConfigLoader.parse(config(check, "", after), "test.yaml"));
        await().atMost(Duration.ofSeconds(5)).until(() -> port().backendSet().backends().get(1).weight() == 2);
        assertThat(port().backendSet().backends()).as("panic mode: every endpoint keeps a weight")
                .allMatch(x -> x.weight() > 0 && x.state() == BackendState.State.UNHEALTHY);

        assertThat(name(ask(client, "2"))).as("the flow stays on its endpoint").isEqualTo(first);
        assertThat(port().backendSet().backends()).extracting(x -> x.counters().total()).as("one flow in all")
                .containsExactlyInAnyOrder(1L, 0L);
    }

    /**
     * On SIGTERM a flow quiet for {@link UdpListener#DRAIN_QUIET} counts as ended, because UDP says nothing of a
     * flow's end. A flow with {@code udpResponses} does say: while its endpoint still owes it an answer it is not
     * over, and a lookup whose answer takes longer than 2 s (an upstream resolver's retry) must still be answered
     * within {@code drainTimeout}, as nginx's graceful shutdown waits for its {@code proxy_responses} sessions.
     * The flow was ended at 2 s quiet, its socket closed, and the answer lost.
     */
    @Test
    void theShutdownDrainKeepsAFlowThatStillWaitsForItsAnswer() throws Exception {
        CountDownLatch asked = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        DatagramSocket slow = new DatagramSocket(new InetSocketAddress("127.0.0.143", 0));
        sockets.add(slow);
        Thread endpoint = new Thread(() -> {
            try {
                DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
                slow.receive(in);
                asked.countDown();
                answer.await(30, TimeUnit.SECONDS);
                byte[] out = "slow:late".getBytes(StandardCharsets.UTF_8);
                slow.send(new DatagramPacket(out, out.length, in.getSocketAddress()));
            } catch (IOException | InterruptedException e) {
                // closed by the test's end
            }
        }, "slow-endpoint");
        endpoint.setDaemon(true);
        endpoint.start();
        server = ProxyServer.start(ConfigLoader.parse(config("", ", udpResponses: 1",
                "      - {ip: 127.0.0.143, port: " + slow.getLocalPort() + "}\n"), "test.yaml"), Transport.EPOLL, 2);
        DatagramSocket client = client();
        client.setSoTimeout(10_000);
        send(client, "lookup");
        assertThat(asked.await(5, TimeUnit.SECONDS)).isTrue();

        Thread shutdown = new Thread(server::shutdown, "shutdown");
        shutdown.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().listenersClosed());
        Thread.sleep(UdpListener.DRAIN_QUIET.toMillis() + 1000); // the answer takes longer than the quiet time
        answer.countDown();
        assertThat(receive(client)).as("the answer owed to the flow, within drainTimeout").isEqualTo("slow:late");
        shutdown.join(15_000);
        assertThat(shutdown.isAlive()).as("done once the flow got its answer").isFalse();
    }
}
