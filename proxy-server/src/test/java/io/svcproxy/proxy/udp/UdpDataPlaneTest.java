package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * UDP Service ports end to end on loopback: endpoints on 127.0.0.6x, the Service on 127.0.10.6x. Runs once per
 * transport (see the subclasses).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class UdpDataPlaneTest {
    static final String VIP = "127.0.10.60";
    static final int PORT = 10053;

    final List<UdpEcho> echoes = new ArrayList<>();
    final List<DatagramSocket> clients = new ArrayList<>();
    ProxyServer server;

    abstract Transport transport();

    @AfterEach
    void tearDown() {
        clients.forEach(DatagramSocket::close);
        if (server != null) {
            server.close();
        }
        echoes.forEach(UdpEcho::close);
    }

    UdpEcho echo(String ip, String name) throws IOException {
        UdpEcho e = new UdpEcho(ip, name, false);
        echoes.add(e);
        return e;
    }

    static String endpoints(UdpEcho... list) {
        StringBuilder yaml = new StringBuilder("    endpoints:\n");
        for (UdpEcho e : list) {
            yaml.append("      - {ip: ").append(e.ip()).append(", port: ").append(e.port()).append("}\n");
        }
        return yaml.toString();
    }

    static String service(String scheduler, String proxyExtra, String portExtra, String endpointsYaml) {
        return "proxy:\n  admin: off\n" + proxyExtra + "services:\n  - name: dns\n    clusterIP: " + VIP
                + "\n    scheduler: " + scheduler + "\n    ports: [{protocol: UDP, port: " + PORT + portExtra + "}]\n"
                + endpointsYaml;
    }

    void start(String yaml) throws Exception {
        server = ProxyServer.start(ConfigLoader.parse(yaml, "test.yaml"), transport(), 2);
    }

    ServicePort port() {
        return server.table().servicePorts().get(0);
    }

    /** A client socket connected to the Service: it accepts datagrams only from the clusterIP and port. */
    DatagramSocket client() throws IOException {
        return client("127.0.0.1");
    }

    DatagramSocket client(String ip) throws IOException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress(ip, 0));
        socket.setSoTimeout(3000);
        socket.connect(new InetSocketAddress(VIP, PORT));
        clients.add(socket);
        return socket;
    }

    static String ask(DatagramSocket socket, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length));
        DatagramPacket in = new DatagramPacket(new byte[65_535], 65_535);
        socket.receive(in);
        assertThat(in.getSocketAddress()).as("the reply's source").isEqualTo(new InetSocketAddress(VIP, PORT));
        return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
    }

    static String name(String answer) {
        return answer.substring(0, answer.indexOf(':'));
    }

    @Test
    void roundRobinGivesEachNewFlowTheNextEndpointAndRepliesComeFromTheClusterIp() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        UdpEcho c = echo("127.0.0.63", "c");
        start(service("rr", "", "", endpoints(a, b, c)));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            names.add(name(ask(client(), "q" + i)));
        }
        assertThat(names).containsExactly("a", "b", "c", "a", "b", "c");
        assertThat(port().backendSet().backends()).allSatisfy(x -> {
            assertThat(x.inactiveConnections()).as("flows of %s", x.endpoint()).isEqualTo(2);
            assertThat(x.activeConnections()).isZero();
        });
    }

    @Test
    void aFlowStaysOnItsEndpoint() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        start(service("rr", "", "", endpoints(a, b)));
        DatagramSocket client = client();
        String first = name(ask(client, "hello"));
        for (int i = 0; i < 10; i++) {
            assertThat(name(ask(client, "again " + i))).isEqualTo(first);
        }
        assertThat(port().backendSet().backends()).extracting(x -> x.counters().total())
                .containsExactlyInAnyOrder(1L, 0L);
    }

    @Test
    void boundariesAndBytesAreKeptUpToTheLargestDatagram() throws Exception {
        UdpEcho raw = new UdpEcho("127.0.0.61", "raw", true);
        echoes.add(raw);
        start(service("rr", "", "", endpoints(raw)));
        DatagramSocket client = client();
        Random random = new Random(3);
        for (int size : new int[] {1, 7, 1400, 9000, 65_507}) {
            byte[] payload = new byte[size];
            random.nextBytes(payload);
            client.send(new DatagramPacket(payload, payload.length));
            DatagramPacket in = new DatagramPacket(new byte[65_535], 65_535);
            client.receive(in);
            assertThat(java.util.Arrays.copyOf(in.getData(), in.getLength())).as("%d bytes", size)
                    .isEqualTo(payload);
        }
        assertThat(port().udp().dropped(Drop.TOO_BIG)).isZero();
        assertThat(port().bytesToEndpoint()).isEqualTo(1 + 7 + 1400 + 9000 + 65_507);
    }

    @Test
    void aBurstOfLargeAndSmallDatagramsKeepsEveryBoundary() throws Exception {
        UdpEcho raw = new UdpEcho("127.0.0.61", "raw", true);
        echoes.add(raw);
        start(service("rr", "", "", endpoints(raw)));
        DatagramSocket client = client();
        client.setReceiveBufferSize(1 << 20);
        Random random = new Random(5);
        int[] sizes = {65_507, 1, 9000, 7, 65_507, 1400, 3}; // sent back to back: read several per call on epoll
        List<String> sent = new ArrayList<>();
        for (int size : sizes) {
            byte[] payload = new byte[size];
            random.nextBytes(payload);
            sent.add(new String(payload, StandardCharsets.ISO_8859_1));
            client.send(new DatagramPacket(payload, payload.length));
        }
        List<String> received = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            DatagramPacket in = new DatagramPacket(new byte[65_535], 65_535);
            client.receive(in);
            received.add(new String(in.getData(), 0, in.getLength(), StandardCharsets.ISO_8859_1));
        }
        assertThat(received).containsExactlyElementsOf(sent);
        assertThat(port().udp().dropped(Drop.TOO_BIG)).isZero();
    }

    @Test
    void aBurstOfDatagramsArrivesInOneFlow() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "", "", endpoints(a)));
        DatagramSocket client = client();
        client.setReceiveBufferSize(1 << 20);
        int n = 200;
        for (int i = 0; i < n; i++) {
            byte[] out = ("burst-" + i).getBytes(StandardCharsets.UTF_8);
            client.send(new DatagramPacket(out, out.length));
        }
        int got = 0;
        try {
            while (got < n) {
                DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
                client.receive(in);
                got++;
            }
        } catch (SocketTimeoutException e) {
            // UDP may lose datagrams under a burst; loopback with room in the buffers does not
        }
        assertThat(got).isEqualTo(n);
        assertThat(a.received.get()).isEqualTo(n);
        assertThat(port().backendSet().backends().get(0).counters().total()).as("one flow").isEqualTo(1);
        assertThat(port().udp().datagramsToEndpoint()).isEqualTo(n);
        assertThat(port().udp().datagramsToClient()).isEqualTo(n);
    }

    @Test
    void anIdleFlowIsForgottenAndTheNextDatagramIsANewFlow() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        start(service("rr", "  udpIdleTimeout: 200ms\n", "", endpoints(a, b)));
        DatagramSocket client = client();
        assertThat(name(ask(client, "1"))).isEqualTo("a");
        assertThat(name(ask(client, "2"))).isEqualTo("a");
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 0);
        assertThat(name(ask(client, "3"))).as("a new flow: rr moves on").isEqualTo("b");
    }

    @Test
    void idleFlowsEndAndABusyFlowOutlivesTheIdleTimeout() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        start(service("rr", "  udpIdleTimeout: 1s\n", "", endpoints(a, b)));
        DatagramSocket busy = client();
        List<DatagramSocket> idle = new ArrayList<>();
        assertThat(name(ask(busy, "first"))).isEqualTo("a");
        for (int i = 0; i < 5; i++) {
            idle.add(client());
            ask(idle.get(i), "once");
        }
        assertThat(server.listeners().udpFlowCount()).isEqualTo(6);

        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3000);
        while (System.nanoTime() < until) { // three idle timeouts, a datagram every 100 ms
            assertThat(name(ask(busy, "again"))).isEqualTo("a");
            Thread.sleep(100);
        }

        assertThat(server.listeners().udpFlowCount()).as("the idle flows ended, the busy one lives").isEqualTo(1);
        assertThat(port().backendSet().backends().get(0).counters().total()).as("one flow to a: 3 flows of 6")
                .isEqualTo(3);
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 0);
        assertThat(name(ask(idle.get(0), "later"))).as("a new flow, on the next endpoint in turn").isEqualTo("a");
    }

    @Test
    void udpResponsesOneMakesEveryQueryAFlowOfItsOwn() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        UdpEcho c = echo("127.0.0.63", "c");
        start(service("rr", "", ", udpResponses: 1", endpoints(a, b, c)));
        DatagramSocket client = client();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            names.add(name(ask(client, "q" + i)));
        }
        assertThat(names).containsExactly("a", "b", "c", "a", "b", "c");
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 0);
    }

    @Test
    void udpResponsesOneAnswersEveryQueryInFlightFromOnePort() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "", ", udpResponses: 1", endpoints(a)));
        DatagramSocket client = client();
        for (int i = 0; i < 5; i++) { // five queries from one port before any answer is read
            byte[] out = ("q" + i).getBytes(StandardCharsets.UTF_8);
            client.send(new DatagramPacket(out, out.length));
        }
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
            client.receive(in);
            answers.add(new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8));
        }
        assertThat(answers).containsExactlyInAnyOrder("a:q0", "a:q1", "a:q2", "a:q3", "a:q4");
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 0);
    }

    /**
     * A reload's idle timeout reaches a running flow at its next datagram (IPVS's UDP entries take the timeout in
     * force at each packet); its {@code udpResponses} stays the one it started with (it counts that flow's answers).
     */
    @Test
    void aReloadedTimeoutReachesARunningFlowAtItsNextDatagramAndUdpResponsesOnlyNewFlows() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        start(service("rr", "  udpIdleTimeout: 60s\n", "", endpoints(a, b)));
        DatagramSocket old = client();
        assertThat(name(ask(old, "before"))).isEqualTo("a");
        server.reload(ConfigLoader.parse(service("rr", "  udpIdleTimeout: 60s\n",
                ", udpIdleTimeout: 300ms, udpResponses: 1", endpoints(a, b)), "test.yaml"));
        await().atMost(Duration.ofSeconds(5)).until(() -> port().spec().port().udpResponses() == 1);
        assertThat(name(ask(client(), "new"))).as("a new flow, with the new settings").isEqualTo("b");
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 1);

        Thread.sleep(700); // over the new idle timeout: the old flow's timer still runs on the 60 s it last had
        assertThat(name(ask(old, "after"))).isEqualTo("a");
        assertThat(name(ask(old, "again"))).isEqualTo("a");
        assertThat(server.listeners().udpFlowCount()).as("the old flow lives: no udpResponses").isEqualTo(1);
        assertThat(port().backendSet().backends().get(0).counters().total()).as("one flow to a").isEqualTo(1);
        // its datagrams gave it the 300 ms in force: it ends that long after the last one, not 60 s
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().udpFlowCount() == 0);
    }

    @Test
    void aRemovedEndpointsFlowsMoveOnTheirNextDatagramAndItLeavesTheList() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        start(service("rr", "", "", endpoints(a, b)));
        DatagramSocket client = client();
        assertThat(name(ask(client, "1"))).isEqualTo("a");
        server.reload(ConfigLoader.parse(service("rr", "", "", endpoints(b)), "test.yaml"));
        await().atMost(Duration.ofSeconds(5)).until(() -> port().backendSet().backends().size() == 1);
        assertThat(name(ask(client, "2"))).isEqualTo("b");
        assertThat(a.received.get()).isEqualTo(1);
    }

    @Test
    void aRefusingEndpointEndsItsFlowAndTheNextDatagramFindsAnother() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        start(service("rr", "", "", endpoints(a, b)));
        a.close(); // its port now answers with ICMP port unreachable
        DatagramSocket client = client();
        client.setSoTimeout(300);
        // the refusal reaches svcproxy's flow socket as an error on its next read (epoll) or send (NIO): the
        // flow ends there and the client's next datagram is a new flow; a client retries, as DNS clients do
        String answer = null;
        for (int i = 0; i < 10 && answer == null; i++) {
            try {
                answer = ask(client, "try " + i);
            } catch (SocketTimeoutException lost) {
                // the datagram went to the refusing endpoint
            }
        }
        assertThat(answer).isNotNull();
        assertThat(name(answer)).isEqualTo("b");
        assertThat(port().udp().dropped(Drop.UNREACHABLE)).isGreaterThanOrEqualTo(1);
        BackendState dead = port().backendSet().backends().get(0);
        assertThat(dead.counters().connectFailures()).isGreaterThanOrEqualTo(1);
        assertThat(dead.inactiveConnections()).as("no flow left on the refusing endpoint").isZero();
    }

    @Test
    void sourceHashingSendsEveryFlowOfOneClientAddressToOneEndpoint() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        UdpEcho c = echo("127.0.0.63", "c");
        start(service("sh", "", ", udpResponses: 1", endpoints(a, b, c)));
        for (String clientIp : new String[] {"127.0.0.65", "127.0.0.66", "127.0.0.67"}) {
            String first = name(ask(client(clientIp), "x"));
            for (int i = 0; i < 4; i++) {
                assertThat(name(ask(client(clientIp), "y" + i))).as("client %s", clientIp).isEqualTo(first);
            }
        }
    }

    @Test
    void tcpAndUdpShareThePortNumber() throws Exception {
        UdpEcho a = echo("127.0.0.61", "udp-a");
        try (ServerSocket tcp = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.61"))) {
            start("proxy: {admin: off}\nservices:\n  - name: dns\n    clusterIP: " + VIP + "\n    ports:\n"
                    + "      - {name: udp, protocol: UDP, port: " + PORT + ", targetPort: " + a.port() + "}\n"
                    + "      - {name: tcp, protocol: TCP, port: " + PORT + ", targetPort: " + tcp.getLocalPort()
                    + "}\n    endpoints: [{ip: 127.0.0.61}]\n");
            assertThat(name(ask(client(), "u"))).isEqualTo("udp-a");
            try (Socket s = new Socket(VIP, PORT)) {
                Socket accepted = tcp.accept();
                accepted.getOutputStream().write("tcp".getBytes(StandardCharsets.UTF_8));
                accepted.close();
                InputStream in = s.getInputStream();
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("tcp");
            }
        }
    }

    @Test
    void theFlowLimitDropsNewFlowsAndCountsThem() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "  maxUdpFlows: 1\n", "", endpoints(a)));
        DatagramSocket first = client();
        assertThat(name(ask(first, "1"))).isEqualTo("a");
        DatagramSocket second = client();
        byte[] out = "2".getBytes(StandardCharsets.UTF_8);
        second.send(new DatagramPacket(out, out.length));
        await().atMost(Duration.ofSeconds(5)).until(() -> port().udp().dropped(Drop.FLOW_LIMIT) == 1);
        assertThat(name(ask(first, "3"))).as("the flow that holds the place goes on").isEqualTo("a");
    }

    @Test
    void theShutdownDrainWaitsForFlowsThatTalkNotForTheIdleTimeoutOfQuietOnes() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "  drainTimeout: 20s\n", "", endpoints(a))); // udpIdleTimeout: 30 s
        DatagramSocket quiet = client();
        DatagramSocket talking = client();
        assertThat(name(ask(quiet, "once"))).isEqualTo("a");
        assertThat(name(ask(talking, "0"))).isEqualTo("a");
        long start = System.nanoTime();
        Thread shutdown = new Thread(server::shutdown, "shutdown");
        shutdown.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().listenersClosed());
        for (int i = 1; i <= 8; i++) { // 4 s, longer than the drain's quiet time: a datagram every half second
            Thread.sleep(500);
            assertThat(name(ask(talking, Integer.toString(i)))).as("a flow that talks goes on").isEqualTo("a");
        }
        shutdown.join(15_000);
        assertThat(shutdown.isAlive()).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("done once the talking flow went quiet "
                + UdpListener.DRAIN_QUIET + ", not at drainTimeout or the idle timeout")
                .isBetween(Duration.ofSeconds(4).plus(UdpListener.DRAIN_QUIET), Duration.ofSeconds(12));
    }

    @Test
    void theShutdownDrainTakesNoNewFlowAndEndsAfterDrainTimeout() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "  drainTimeout: 2s\n", "", endpoints(a)));
        DatagramSocket old = client();
        assertThat(name(ask(old, "before"))).isEqualTo("a");
        Thread shutdown = new Thread(server::shutdown, "shutdown");
        shutdown.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> server.listeners().listenersClosed());
        assertThat(name(ask(old, "during"))).as("the flow that was there goes on").isEqualTo("a");
        DatagramSocket fresh = client();
        fresh.setSoTimeout(500);
        byte[] out = "new".getBytes(StandardCharsets.UTF_8);
        fresh.send(new DatagramPacket(out, out.length));
        assertThat(receiveOrNull(fresh)).as("no new flow while draining").isNull();
        // refused because no new flow is taken, not for want of an endpoint (a was there all along)
        assertThat(port().udp().dropped(Drop.DRAINING)).as("counted as draining").isEqualTo(1);
        assertThat(port().udp().dropped(Drop.NO_ENDPOINT)).as("not as no_endpoint").isZero();
        assertThat(port().udp().dropped(Drop.FLOW_LIMIT)).as("not as flow_limit").isZero();
        shutdown.join(10_000);
        assertThat(shutdown.isAlive()).isFalse();
        old.setSoTimeout(500);
        old.send(new DatagramPacket(out, out.length));
        assertThat(receiveOrNull(old)).as("after drainTimeout").isNull();
    }

    @Test
    void datagramsThatArriveWhileTheListenerClosesStartNoFlow() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "  udpIdleTimeout: 60s\n", "", endpoints(a)));
        BackendState endpoint = port().backendSet().backends().get(0);
        List<DatagramSocket> late = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            late.add(client());
        }
        // Hold the event loops, so that the datagrams below wait in the listener's socket until its close() runs.
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        server.listeners().eventLoops().forEach(loop -> loop.execute(() -> {
            try {
                held.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        var withoutTheService = ConfigLoader.parse("proxy:\n  admin: off\n  udpIdleTimeout: 60s\nservices: []\n",
                "test.yaml");
        Thread reload = new Thread(() -> server.reload(withoutTheService), "reload");
        reload.start();
        // waiting in the listener's close() (or done, where UDP has event loops of its own: io_uring)
        await().atMost(Duration.ofSeconds(5)).until(() -> reload.getState() == Thread.State.TERMINATED
                || reload.getState() == Thread.State.WAITING && java.util.Arrays.stream(reload.getStackTrace())
                        .anyMatch(f -> f.getClassName().equals(UdpListener.class.getName())
                                && f.getMethodName().equals("close")));
        byte[] out = "late".getBytes(StandardCharsets.UTF_8);
        for (DatagramSocket socket : late) {
            socket.send(new DatagramPacket(out, out.length));
        }
        held.countDown();
        reload.join(10_000);
        assertThat(reload.isAlive()).isFalse();

        Thread.sleep(300); // what the loops would still do after the close
        assertThat(server.listeners().udpFlowCount()).as("no flow holds a maxUdpFlows place").isZero();
        assertThat(endpoint.inactiveConnections()).as("no flow holds a lease").isZero();
        assertThat(a.received.get()).as("nothing relayed after the close began").isZero();
    }

    static String receiveOrNull(DatagramSocket socket) throws IOException {
        try {
            DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
            socket.receive(in);
            return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
        } catch (SocketTimeoutException | java.net.PortUnreachableException e) {
            return null; // nothing came, or the Service's socket is closed (ICMP port unreachable)
        }
    }

    @Test
    void aTcpHealthCheckTakesAnEndpointWhoseTcpPortIsDownOutOfTheUdpRotation() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        UdpEcho b = echo("127.0.0.62", "b");
        // a also answers on TCP at its port number (as DNS servers do); b does not
        try (ServerSocket tcpA = new ServerSocket(a.port(), 50, InetAddress.getByName("127.0.0.61"))) {
            start("proxy: {admin: off}\nservices:\n  - name: dns\n    clusterIP: " + VIP + "\n"
                    + "    healthCheck: {interval: 100ms, timeout: 100ms, rise: 1, fall: 1}\n"
                    + "    ports: [{protocol: UDP, port: " + PORT + "}]\n" + endpoints(a, b));
            await().atMost(Duration.ofSeconds(10)).until(() -> port().backendSet().backends().stream()
                    .anyMatch(x -> x.state() == BackendState.State.UNHEALTHY));
            for (int i = 0; i < 4; i++) {
                assertThat(name(ask(client(), "q" + i))).as("only the endpoint that passes its check").isEqualTo("a");
            }
        }
    }

    /** Starts an rr Service port with {@code proxyProtocol: v2} whose one endpoint sends back what it got. */
    private UdpEcho startWithProxyV2() throws Exception {
        UdpEcho raw = new UdpEcho("127.0.0.61", "raw", true); // sends back what it got: header and payload
        echoes.add(raw);
        start(service("rr", "", ", proxyProtocol: v2", endpoints(raw)));
        return raw;
    }

    @Test
    void proxyProtocolV2PutsTheClientsAddressBeforeEveryDatagram() throws Exception {
        startWithProxyV2();
        DatagramSocket client = client();
        for (String text : new String[] {"first", "second"}) {
            byte[] out = text.getBytes(StandardCharsets.UTF_8);
            client.send(new DatagramPacket(out, out.length));
            DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
            client.receive(in);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(in.getData(), 0, in.getLength());
            byte[] signature = new byte[12];
            b.get(signature);
            assertThat(signature).isEqualTo(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
                    0x54, 0x0A});
            assertThat(b.get() & 0xff).as("v2 PROXY").isEqualTo(0x21);
            assertThat(b.get() & 0xff).as("AF_INET, DGRAM").isEqualTo(0x12);
            assertThat(b.getShort() & 0xffff).isEqualTo(12);
            byte[] src = new byte[4];
            byte[] dst = new byte[4];
            b.get(src);
            b.get(dst);
            assertThat(InetAddress.getByAddress(src).getHostAddress()).isEqualTo("127.0.0.1");
            assertThat(InetAddress.getByAddress(dst).getHostAddress()).isEqualTo(VIP);
            assertThat(b.getShort() & 0xffff).isEqualTo(client.getLocalPort());
            assertThat(b.getShort() & 0xffff).isEqualTo(PORT);
            byte[] rest = new byte[b.remaining()];
            b.get(rest);
            assertThat(new String(rest, StandardCharsets.UTF_8)).isEqualTo(text);
        }
    }

    @Test
    void withProxyProtocolV2AnIpv4DatagramHasTheRoomOfAnIpv4Header() throws Exception {
        UdpEcho raw = startWithProxyV2();
        DatagramSocket client = client();
        byte[] largest = new byte[65_507 - 28]; // the header of two IPv4 addresses is 28 bytes
        client.send(new DatagramPacket(largest, largest.length));
        DatagramPacket in = new DatagramPacket(new byte[65_535], 65_535);
        client.receive(in);
        assertThat(in.getLength()).as("header and payload, back from the endpoint").isEqualTo(65_507);
        byte[] tooBig = new byte[65_507 - 27];
        client.send(new DatagramPacket(tooBig, tooBig.length));
        await().atMost(Duration.ofSeconds(5)).until(() -> port().udp().dropped(Drop.TOO_BIG) == 1);
        assertThat(raw.received.get()).isEqualTo(1);
    }

    @Test
    void metricsNameUdpFlowsDatagramsAndDrops() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "", "", endpoints(a)).replace("admin: off", "admin: 127.0.0.1:0"));
        DatagramSocket client = client();
        ask(client, "1");
        ask(client, "2");
        String metrics = server.meterRegistry().scrape();
        String endpoint = "endpoint=\"127.0.0.61:" + a.port() + "\"";
        assertThat(metrics).contains("svcproxy_udp_flows_active{" + endpoint + ",port=\"" + PORT
                + "\",service=\"default/dns\"} 1.0");
        assertThat(metrics).contains("svcproxy_udp_flows_total{" + endpoint + ",port=\"" + PORT
                + "\",service=\"default/dns\"} 1.0");
        assertThat(metrics).contains("svcproxy_udp_datagrams_total{direction=\"to_endpoint\",port=\"" + PORT
                + "\",service=\"default/dns\"} 2.0");
        assertThat(metrics).contains("svcproxy_udp_datagrams_total{direction=\"to_client\",port=\"" + PORT
                + "\",service=\"default/dns\"} 2.0");
        assertThat(metrics).contains("svcproxy_udp_dropped_total{port=\"" + PORT
                + "\",reason=\"flow_limit\",service=\"default/dns\"} 0.0");
        assertThat(metrics).containsPattern("svcproxy_bytes_total\\{direction=\"to_endpoint\",port=\"" + PORT
                + "\",service=\"default/dns\"} 2\\.0");
        java.net.http.HttpResponse<String> services = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                        + server.adminAddress().getPort() + "/api/v1/services")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        com.fasterxml.jackson.databind.JsonNode port = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(services.body()).get("services").get(0);
        assertThat(port.get("protocol").asText()).isEqualTo("UDP");
        assertThat(port.get("endpoints").get(0).get("flows").asInt()).isEqualTo(1);
        assertThat(port.get("udp").get("datagramsToClient").asLong()).isEqualTo(2);
        assertThat(port.get("udp").get("dropped").get("flow_limit").asLong()).isZero();
    }
}
