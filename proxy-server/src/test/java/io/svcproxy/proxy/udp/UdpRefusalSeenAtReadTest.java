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
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A UDP endpoint's refusal (ICMP port unreachable) seen by the flow socket's read, as it nearly always is on epoll:
 * the client's next datagram is scheduled as a TCP connect's retry, with the refusing endpoint avoided. From
 * helper-122's review: the flow just ended, and the next datagram started a flow through the plain pick, so ClientIP
 * affinity or the sh bucket sent it straight back to the refusing endpoint (only a refusal met at a send avoided
 * it). What a refusal leaves of a client's ClientIP affinity is pinned here too (helper-152's review). Service on
 * 127.0.10.84, endpoints on 127.0.0.124-125, clients on 127.0.122.x and 127.0.152.13x.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpRefusalSeenAtReadTest extends UdpProxyTestBase {
    static final String VIP = "127.0.10.84";
    static final int PORT = 41054;

    DatagramSocket client(String ip, int timeoutMillis) throws IOException {
        return client(ip, VIP, PORT, timeoutMillis);
    }

    /** Sends {@code text}; returns the answer, or {@code null} when none came within the socket's timeout. */
    static String ask(DatagramSocket socket, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length));
        DatagramPacket in = new DatagramPacket(new byte[65_535], 65_535);
        try {
            socket.receive(in);
        } catch (SocketTimeoutException e) {
            return null;
        }
        assertThat(in.getSocketAddress()).as("the reply's source").isEqualTo(new InetSocketAddress(VIP, PORT));
        return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
    }

    /**
     * Starts the Service over a (127.0.0.124 at {@code aPort}) and b (127.0.0.125 at {@code bPort}), with outlier
     * detection at {@code consecutiveFailures} and {@code serviceExtra} added to the Service's keys.
     */
    void start(int consecutiveFailures, String serviceExtra, int aPort, int bPort) throws Exception {
        server = ProxyServer.start(ConfigLoader.parse("proxy:\n  admin: off\n  outlierDetection: {consecutiveFailures: "
                + consecutiveFailures + "}\nservices:\n  - name: dns\n    clusterIP: " + VIP + "\n" + serviceExtra
                + "    ports: [{protocol: UDP, port: " + PORT + "}]\n    endpoints:\n"
                + "      - {ip: 127.0.0.124, port: " + aPort + "}\n      - {ip: 127.0.0.125, port: " + bPort + "}\n",
                "test.yaml"), Transport.EPOLL, 2);
    }

    /**
     * The same with ClientIP affinity, a refusing (ICMP port unreachable: the port of an echo closed before the
     * start) and b answering.
     */
    void startWithClientIpAffinityAndARefusingEndpoint(int consecutiveFailures) throws Exception {
        UdpEcho dead = new UdpEcho("127.0.0.124", "a", false);
        int deadPort = dead.port();
        dead.close(); // its port answers ICMP port unreachable
        UdpEcho b = echo("127.0.0.125", "b");
        start(consecutiveFailures, "    sessionAffinity: ClientIP\n", deadPort, b.port());
    }

    /** Waits until the Service port has dropped {@code n} datagrams as unreachable. */
    void awaitUnreachableDrops(int n) {
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(port().udp().dropped(Drop.UNREACHABLE))
                .as("datagrams dropped as unreachable").isEqualTo(n));
    }

    /**
     * operations.md: "UDP: endpoint refuses (ICMP port unreachable) | ... the client's next datagram goes to another
     * endpoint"; SPEC: "A retry after a failed connect ignores affinity, and the endpoint that finally answers becomes
     * the client's new affinity". Before the fix, with {@code sessionAffinity: ClientIP} it went straight back to the
     * refusing endpoint (its weight still 1): each lost datagram a resolver's 5 s timeout, until outlier detection
     * ejected the endpoint, or with it off for the affinity timeout, 3 h.
     */
    @Test
    void theDatagramAfterARefusalIgnoresClientIpAffinityAsATcpRetryDoes() throws Exception {
        startWithClientIpAffinityAndARefusingEndpoint(0);
        DatagramSocket client = client("127.0.122.10", 1000);
        assertThat(ask(client, "1")).as("rr's first pick is the refusing endpoint").isNull();
        awaitUnreachableDrops(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 0);
        List<String> answers = new ArrayList<>();
        for (int i = 2; i <= 4; i++) {
            answers.add(ask(client, Integer.toString(i)));
        }
        assertThat(answers).as("after the refusal (unreachable drops: %d), the next datagrams",
                port().udp().dropped(Drop.UNREACHABLE)).containsExactly("b:2", "b:3", "b:4");
    }

    /**
     * The same without affinity, under {@code sh} (a client address always hashes to one bucket): the datagram after
     * a refusal walks on to the next bucket, as a TCP connect refused does (SPEC: "the scheduler is asked again with
     * the endpoints already tried treated as unavailable (for dh, sh and mh: the fallback walk, whether or not the
     * flag is set)"); before the fix the hash landed on the refusing endpoint again.
     */
    @Test
    void theDatagramAfterARefusalWalksOnUnderSourceHashingAsATcpRetryDoes() throws Exception {
        UdpEcho a = echo("127.0.0.124", "a");
        UdpEcho b = echo("127.0.0.125", "b");
        start(0, "    scheduler: sh\n", a.port(), b.port());
        String onA = null;
        for (int i = 10; i < 60 && onA == null; i++) { // bounded: about half the addresses hash to a
            String ip = "127.0.122." + i;
            if ("a:probe".equals(ask(client(ip, 2000), "probe"))) {
                onA = ip;
            }
        }
        assertThat(onA).as("a client address that sh gives to a").isNotNull();
        a.close(); // its port answers ICMP port unreachable from now on
        DatagramSocket client = client(onA, 1000); // a new flow of that address: its bucket is a's
        assertThat(ask(client, "1")).as("sent to the refusing endpoint").isNull();
        awaitUnreachableDrops(1);
        List<String> answers = new ArrayList<>();
        for (int i = 2; i <= 4; i++) {
            answers.add(ask(client, Integer.toString(i)));
        }
        assertThat(answers).as("after the refusal (unreachable drops: %d), the next datagrams",
                port().udp().dropped(Drop.UNREACHABLE)).containsExactly("b:2", "b:3", "b:4");
    }

    /**
     * A refusal leaves the client's ClientIP affinity entry as it is, as IPVS keeps a persistence template when a
     * real server refuses (ICMP port unreachable ends no template; kube-proxy's iptables affinity alike): a flow from
     * another port of that address still goes to the refusing endpoint (and is counted again). Only the refused
     * flow's own next datagram is the retry (SPEC: "A retry after a failed connect ignores affinity, and the endpoint
     * that finally answers becomes the client's new affinity"), and from then on every flow of the address goes to
     * the new endpoint. With glibc's resolver, whose retries of one lookup come from the one socket, a single retry
     * moves the client.
     */
    @Test
    void aRefusalKeepsTheClientsAffinityUntilTheRefusedFlowsRetryMovesIt() throws Exception {
        startWithClientIpAffinityAndARefusingEndpoint(0);
        DatagramSocket first = client("127.0.152.130", 1000);
        assertThat(ask(first, "1")).as("rr's first pick, the client's affinity: the refusing endpoint").isNull();
        awaitUnreachableDrops(1);

        DatagramSocket second = client("127.0.152.130", 1000);
        assertThat(ask(second, "2")).as("another port of the address: its affinity still names the refusing endpoint")
                .isNull();
        awaitUnreachableDrops(2);
        assertThat(port().backendSet().affinityEntries()).isEqualTo(1);

        assertThat(ask(first, "3")).as("the refused flow's next datagram: the retry").isEqualTo("b:3");
        assertThat(ask(client("127.0.152.130", 1000), "4")).as("a new port of the address: affinity moved")
                .isEqualTo("b:4");
        assertThat(port().udp().dropped(Drop.UNREACHABLE)).isEqualTo(2);
    }

    /**
     * Unless the refusing endpoint is taken out: with outlier detection on, the refusals count as its failed connects,
     * and once it is ejected a client's affinity to it no longer holds (as IPVS expires the template of a quiesced
     * real server, expire_quiescent_template, which kube-proxy sets): the next flow from any port is scheduled anew.
     */
    @Test
    void aClientsAffinityToAnEndpointEjectedForItsRefusalsNoLongerHolds() throws Exception {
        startWithClientIpAffinityAndARefusingEndpoint(2);
        assertThat(ask(client("127.0.152.131", 1000), "1")).isNull();
        awaitUnreachableDrops(1);
        assertThat(ask(client("127.0.152.131", 1000), "2")).as("affinity kept after one refusal").isNull();
        await("ejected at the second refusal").atMost(Duration.ofSeconds(5)).until(() -> port().backendSet()
                .backends().stream().anyMatch(e -> e.address().getHostAddress().equals("127.0.0.124")
                        && !e.inService()));
        assertThat(ask(client("127.0.152.131", 1000), "3")).as("a new port after the ejection").isEqualTo("b:3");
    }
}
