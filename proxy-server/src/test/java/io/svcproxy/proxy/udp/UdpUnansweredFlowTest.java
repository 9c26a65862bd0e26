package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.metrics.PrometheusText;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An endpoint that takes a UDP port's datagrams and never answers (a black-holed DNS server: no ICMP comes back, so
 * nothing is refused). With {@code udpResponses} set each flow owes answers, and a flow that ends at its idle timeout
 * still owing them failed its endpoint, as nginx's stream module counts "upstream timed out" of a UDP session with
 * {@code proxy_responses} as a failure of that upstream ({@code max_fails}). From helper-152's review: it was counted
 * nowhere, so passive outlier detection never ejected such an endpoint, and every few flows one was lost to it.
 * Service 127.0.152.1, endpoints 127.0.152.11-12, clients 127.0.152.10x.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpUnansweredFlowTest extends UdpProxyTestBase {
    static final String VIP = "127.0.152.1";
    static final int PORT = 41152;
    static final Duration WITHIN = Duration.ofSeconds(5);

    /** The endpoint that never answers (127.0.152.11), bound by {@link #start}. */
    DatagramSocket hole;

    /** Binds a socket that takes datagrams and never reads nor answers them; closed after the test. */
    DatagramSocket blackHole(String ip) throws IOException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress(ip, 0));
        sockets.add(socket);
        return socket;
    }

    /**
     * Starts the Service (rr, {@code udpIdleTimeout: 300ms} and {@code portExtra} on its port) over a black hole on
     * 127.0.152.11 and an echo on 127.0.152.12, with outlier detection at {@code consecutiveFailures}.
     */
    void start(String portExtra, int consecutiveFailures) throws Exception {
        hole = blackHole("127.0.152.11");
        UdpEcho b = echo("127.0.152.12", "b");
        server = ProxyServer.start(ConfigLoader.parse("proxy:\n  admin: 127.0.0.1:0\n"
                + "  outlierDetection: {consecutiveFailures: " + consecutiveFailures + "}\nservices:\n"
                + "  - name: dns\n    clusterIP: " + VIP + "\n    scheduler: rr\n"
                + "    ports: [{protocol: UDP, port: " + PORT + ", udpIdleTimeout: 300ms" + portExtra + "}]\n"
                + "    endpoints:\n      - {ip: 127.0.152.11, port: " + hole.getLocalPort() + "}\n"
                + "      - {ip: 127.0.152.12, port: " + b.port() + "}\n", "test.yaml"), Transport.select(), 2);
    }

    /** Asks from a new client socket (a new flow, as a resolver's each query): the answer, or {@code null}. */
    String askOnce(String text) throws IOException {
        DatagramSocket socket = client("127.0.152.101", VIP, PORT, 1000);
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length));
        DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
        try {
            socket.receive(in);
            return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
        } catch (SocketTimeoutException e) {
            return null;
        } finally {
            socket.close();
        }
    }

    /** Asks from new clients until one is not answered (its flow went to the black hole); bounded. */
    void askUntilOneIsLost() throws IOException {
        for (int i = 0; i < 6; i++) {
            if (askOnce("q" + i) == null) {
                return;
            }
        }
        throw new AssertionError("rr gave no flow to the endpoint that never answers");
    }

    ConnectionCounters counters(String ip) {
        for (BackendState b : port().backendSet().backends()) {
            if (b.address().getHostAddress().equals(ip)) {
                return b.counters();
            }
        }
        throw new AssertionError(ip + " not listed: " + port().backendSet().backends());
    }

    /**
     * Each flow that went to the black hole ends at its 300 ms idle timeout owing its answer: one failed connect of
     * that endpoint, {@code svcproxy_connect_failures_total{reason="timeout"}} (nginx's "upstream timed out (110)");
     * at {@code consecutiveFailures} (2) in a row the endpoint is ejected and every new flow is answered. Failed
     * before: the endpoint's failures stayed 0 and it was never ejected.
     */
    @Test
    void aFlowThatEndsOwingAnswersCountsAsAFailureOfItsEndpointAndEjectsIt() throws Exception {
        start(", udpResponses: 1", 2);
        ConnectionCounters silent = counters("127.0.152.11");

        askUntilOneIsLost();
        await("the unanswered flow counted as a failure of its endpoint at its idle timeout").atMost(WITHIN)
                .untilAsserted(() -> assertThat(silent.connectFailures()).isEqualTo(1));
        PrometheusText metrics = PrometheusText.parse(server.meterRegistry().scrape());
        assertThat(metrics.value("svcproxy_connect_failures_total", "service", "default/dns", "endpoint",
                "127.0.152.11:" + hole.getLocalPort(), "reason", "timeout")).isEqualTo(1.0);
        assertThat(counters("127.0.152.12").connectFailures()).as("the endpoint that answered").isZero();

        askUntilOneIsLost();
        await("ejected at the second unanswered flow in a row").atMost(WITHIN)
                .untilAsserted(() -> assertThat(silent.health().ejected()).isTrue());
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            answers.add(askOnce("after" + i));
        }
        assertThat(answers).containsExactly("b:after0", "b:after1", "b:after2", "b:after3");
    }

    /**
     * Without {@code udpResponses} nothing is owed (SPEC: a flow is forgotten after its idle timeout): a flow that
     * idles out unanswered says nothing of its endpoint, as nginx ends such a session cleanly ("udp timed out").
     */
    @Test
    void withoutUdpResponsesAnUnansweredFlowIsNoFailure() throws Exception {
        start("", 1);
        ConnectionCounters silent = counters("127.0.152.11");

        askUntilOneIsLost();
        await("the unanswered flow idled out").atMost(WITHIN)
                .until(() -> server.listeners().udpFlowCount() == 0);
        assertThat(silent.connectFailures()).isZero();
        assertThat(silent.health().ejected()).isFalse();
    }
}
