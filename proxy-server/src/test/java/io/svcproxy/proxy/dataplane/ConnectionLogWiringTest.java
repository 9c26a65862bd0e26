package io.svcproxy.proxy.dataplane;

import static io.svcproxy.proxy.dataplane.ProxyFixture.endpoints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.metrics.MicrometerProxyMetrics;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code proxy.connectionLog} wired to the data plane on loopback: one line per ended TCP connection and UDP flow
 * with SPEC's fields and each {@code end} reason, on, off and renamed by reload, and a full queue under load (a
 * writer blocked on a FIFO nobody reads): lines dropped and counted, every relayed byte still delivered.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ConnectionLogWiringTest {
    private static final String VIP = "127.0.10.201";
    private static final int PORT = 18201;
    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\": (\"(?:[^\"\\\\]|\\\\.)*\"|[0-9.]+)");

    @TempDir
    Path dir;
    private final ProxyFixture fixture = new ProxyFixture(Transport.select());

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    private String config(String proxyExtra, String portExtra, String endpointsYaml) {
        return "proxy:\n  admin: off\n" + proxyExtra
                + "services:\n  - name: web\n    namespace: shop\n    clusterIP: " + VIP + "\n    scheduler: rr\n"
                + "    ports: [{name: http, port: " + PORT + portExtra + "}]\n" + endpointsYaml;
    }

    private String logLine(Path file) {
        return "  connectionLog: " + file + "\n";
    }

    /** Parses one line of the log into its fields, strings unquoted. */
    static Map<String, String> fields(String line) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = FIELD.matcher(line);
        while (m.find()) {
            String v = m.group(2);
            out.put(m.group(1), v.startsWith("\"") ? v.substring(1, v.length() - 1) : v);
        }
        return out;
    }

    private static List<Map<String, String>> awaitLines(Path file, int n) {
        List<Map<String, String>> out = new ArrayList<>();
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            out.clear();
            if (Files.exists(file)) {
                for (String line : Files.readAllLines(file)) {
                    out.add(fields(line));
                }
            }
            return out.size() >= n;
        });
        return out;
    }

    @Test
    void aCleanCloseIsOneLineWithSpecsFieldsAndEndFin() throws Exception {
        Path log = dir.resolve("c.log");
        TestBackend a = fixture.backend("127.0.0.201", "a", Mode.ECHO);
        fixture.proxy(config(logLine(log), "", endpoints(a)));
        int clientPort;
        long before = System.currentTimeMillis();
        try (Socket s = Net.connect(VIP, PORT)) {
            clientPort = s.getLocalPort();
            Net.write(s, "hello");
            s.shutdownOutput();
            assertThat(Net.readAllText(s)).isEqualTo("hello");
        }
        Map<String, String> line = awaitLines(log, 1).get(0);
        assertThat(line.keySet()).containsExactly("start", "client", "clientPort", "service", "port", "endpoint",
                "duration", "bytesToEndpoint", "bytesToClient", "end");
        assertThat(line).containsEntry("client", "127.0.0.1").containsEntry("clientPort", "" + clientPort)
                .containsEntry("service", "shop/web").containsEntry("port", "http")
                .containsEntry("endpoint", "127.0.0.201:" + a.address().getPort())
                .containsEntry("bytesToEndpoint", "5").containsEntry("bytesToClient", "5")
                .containsEntry("end", "fin");
        double start = Double.parseDouble(line.get("start"));
        assertThat(start * 1000).isBetween(before - 1000.0, System.currentTimeMillis() + 1000.0);
        assertThat(Double.parseDouble(line.get("duration"))).isBetween(0.0, 20.0);
    }

    @Test
    void aClientThatLeavesBeforeTheAnswerIsAResetNotAnError() throws Exception {
        Path log = dir.resolve("c.log");
        TestBackend a = fixture.backend("127.0.0.201", "a", Mode.NAME);
        fixture.proxy(config(logLine(log), "", endpoints(a)));
        for (int i = 0; i < 3; i++) {
            new Socket(VIP, PORT).close();
        }
        // the answer meets a closed socket (a reset; epoll may report it as NotYetConnectedException), unless the
        // endpoint's FIN got through first
        assertThat(awaitLines(log, 3)).extracting(l -> l.get("end")).isSubsetOf("rst", "fin");
    }

    @Test
    void aClientResetIsRst() throws Exception {
        Path log = dir.resolve("c.log");
        TestBackend a = fixture.backend("127.0.0.201", "a", Mode.ECHO);
        fixture.proxy(config(logLine(log), "", endpoints(a)));
        try (Socket s = Net.connect(VIP, PORT)) {
            Net.write(s, "abc");
            assertThat(Net.readExactly(s, 3)).isEqualTo("abc".getBytes(StandardCharsets.UTF_8));
            s.setSoLinger(true, 0);
        }
        assertThat(awaitLines(log, 1).get(0)).containsEntry("end", "rst").containsEntry("bytesToEndpoint", "3");
    }

    @Test
    void aConnectionWithoutBytesForIdleTimeoutIsIdle() throws Exception {
        Path log = dir.resolve("c.log");
        TestBackend a = fixture.backend("127.0.0.201", "a", Mode.ECHO);
        fixture.proxy(config(logLine(log) + "  idleTimeout: 300ms\n", "", endpoints(a)));
        try (Socket s = Net.connect(VIP, PORT)) {
            assertThat(s.getInputStream().read()).isEqualTo(-1); // closed by the proxy
        }
        Map<String, String> line = awaitLines(log, 1).get(0);
        assertThat(line).containsEntry("end", "idle");
        assertThat(Double.parseDouble(line.get("duration"))).isGreaterThanOrEqualTo(0.3);
    }

    @Test
    void aConnectionClosedAfterItsEndpointLeftAndDrainTimeoutPassedIsDrain() throws Exception {
        Path log = dir.resolve("c.log");
        TestBackend a = fixture.backend("127.0.0.201", "a", Mode.ECHO);
        TestBackend b = fixture.backend("127.0.0.202", "b", Mode.ECHO);
        String proxy = logLine(log) + "  drainTimeout: 200ms\n";
        fixture.proxy(config(proxy, "", endpoints(a)));
        try (Socket s = Net.connect(VIP, PORT)) {
            Net.write(s, "x");
            Net.readExactly(s, 1);
            fixture.server().reload(ConfigLoader.parse(config(proxy, "", endpoints(b)), "test.yaml"));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.getInputStream().read())
                    .isInstanceOf(java.net.SocketException.class).hasMessageContaining("reset");
        }
        assertThat(awaitLines(log, 1).get(0)).containsEntry("end", "drain")
                .containsEntry("endpoint", "127.0.0.201:" + a.address().getPort());
    }

    @Test
    void everyConnectFailingIsError() throws Exception {
        Path log = dir.resolve("c.log");
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.203"))) {
            closedPort = s.getLocalPort();
        }
        fixture.proxy(config(logLine(log) + "  connectAttempts: 1\n", "",
                "    endpoints: [{ip: 127.0.0.203, port: " + closedPort + "}]\n"));
        assertThat(Net.connectAndSeeReset(VIP, PORT)).isTrue();
        assertThat(awaitLines(log, 1).get(0)).containsEntry("end", "error")
                .containsEntry("endpoint", "127.0.0.203:" + closedPort).containsEntry("bytesToClient", "0");
    }

    @Test
    void udpFlowsAreLoggedWhenForgotten() throws Exception {
        Path log = dir.resolve("c.log");
        try (DatagramSocket echo = new DatagramSocket(new InetSocketAddress("127.0.0.204", 0))) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[2048];
                while (!echo.isClosed()) {
                    try {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        echo.receive(p);
                        echo.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
            String yaml = "proxy:\n  admin: off\n  udpIdleTimeout: 300ms\n" + logLine(log)
                    + "services:\n  - name: dns\n    namespace: kube-system\n    clusterIP: " + VIP + "\n"
                    + "    ports:\n      - {name: a, protocol: UDP, port: " + PORT + ", udpResponses: 1}\n"
                    + "      - {name: b, protocol: UDP, port: " + (PORT + 1) + "}\n"
                    + "    endpoints: [{ip: 127.0.0.204, ports: {a: " + echo.getLocalPort() + ", b: "
                    + echo.getLocalPort() + "}}]\n";
            fixture.proxy(yaml);
            try (DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                client.setSoTimeout(5000);
                for (int port : new int[] {PORT, PORT + 1}) {
                    byte[] q = "query".getBytes(StandardCharsets.UTF_8);
                    client.send(new DatagramPacket(q, q.length, new InetSocketAddress(VIP, port)));
                    DatagramPacket answer = new DatagramPacket(new byte[100], 100);
                    client.receive(answer);
                    assertThat(answer.getLength()).isEqualTo(5);
                }
                List<Map<String, String>> lines = awaitLines(log, 2);
                assertThat(lines).extracting(l -> l.get("port") + " " + l.get("end") + " " + l.get("bytesToEndpoint")
                        + " " + l.get("bytesToClient") + " " + l.get("clientPort"))
                        .containsExactly("a fin 5 5 " + client.getLocalPort(),
                                "b idle 5 5 " + client.getLocalPort());
                assertThat(lines.get(0)).containsEntry("service", "kube-system/dns");
            }
            echo.close();
        }
    }

    @Test
    void aReloadTurnsTheLogOnRenamesItAndTurnsItOff() throws Exception {
        Path first = dir.resolve("first.log");
        Path second = dir.resolve("second.log");
        TestBackend a = fixture.backend("127.0.0.201", "a", Mode.NAME);
        fixture.proxy(config("", "", endpoints(a)));
        oneConnection();
        fixture.server().reload(ConfigLoader.parse(config(logLine(first), "", endpoints(a)), "test.yaml"));
        oneConnection();
        awaitLines(first, 1);
        fixture.server().reload(ConfigLoader.parse(config(logLine(second), "", endpoints(a)), "test.yaml"));
        oneConnection();
        oneConnection();
        awaitLines(second, 2);
        fixture.server().reload(ConfigLoader.parse(config("", "", endpoints(a)), "test.yaml"));
        oneConnection();
        // the recent ring saw all five; the files only what was logged while each was in force
        await().atMost(Duration.ofSeconds(10)).until(() -> servicePort().recent().total() == 5);
        assertThat(Files.readAllLines(first)).hasSize(1);
        assertThat(Files.readAllLines(second)).hasSize(2);
        assertThat(fixture.server().listeners().recorder().connectionLog()).isNull();
    }

    private ServicePort servicePort() {
        return fixture.server().table().servicePorts().get(0);
    }

    private static void oneConnection() throws Exception {
        try (Socket s = Net.connect(VIP, PORT)) {
            assertThat(Net.readAllText(s)).isEqualTo("a\n");
        }
    }

    /**
     * Fills the queue: the writer blocks on a FIFO whose reader does not read, while 4 clients relay 2,400
     * connections of 1 KiB each way (more lines than the writer formats before it writes, 256 KiB, plus the pipe's
     * 64 KiB and the queue). Every byte comes back intact, the relay never waits, and the lines written
     * plus those dropped are the connections, with the drops in {@code svcproxy_connection_log_dropped_total}.
     */
    @Test
    void aFullQueueDropsAndCountsLinesWhileEveryByteIsStillRelayed() throws Exception {
        Path fifo = fifo("fifo.log");
        TestBackend a = fixture.backend("127.0.0.201", "a", Mode.ECHO);
        TestBackend b = fixture.backend("127.0.0.202", "b", Mode.ECHO);
        fixture.proxy(config("", "", endpoints(a, b)));
        CountDownLatch startReading = new CountDownLatch(1);
        AtomicLong linesRead = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(5);
        try {
            Future<?> reader = readFifo(pool, fifo, startReading, linesRead);
            ConnectionRecorder recorder = fixture.server().listeners().recorder();
            recorder.setFile(fifo, 16);
            int clients = 4;
            int perClient = 600;
            List<Future<?>> work = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int seed = c;
                work.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    byte[] data = new byte[1024];
                    for (int i = 0; i < perClient; i++) {
                        random.nextBytes(data);
                        try (Socket s = Net.connect(VIP, PORT)) {
                            s.getOutputStream().write(data);
                            s.shutdownOutput();
                            assertThat(Arrays.equals(Net.readAll(s), data)).isTrue();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get(60, TimeUnit.SECONDS);
            }
            int total = clients * perClient;
            await().atMost(Duration.ofSeconds(20)).until(() -> servicePort().recent().total() == total);
            io.svcproxy.proxy.connlog.ConnectionLog log = recorder.connectionLog();
            long dropped = log.dropped();
            assertThat(dropped).isPositive();
            assertThat(metric()).isEqualTo(dropped);
            assertThat(fixture.server().meterRegistry().scrape())
                    .contains("svcproxy_connection_log_dropped_total " + (double) dropped);
            startReading.countDown();
            recorder.setFile(null, 16); // writes what is queued, closes: the reader sees the end
            reader.get(20, TimeUnit.SECONDS);
            assertThat(linesRead.get()).isEqualTo(log.written());
            assertThat(log.written() + log.dropped()).isEqualTo(total);
            assertThat(a.acceptedConnections() + b.acceptedConnections()).isEqualTo(total);
        } finally {
            startReading.countDown();
            pool.shutdownNow();
        }
    }

    /**
     * A reload that moves the log to another file does not wait for the old one's writer: a log shipper's named pipe
     * whose reader stopped reading blocks that writer in write(2), and the reload waited up to 10 s for it under the
     * server's lock (no other change applied meanwhile). Nor is that writer left blocked for good (a thread and the
     * pipe held per such reload): a thread of the old log gives its write up, and what it had not written is counted
     * in svcproxy_connection_log_dropped_total (ConnectionLogTest: the pipe is closed then).
     */
    @Test
    void aReloadDoesNotWaitForTheOldLogsWriterBlockedOnAFullPipe() throws Exception {
        Path fifo = fifo("stuck.fifo");
        TestBackend a = fixture.backend("127.0.0.201", "a", Mode.ECHO);
        fixture.proxy(config("", "", endpoints(a)));
        ConnectionRecorder recorder = fixture.server().listeners().recorder();
        CountDownLatch startReading = new CountDownLatch(1);
        AtomicLong linesRead = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<?> reader = readFifo(pool, fifo, startReading, linesRead);
            recorder.setFile(fifo, 4096);
            io.svcproxy.proxy.connlog.ConnectionLog old = recorder.connectionLog();
            int total = 2000; // about 400 KB of lines: the pipe (64 KiB) is full long before
            for (int i = 0; i < total; i++) {
                old.log(new io.svcproxy.proxy.connlog.ConnectionLog.Entry(1_764_812_345_000_000_000L,
                        java.net.InetAddress.getLoopbackAddress(), 40000 + i, "shop/web", "http",
                        "127.0.0.201:8080", 1_000_000L, 10, 20, "fin"));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> writerIn("write"));

            Thread reload = new Thread(() -> {
                try {
                    recorder.setFile(dir.resolve("next.log"), 16);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, "reload");
            reload.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> !reload.isAlive()
                    || Arrays.stream(reload.getStackTrace()).anyMatch(f -> f.getMethodName().equals("join")));
            assertThat(reload.isAlive()).as("the reload returned without waiting for the old writer").isFalse();

            // the reader still reads nothing: the old writer is given up, its lines not written are counted
            await().atMost(Duration.ofSeconds(30)).until(() -> old.written() + old.dropped() == total);
            assertThat(old.dropped()).isPositive();
            assertThat(metric()).as("svcproxy_connection_log_dropped_total").isEqualTo(old.dropped());
        } finally {
            startReading.countDown();
            pool.shutdownNow();
        }
    }

    /** Makes a named pipe {@code name} in the test's folder. */
    private Path fifo(String name) throws Exception {
        Path fifo = dir.resolve(name);
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertThat(mkfifo.waitFor()).isZero();
        return fifo;
    }

    /**
     * Opens {@code fifo} for reading on {@code pool} (the log's writer may open it then), reads from it once {@code
     * startReading} opens, and counts in {@code linesRead} each line, every one a log line with an {@code end}.
     */
    private static Future<?> readFifo(ExecutorService pool, Path fifo, CountDownLatch startReading,
                                      AtomicLong linesRead) {
        return pool.submit(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(new FileInputStream(fifo.toFile()),
                    StandardCharsets.UTF_8))) {
                startReading.await();
                String line;
                while ((line = in.readLine()) != null) {
                    assertThat(fields(line)).containsKey("end");
                    linesRead.incrementAndGet();
                }
            }
            return null;
        });
    }

    /** Whether the connection log's writer thread is in a method named {@code method} (of the JDK's file I/O). */
    private static boolean writerIn(String method) {
        return Thread.getAllStackTraces().entrySet().stream()
                .filter(e -> e.getKey().getName().equals("connection-log"))
                .anyMatch(e -> Arrays.stream(e.getValue()).limit(4).anyMatch(f -> f.getMethodName().startsWith(method)));
    }

    private double metric() {
        return fixture.server().meterRegistry().get(MicrometerProxyMetrics.CONNECTION_LOG_DROPPED).counter().count();
    }
}
