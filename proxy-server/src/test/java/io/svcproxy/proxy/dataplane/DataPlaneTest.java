package io.svcproxy.proxy.dataplane;

import static io.svcproxy.proxy.dataplane.ProxyFixture.endpoints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The data plane end to end on real loopback sockets: backends on 127.0.0.x, the Service on 127.0.10.2.
 * Runs once per transport (see the subclasses).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class DataPlaneTest {
    static final String VIP = "127.0.10.2";
    static final int PORT = 18080;

    ProxyFixture fixture;

    abstract Transport transport();

    @BeforeEach
    void setUp() {
        fixture = new ProxyFixture(transport());
    }

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    static String service(String scheduler, String proxyExtra, String endpointsYaml) {
        return "proxy:\n  admin: off\n" + proxyExtra
                + "services:\n"
                + "  - name: web\n"
                + "    clusterIP: " + VIP + "\n"
                + "    scheduler: " + scheduler + "\n"
                + "    ports: [{port: " + PORT + "}]\n"
                + endpointsYaml;
    }

    static String readName() throws IOException {
        try (Socket s = Net.connect(VIP, PORT)) {
            return Net.readAllText(s).trim();
        }
    }

    ServicePort servicePort() {
        return fixture.server().table().servicePorts().get(0);
    }

    @Test
    void roundRobinRotatesAcrossEndpoints() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.NAME);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.NAME);
        TestBackend c = fixture.backend("127.0.0.13", "c", Mode.NAME);
        fixture.proxy(service("rr", "", endpoints(c, a, b)));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            names.add(readName());
        }
        assertThat(names).containsExactly("a", "b", "c", "a", "b", "c", "a");
    }

    @Test
    void aListenerAcceptsOnOneOfTheEventLoopsThatServeItsConnectionsNoAcceptThread() throws Exception {
        // as HAProxy's threads accept: a thread of its own for accept, woken per connection, cost ~5% more CPU per
        // new connection (docs/performance.md "TCP new connections, round 11")
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.NAME);
        fixture.proxy(service("rr", "", endpoints(a)));
        ListenerManager listeners = fixture.server().listeners();
        io.netty.channel.Channel listener = listeners.listenerChannel(servicePort().key());
        List<io.netty.util.concurrent.EventExecutor> loops = new ArrayList<>();
        listeners.eventLoops().forEach(loops::add);
        assertThat(loops).contains(listener.eventLoop());
        assertThat(readName()).isEqualTo("a");
        assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
                .noneMatch(name -> name.startsWith("svcproxy-accept"));
    }

    @Test
    void weightedRoundRobinFollowsTheKernelSequence() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "A", Mode.NAME);
        TestBackend b = fixture.backend("127.0.0.12", "B", Mode.NAME);
        TestBackend c = fixture.backend("127.0.0.13", "C", Mode.NAME);
        String eps = "    endpoints:\n"
                + "      - {ip: 127.0.0.11, port: " + a.address().getPort() + ", weight: 4}\n"
                + "      - {ip: 127.0.0.12, port: " + b.address().getPort() + ", weight: 3}\n"
                + "      - {ip: 127.0.0.13, port: " + c.address().getPort() + ", weight: 2}\n";
        fixture.proxy(service("wrr", "", eps));
        StringBuilder seq = new StringBuilder();
        for (int i = 0; i < 18; i++) {
            seq.append(readName());
        }
        assertThat(seq.toString()).isEqualTo("AABABCABC" + "AABABCABC");
    }

    /** Opens a held connection through the proxy and returns it with the backend that accepted it. */
    private HeldConnection hold(TestBackend... backends) throws Exception {
        int[] before = new int[backends.length];
        for (int i = 0; i < backends.length; i++) {
            before[i] = backends[i].acceptedConnections();
        }
        Socket socket = Net.connect(VIP, PORT);
        Net.write(socket, "x");
        assertThat(Net.readExactly(socket, 1)).isEqualTo(new byte[] {'x'}); // established end to end
        for (int i = 0; i < backends.length; i++) {
            if (backends[i].acceptedConnections() != before[i]) {
                return new HeldConnection(socket, backends[i]);
            }
        }
        throw new AssertionError("no backend accepted the connection");
    }

    record HeldConnection(Socket socket, TestBackend backend) {
    }

    @Test
    void leastConnectionPicksTheEndpointWithFewestOpenConnections() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.ECHO);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.ECHO);
        TestBackend c = fixture.backend("127.0.0.13", "c", Mode.ECHO);
        fixture.proxy(service("lc", "", endpoints(a, b, c)));
        HeldConnection first = hold(a, b, c);
        HeldConnection second = hold(a, b, c);
        HeldConnection third = hold(a, b, c);
        assertThat(List.of(first.backend(), second.backend(), third.backend())).containsExactly(a, b, c);
        second.socket().close();
        await().atMost(Duration.ofSeconds(5)).until(() -> backendState("127.0.0.12").activeConnections() == 0
                && backendState("127.0.0.12").inactiveConnections() == 0);
        assertThat(hold(a, b, c).backend()).isSameAs(b);
        assertThat(hold(a, b, c).backend()).isSameAs(a);
    }

    @Test
    void shortestExpectedDelayWeighsActiveConnections() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.ECHO);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.ECHO);
        String eps = "    endpoints:\n"
                + "      - {ip: 127.0.0.11, port: " + a.address().getPort() + ", weight: 1}\n"
                + "      - {ip: 127.0.0.12, port: " + b.address().getPort() + ", weight: 3}\n";
        fixture.proxy(service("sed", "", eps));
        // costs (active+1)/weight: a 1/1 vs b 1/3 -> b; a 1 vs b 2/3 -> b; a 1 vs b 3/3 -> tie, first (a)
        assertThat(hold(a, b).backend()).isSameAs(b);
        assertThat(hold(a, b).backend()).isSameAs(b);
        assertThat(hold(a, b).backend()).isSameAs(a);
        // a 2/1 vs b 3/3 -> b
        assertThat(hold(a, b).backend()).isSameAs(b);
    }

    @Test
    void neverQueuePrefersAnIdleEndpoint() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.ECHO);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.ECHO);
        String eps = "    endpoints:\n"
                + "      - {ip: 127.0.0.11, port: " + a.address().getPort() + ", weight: 1}\n"
                + "      - {ip: 127.0.0.12, port: " + b.address().getPort() + ", weight: 3}\n";
        fixture.proxy(service("nq", "", eps));
        assertThat(hold(a, b).backend()).isSameAs(a); // idle, first
        assertThat(hold(a, b).backend()).isSameAs(b); // idle
        assertThat(hold(a, b).backend()).isSameAs(b); // sed: a 2/1 vs b 2/3
    }

    @Test
    void weightedLeastConnectionDividesByWeight() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.ECHO);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.ECHO);
        String eps = "    endpoints:\n"
                + "      - {ip: 127.0.0.11, port: " + a.address().getPort() + ", weight: 1}\n"
                + "      - {ip: 127.0.0.12, port: " + b.address().getPort() + ", weight: 2}\n";
        fixture.proxy(service("wlc", "", eps));
        assertThat(hold(a, b).backend()).isSameAs(a); // 0 vs 0: first
        assertThat(hold(a, b).backend()).isSameAs(b); // 256/1 vs 0/2
        assertThat(hold(a, b).backend()).isSameAs(b); // 256/1 vs 256/2
        assertThat(hold(a, b).backend()).isSameAs(a); // 256/1 vs 512/2: tie, first
    }

    @Test
    void randomSpreadsConnectionsAsIptablesModeAndNeverPicksWeightZero() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.NAME);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.NAME);
        TestBackend c = fixture.backend("127.0.0.13", "c", Mode.NAME);
        String eps = "    endpoints:\n"
                + "      - {ip: 127.0.0.11, port: " + a.address().getPort() + "}\n"
                + "      - {ip: 127.0.0.12, port: " + b.address().getPort() + "}\n"
                + "      - {ip: 127.0.0.13, port: " + c.address().getPort() + ", weight: 0}\n";
        fixture.proxy(service("random", "", eps));
        java.util.Map<String, Integer> counts = new java.util.HashMap<>();
        for (int i = 0; i < 60; i++) {
            counts.merge(readName(), 1, Integer::sum);
        }
        // each of a and b takes about half; fewer than 10 of 60 has a probability below 1e-7
        assertThat(counts).doesNotContainKey("c").containsOnlyKeys("a", "b");
        assertThat(counts.get("a")).isBetween(10, 50);
    }

    @Test
    void sourceHashingSendsOneClientToOneEndpoint() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.NAME);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.NAME);
        TestBackend c = fixture.backend("127.0.0.13", "c", Mode.NAME);
        fixture.proxy(service("sh", "", endpoints(a, b, c)));
        String first = readName();
        for (int i = 0; i < 5; i++) {
            assertThat(readName()).isEqualTo(first);
        }
    }

    static String readNameFrom(String clientIp) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(5000);
            s.bind(new InetSocketAddress(clientIp, 0));
            s.connect(new InetSocketAddress(VIP, PORT), 5000);
            return Net.readAllText(s).trim();
        }
    }

    @Test
    void clientIpAffinityKeepsEachClientOnItsEndpointWithoutAdvancingTheScheduler() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.NAME);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.NAME);
        TestBackend c = fixture.backend("127.0.0.13", "c", Mode.NAME);
        String yaml = service("rr", "", endpoints(a, b, c)).replace("    scheduler: rr\n",
                "    scheduler: rr\n    sessionAffinity: ClientIP\n    sessionAffinityTimeout: 1h\n");
        fixture.proxy(yaml);
        assertThat(readNameFrom("127.0.0.51")).isEqualTo("a");
        assertThat(readNameFrom("127.0.0.52")).isEqualTo("b");
        for (int i = 0; i < 3; i++) {
            assertThat(readNameFrom("127.0.0.51")).isEqualTo("a");
            assertThat(readNameFrom("127.0.0.52")).isEqualTo("b");
        }
        assertThat(readNameFrom("127.0.0.53")).isEqualTo("c"); // sticky picks did not move rr
    }

    @Test
    void sourceHashingSpreadsClientsByAddressAsTheKernelTableSays() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.NAME);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.NAME);
        fixture.proxy(service("sh", "", endpoints(a, b)));
        // table: bucket i -> [a, b][i % 2]; bucket = hash_32(ip, 8) = (ip * 0x61C88647 mod 2^32) >>> 24
        for (String client : List.of("127.0.0.51", "127.0.0.52", "127.0.0.53", "127.0.0.54")) {
            int ip = java.nio.ByteBuffer.wrap(InetAddress.getByName(client).getAddress()).getInt();
            int bucket = (ip * 0x61C88647) >>> 24;
            String expected = bucket % 2 == 0 ? "a" : "b";
            assertThat(readNameFrom(client)).as(client).isEqualTo(expected);
            assertThat(readNameFrom(client)).as(client).isEqualTo(expected);
        }
    }

    @Test
    void destinationHashingSendsEveryClientOfTheClusterIpToOneEndpoint() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.NAME);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.NAME);
        fixture.proxy(service("dh", "", endpoints(a, b)));
        int vip = java.nio.ByteBuffer.wrap(InetAddress.getByName(VIP).getAddress()).getInt();
        String expected = ((vip * 0x61C88647) >>> 24) % 2 == 0 ? "a" : "b";
        for (String client : List.of("127.0.0.51", "127.0.0.52", "127.0.0.53")) {
            assertThat(readNameFrom(client)).isEqualTo(expected);
        }
    }

    @Test
    void maglevHashingKeepsAClientOnOneEndpointAndMhPortSpreadsItsConnections() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.NAME);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.NAME);
        fixture.proxy(service("mh", "", endpoints(a, b)));
        String first = readNameFrom("127.0.0.51");
        for (int i = 0; i < 5; i++) {
            assertThat(readNameFrom("127.0.0.51")).isEqualTo(first);
        }
        fixture.server().reload(io.svcproxy.config.ConfigLoader.parse(service("mh", "", endpoints(a, b))
                .replace("    scheduler: mh\n", "    scheduler: mh\n    schedulerFlags: [mh-port]\n"), "test.yaml"));
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < 20; i++) {
            seen.add(readNameFrom("127.0.0.51")); // a new source port each time
        }
        assertThat(seen).containsExactlyInAnyOrder("a", "b");
    }

    private BackendState backendState(String ip) {
        return servicePort().backendSet().backends().stream()
                .filter(b -> b.address().getHostAddress().equals(ip)).findFirst().orElseThrow();
    }

    @Test
    void clientHalfCloseStillReceivesTheRest() throws Exception {
        TestBackend echo = fixture.backend("127.0.0.11", "echo", Mode.ECHO);
        fixture.proxy(service("rr", "", endpoints(echo)));
        try (Socket s = Net.connect(VIP, PORT)) {
            Net.write(s, "hello, half-closed world");
            s.shutdownOutput();
            assertThat(Net.readAllText(s)).isEqualTo("hello, half-closed world");
        }
    }

    @Test
    void endpointHalfCloseLetsTheClientKeepSending() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.11"))) {
            String eps = "    endpoints: [{ip: 127.0.0.11, port: " + server.getLocalPort() + "}]\n";
            fixture.proxy(service("rr", "", eps));
            try (Socket client = Net.connect(VIP, PORT)) {
                Socket accepted = server.accept();
                accepted.setSoTimeout(5000);
                Net.write(accepted, "bye");
                accepted.shutdownOutput();
                assertThat(Net.readAllText(client)).isEqualTo("bye");
                Net.write(client, "still here");
                client.shutdownOutput();
                assertThat(Net.readAllText(accepted)).isEqualTo("still here");
                accepted.close();
            }
        }
    }

    @Test
    void sixtyFourMebibytesCrossBothWaysIntact() throws Exception {
        TestBackend echo = fixture.backend("127.0.0.11", "echo", Mode.ECHO);
        fixture.proxy(service("rr", "", endpoints(echo)));
        int size = 64 << 20;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Socket s = Net.connect(VIP, PORT)) {
            s.setSoTimeout(30_000);
            Future<byte[]> sent = pool.submit(() -> {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                Random random = new Random(42);
                byte[] chunk = new byte[64 << 10];
                OutputStream out = s.getOutputStream();
                for (int written = 0; written < size; written += chunk.length) {
                    random.nextBytes(chunk);
                    digest.update(chunk);
                    out.write(chunk);
                }
                out.flush();
                s.shutdownOutput();
                return digest.digest();
            });
            Future<byte[]> received = pool.submit(() -> {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                InputStream in = s.getInputStream();
                byte[] buffer = new byte[64 << 10];
                long total = 0;
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    digest.update(buffer, 0, n);
                    total += n;
                }
                assertThat(total).isEqualTo(size);
                return digest.digest();
            });
            assertThat(received.get(60, TimeUnit.SECONDS)).isEqualTo(sent.get(60, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        assertThat(servicePort().bytesToEndpoint()).isEqualTo(size);
        await().atMost(Duration.ofSeconds(5)).until(() -> servicePort().bytesToClient() == size);
    }

    @Test
    void aSlowEndpointHoldsTheClientBackInsteadOfFillingMemory() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.11"))) {
            fixture.proxy(service("rr", "", "    endpoints: [{ip: 127.0.0.11, port: " + server.getLocalPort()
                    + "}]\n"));
            io.netty.buffer.ByteBufAllocatorMetric alloc =
                    ((io.netty.buffer.ByteBufAllocatorMetricProvider) io.netty.buffer.ByteBufAllocator.DEFAULT)
                            .metric();
            long before = alloc.usedDirectMemory() + alloc.usedHeapMemory();
            int size = 64 << 20;
            java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try (Socket client = Net.connect(VIP, PORT); Socket endpoint = server.accept()) {
                Future<?> writer = pool.submit(() -> {
                    byte[] chunk = new byte[64 << 10];
                    OutputStream out = client.getOutputStream();
                    for (int i = 0; i < size / chunk.length; i++) {
                        java.util.Arrays.fill(chunk, (byte) i);
                        out.write(chunk);
                        written.addAndGet(chunk.length);
                    }
                    return null;
                });
                Thread.sleep(1500); // the endpoint reads nothing: the client must be held back
                long stalledAt = written.get();
                Thread.sleep(500);
                assertThat(written.get()).isEqualTo(stalledAt).isLessThan(size);
                long held = alloc.usedDirectMemory() + alloc.usedHeapMemory() - before;
                assertThat(held).as("bytes svcproxy holds for the stalled connection").isLessThan(4L << 20);
                // now the endpoint reads it all, intact and in order
                endpoint.setSoTimeout(20_000);
                InputStream in = endpoint.getInputStream();
                byte[] buffer = new byte[64 << 10];
                long total = 0;
                while (total < size) {
                    int n = in.readNBytes(buffer, 0, buffer.length);
                    for (int k = 0; k < n; k++) {
                        if (buffer[k] != (byte) ((total + k) / (64 << 10))) {
                            throw new AssertionError("byte " + (total + k) + " out of order");
                        }
                    }
                    total += n;
                }
                writer.get(20, TimeUnit.SECONDS);
                assertThat(total).isEqualTo(size);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    static int closedPort(String ip) throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName(ip))) {
            return probe.getLocalPort();
        }
    }

    @Test
    void aRefusingEndpointIsRetriedElsewhereUnnoticed() throws Exception {
        int dead = closedPort("127.0.0.11");
        TestBackend live = fixture.backend("127.0.0.12", "live", Mode.NAME);
        String eps = "    endpoints:\n"
                + "      - {ip: 127.0.0.11, port: " + dead + "}\n"
                + "      - {ip: 127.0.0.12, port: " + live.address().getPort() + "}\n";
        // outlier detection off: with it, the dead endpoint is ejected after 5 failures (FaultInjectionTest)
        fixture.proxy(service("rr", "  outlierDetection: {consecutiveFailures: 0}\n", eps));
        for (int i = 0; i < 6; i++) {
            assertThat(readName()).isEqualTo("live");
        }
        assertThat(backendState("127.0.0.11").counters().total()).isEqualTo(6); // rr tries it first every time
        assertThat(fixture.server().meterRegistry().find("svcproxy.connect.failures")
                .tag("endpoint", "127.0.0.11:" + dead).tag("reason", "refused").counter().count()).isEqualTo(6);
    }

    @Test
    void allEndpointsDownClosesTheClientQuickly() throws Exception {
        String eps = "    endpoints:\n"
                + "      - {ip: 127.0.0.11, port: " + closedPort("127.0.0.11") + "}\n"
                + "      - {ip: 127.0.0.12, port: " + closedPort("127.0.0.12") + "}\n";
        fixture.proxy(service("rr", "  connectAttempts: 3\n", eps));
        long start = System.nanoTime();
        assertThat(Net.connectAndSeeReset(VIP, PORT)).isTrue(); // every endpoint failed: a reset
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(servicePort().backendSet().backends()).allSatisfy(b -> {
            assertThat(b.counters().total()).isEqualTo(1); // two distinct endpoints tried once each
            assertThat(b.activeConnections() + b.inactiveConnections()).isZero();
        });
    }

    @Test
    void anEndpointThatNeverAnswersTimesOutAndIsRetried() throws Exception {
        // A listener whose accept queue is full drops new SYNs: connects to it time out.
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.11"))) {
            List<Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    Socket f = new Socket();
                    f.connect(full.getLocalSocketAddress(), 1000);
                    fillers.add(f);
                }
                TestBackend live = fixture.backend("127.0.0.12", "live", Mode.NAME);
                String eps = "    endpoints:\n"
                        + "      - {ip: 127.0.0.11, port: " + full.getLocalPort() + "}\n"
                        + "      - {ip: 127.0.0.12, port: " + live.address().getPort() + "}\n";
                fixture.proxy(service("rr", "  connectTimeout: 300ms\n", eps));
                assertThat(readName()).isEqualTo("live");
                assertThat(fixture.server().meterRegistry().find("svcproxy.connect.failures")
                        .tag("reason", "timeout").counter().count()).isEqualTo(1);
            } finally {
                for (Socket f : fillers) {
                    f.close();
                }
            }
        }
    }

    @Test
    void aServicePortWithoutEndpointsClosesClientsAtOnce() throws Exception {
        String yaml = service("rr", "", "    selector: {app: nothing}\n");
        fixture.proxy(yaml);
        try (Socket s = Net.connect(VIP, PORT)) {
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(servicePort().noEndpointCount()).isEqualTo(1);
    }

    @Test
    void fiveHundredConcurrentConnectionsAllGetThrough() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.ECHO);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.ECHO);
        fixture.proxy(service("rr", "", endpoints(a, b)));
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 500; i++) {
                Socket s = Net.connect(VIP, PORT);
                sockets.add(s);
                Net.write(s, "message-" + i + ";");
            }
            for (int i = 0; i < 500; i++) {
                String expected = "message-" + i + ";";
                byte[] echoed = Net.readExactly(sockets.get(i), expected.length());
                assertThat(new String(echoed, StandardCharsets.UTF_8)).isEqualTo(expected);
            }
            assertThat(a.openConnections() + b.openConnections()).isEqualTo(500);
            assertThat(a.acceptedConnections()).isEqualTo(250);
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.server().listeners().connectionCount() == 0);
        await().atMost(Duration.ofSeconds(10)).until(() -> a.openConnections() + b.openConnections() == 0);
    }

    @Test
    void aBurstOfThreeThousandNewClientsIsServedWithTheDefaultLimits() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", Mode.ECHO);
        TestBackend b = fixture.backend("127.0.0.12", "b", Mode.ECHO);
        fixture.proxy(service("rr", "", endpoints(a, b)));
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 3000; i++) { // as fast as the client can: no byte sent, nothing awaited
                Socket s = new Socket();
                s.connect(new InetSocketAddress(VIP, PORT), 5000);
                sockets.add(s);
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> a.openConnections() + b.openConnections() == 3000);
            for (Rejection reason : Rejection.values()) {
                assertThat(servicePort().rejectedCount(reason)).as(reason.name()).isZero();
            }
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> fixture.server().listeners().connectionCount() == 0);
    }

    @Test
    void aResetFromTheEndpointResetsTheClient() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.11"))) {
            fixture.proxy(service("rr", "", "    endpoints: [{ip: 127.0.0.11, port: " + server.getLocalPort()
                    + "}]\n"));
            try (Socket client = Net.connect(VIP, PORT)) {
                Socket accepted = server.accept();
                Net.write(client, "ping");
                Net.readExactly(accepted, 4);
                accepted.setSoLinger(true, 0);
                accepted.close();
                assertThatThrownBy(() -> {
                    InputStream in = client.getInputStream();
                    for (int i = 0; i < 10; i++) {
                        if (in.read() < 0) {
                            return;
                        }
                    }
                }).isInstanceOf(SocketException.class).hasMessageContaining("reset");
            }
        }
    }

    @Test
    void aResetFromTheClientResetsTheEndpoint() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.11"))) {
            fixture.proxy(service("rr", "", "    endpoints: [{ip: 127.0.0.11, port: " + server.getLocalPort()
                    + "}]\n"));
            Socket client = Net.connect(VIP, PORT);
            Socket accepted = server.accept();
            accepted.setSoTimeout(5000);
            Net.write(client, "ping");
            Net.readExactly(accepted, 4);
            client.setSoLinger(true, 0);
            client.close();
            assertThatThrownBy(() -> accepted.getInputStream().read())
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            accepted.close();
        }
    }

    @Test
    void anIdleConnectionIsClosedAfterIdleTimeout() throws Exception {
        TestBackend echo = fixture.backend("127.0.0.11", "echo", Mode.ECHO);
        fixture.proxy(service("rr", "  idleTimeout: 500ms\n", endpoints(echo)));
        try (Socket s = Net.connect(VIP, PORT)) {
            Net.write(s, "x");
            Net.readExactly(s, 1);
            assertThat(s.getInputStream().read()).isEqualTo(-1); // closed by the proxy, well before 5 s
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> echo.openConnections() == 0);
    }

    @Test
    void onlyTheIdleConnectionsOfALoopAreClosedAndTheBusyOnesOutliveTheIdleTimeout() throws Exception {
        TestBackend echo = fixture.backend("127.0.0.11", "echo", Mode.ECHO);
        fixture.proxy(service("rr", "  idleTimeout: 400ms\n", endpoints(echo)));
        // several connections per event loop, so that the loop's sweep unlinks closed ones from inside its list
        List<Socket> idle = new ArrayList<>();
        List<Socket> busy = new ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                Socket s = Net.connect(VIP, PORT);
                Net.write(s, "x");
                Net.readExactly(s, 1);
                (i % 2 == 0 ? idle : busy).add(s);
            }
            long end = System.nanoTime() + Duration.ofMillis(1500).toNanos();
            while (System.nanoTime() < end) { // 3.75 idle timeouts, a byte each way every 100 ms
                for (Socket s : busy) {
                    Net.write(s, "y");
                    Net.readExactly(s, 1);
                }
                Thread.sleep(100);
            }
            for (Socket s : idle) {
                s.setSoTimeout(5000);
                assertThat(s.getInputStream().read()).isEqualTo(-1); // closed by the proxy
            }
            for (Socket s : busy) { // still relayed
                Net.write(s, "z");
                assertThat(new String(Net.readExactly(s, 1), StandardCharsets.US_ASCII)).isEqualTo("z");
            }
            for (Socket s : busy) { // and closed once idle in turn
                s.setSoTimeout(5000);
                assertThat(s.getInputStream().read()).isEqualTo(-1);
            }
        } finally {
            for (Socket s : idle) {
                s.close();
            }
            for (Socket s : busy) {
                s.close();
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> echo.openConnections() == 0);
    }

    @Test
    void countersFollowTheConnectionLifecycle() throws Exception {
        TestBackend echo = fixture.backend("127.0.0.11", "echo", Mode.ECHO);
        fixture.proxy(service("rr", "", endpoints(echo)));
        BackendState state = backendState("127.0.0.11");
        try (Socket s = Net.connect(VIP, PORT)) {
            Net.write(s, "x");
            Net.readExactly(s, 1);
            assertThat(state.activeConnections()).isEqualTo(1);
            assertThat(state.inactiveConnections()).isZero();
            s.shutdownOutput(); // half-closed: active -> inactive
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> state.activeConnections() == 0
                && state.inactiveConnections() == 0);
        assertThat(state.counters().total()).isEqualTo(1);
    }

    @Test
    void listenerBindsOnlyTheClusterIp() throws Exception {
        TestBackend echo = fixture.backend("127.0.0.11", "echo", Mode.ECHO);
        fixture.proxy(service("rr", "", endpoints(echo)));
        assertThat(fixture.server().listeners().boundAddress(servicePort().key()))
                .isEqualTo(new InetSocketAddress(VIP, PORT));
        assertThatThrownBy(() -> Net.connect("127.0.10.3", PORT)).isInstanceOf(IOException.class);
    }

}
