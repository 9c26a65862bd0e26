package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.Rejection;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What holds for a UDP Service port's flows as for TCP's connections, and for the datagrams of many flows at once
 * (found by a review, helper-82): the Service's connection limits, a reload of {@code proxyProtocol}, and the
 * answers of many flows that arrive in one event-loop turn. Runs once per transport; the Service on 127.0.10.81,
 * endpoints on 127.0.0.61 and 127.0.0.64.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class UdpFlowRulesTest extends UdpProxyTestBase {
    static final String VIP = "127.0.10.81";
    static final int PORT = 43053;

    abstract Transport transport();

    void start(String serviceExtra, String portExtra, String endpointIp, int endpointPort) throws Exception {
        server = ProxyServer.start(ConfigLoader.parse("proxy:\n  admin: off\nservices:\n  - name: dns\n"
                + "    clusterIP: " + VIP + "\n" + serviceExtra + "    ports: [{protocol: UDP, port: " + PORT
                + portExtra + "}]\n    endpoints: [{ip: " + endpointIp + ", port: " + endpointPort + "}]\n",
                "test.yaml"), transport(), 2);
    }

    /** An endpoint on 127.0.0.64 that sends back exactly what it got. */
    UdpEcho rawEcho() throws IOException {
        UdpEcho echo = new UdpEcho("127.0.0.64", "raw", true);
        echoes.add(echo);
        return echo;
    }

    DatagramSocket client() throws IOException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        socket.setSoTimeout(3000);
        socket.setReceiveBufferSize(1 << 20);
        socket.connect(new InetSocketAddress(VIP, PORT));
        sockets.add(socket);
        return socket;
    }

    static String ask(DatagramSocket c, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        c.send(new DatagramPacket(out, out.length));
        DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
        c.receive(in);
        return new String(in.getData(), 0, in.getLength(), StandardCharsets.ISO_8859_1);
    }

    static final String V2_SIGNATURE = "\r\n\r\n\0\r\nQUIT\n";

    @Test
    void maxConnectionsPerClientLimitsTheFlowsOfOneClientAddressAndAnEndedFlowGivesItsPlaceBack() throws Exception {
        UdpEcho echo = rawEcho();
        start("    maxConnectionsPerClient: 1\n", ", udpIdleTimeout: 1s", echo.ip(), echo.port());
        DatagramSocket first = client();
        DatagramSocket second = client();
        second.setSoTimeout(500);
        assertThat(ask(first, "q1")).isEqualTo("q1");
        byte[] q = {'q'};
        second.send(new DatagramPacket(q, 1)); // a second flow of 127.0.0.1, while the first is open: refused
        await().atMost(Duration.ofSeconds(5)).until(() ->
                port().rejectedCount(Rejection.MAX_CONNECTIONS_PER_CLIENT) == 1);
        assertThat(echo.received).as("the refused flow's datagram").hasValue(1);

        // the first flow idles out after 1 s: the client address has its place again
        await().atMost(Duration.ofSeconds(5)).until(() -> port().openConnections() == 0);
        assertThat(ask(second, "q2")).isEqualTo("q2");
    }

    @Test
    void maxConnectionsLimitsTheFlowsOfTheServicePort() throws Exception {
        UdpEcho echo = rawEcho();
        start("    maxConnections: 2\n", "", echo.ip(), echo.port());
        assertThat(ask(client(), "a")).isEqualTo("a");
        assertThat(ask(client(), "b")).isEqualTo("b");
        DatagramSocket third = client();
        third.send(new DatagramPacket(new byte[] {'c'}, 1));
        await().atMost(Duration.ofSeconds(5)).until(() -> port().rejectedCount(Rejection.MAX_CONNECTIONS) == 1);
        assertThat(port().openConnections()).isEqualTo(2);
        assertThat(echo.received).hasValue(2);
    }

    @Test
    void aReloadThatTurnsProxyProtocolOnOrOffReachesRunningFlows() throws Exception {
        UdpEcho echo = rawEcho();
        start("", "", echo.ip(), echo.port());
        DatagramSocket c = client();
        assertThat(ask(c, "before")).isEqualTo("before");
        String on = "proxy:\n  admin: off\nservices:\n  - name: dns\n    clusterIP: " + VIP + "\n"
                + "    ports: [{protocol: UDP, port: " + PORT + ", proxyProtocol: v2}]\n"
                + "    endpoints: [{ip: " + echo.ip() + ", port: " + echo.port() + "}]\n";
        server.reload(ConfigLoader.parse(on, "test.yaml"));
        await().atMost(Duration.ofSeconds(5)).until(() -> port().spec().port().proxyProtocol() != null);
        assertThat(ask(c, "on")).as("SPEC: v2 on each datagram, the running flow's too").startsWith(V2_SIGNATURE)
                .endsWith("on");
        server.reload(ConfigLoader.parse(on.replace(", proxyProtocol: v2", ""), "test.yaml"));
        await().atMost(Duration.ofSeconds(5)).until(() -> port().spec().port().proxyProtocol() == null);
        assertThat(ask(c, "off")).isEqualTo("off");
    }

    /**
     * 40 flows whose endpoint answers them at the same moment, 60,000 bytes each, read in one event-loop turn: the
     * answers pass the listener channel's 1 MiB high water mark before its flush at the end of the turn, and none
     * may be dropped while the kernel's socket has room (the same happens with ~5,000 DNS answers at once).
     */
    @Test
    void answersOfManyFlowsReadyInOneTurnAreAllRelayed() throws Exception {
        DatagramSocket endpoint = new DatagramSocket(new InetSocketAddress("127.0.0.61", 0));
        sockets.add(endpoint);
        List<SocketAddress> peers = new CopyOnWriteArrayList<>();
        Thread serve = new Thread(() -> {
            byte[] buffer = new byte[2048];
            while (!endpoint.isClosed()) {
                try {
                    DatagramPacket in = new DatagramPacket(buffer, buffer.length);
                    endpoint.receive(in);
                    peers.add(in.getSocketAddress());
                    endpoint.send(new DatagramPacket(new byte[] {'o', 'k'}, 2, in.getSocketAddress()));
                } catch (IOException e) {
                    return; // closed
                }
            }
        }, "udp-endpoint");
        serve.setDaemon(true);
        serve.start();
        start("", "", "127.0.0.61", endpoint.getLocalPort());
        int n = 40;
        List<DatagramSocket> clients = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            DatagramSocket c = client();
            assertThat(ask(c, "q")).isEqualTo("ok");
            clients.add(c);
        }
        assertThat(peers).hasSize(n);
        endpoint.setSendBufferSize(4 << 20);

        CountDownLatch release = holdLoops();
        byte[] big = new byte[60_000];
        for (SocketAddress peer : peers) { // one answer waits in each flow's socket
            endpoint.send(new DatagramPacket(big, big.length, peer));
        }
        release.countDown();

        int got = 0;
        for (DatagramSocket c : clients) {
            c.setSoTimeout(1000);
            try {
                c.receive(new DatagramPacket(new byte[65_535], 65_535));
                got++;
            } catch (SocketTimeoutException lost) {
                // dropped by svcproxy: counted below
            }
        }
        assertThat(port().udp().dropped(Drop.ERROR)).as("answers dropped as error").isZero();
        assertThat(got).as("answers that reached their clients").isEqualTo(n);
    }

    /** Holds every event loop of the data plane until the returned latch is counted down. */
    CountDownLatch holdLoops() throws InterruptedException {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch holding = new CountDownLatch(2);
        server.listeners().eventLoops().forEach(loop -> loop.execute(() -> {
            holding.countDown();
            try {
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        assertThat(holding.await(5, TimeUnit.SECONDS)).isTrue();
        return release;
    }
}
