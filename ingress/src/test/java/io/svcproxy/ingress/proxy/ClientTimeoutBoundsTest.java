package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bounds of {@link ClientTimeouts}' idle timeout, which counts ticks of half the timeout: a connection without
 * traffic closes no earlier than the timeout and no later than one and a half times it (asserted with a generous
 * margin: the machine is shared), and traffic in gaps just under the timeout, whether only read (a request body
 * trickled in), only written (a response body trickled out) or whole requests, keeps the connection. On
 * 127.0.10.177 (listener) and 127.0.10.178 (endpoints).
 */
@Timeout(60)
class ClientTimeoutBoundsTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);
    private static final ServiceBackend SLOW = new ServiceBackend("default", "slow", 80, null);
    private static final Duration IDLE = Duration.ofSeconds(1);
    /** The gap between two bytes of traffic that must not count as idle: 60% of the timeout. */
    private static final long GAP_MS = IDLE.toMillis() * 6 / 10;

    private final TestEndpoints endpoints = new TestEndpoints();
    private EventLoopGroup group;
    private HttpIngressServer ingress;
    private ServerSocket slow;

    @BeforeEach
    void setUp() throws Exception {
        // an endpoint that sends its response's head at once and then a chunk of body every GAP_MS
        slow = new ServerSocket(0, 50, InetAddress.getByName("127.0.10.178"));
        Thread acceptor = new Thread(this::serveSlowly, "slow-endpoint");
        acceptor.setDaemon(true);
        acceptor.start();
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(
                WEB, TestEndpoints.rr(endpoints.start("127.0.10.178", "web-1")),
                SLOW, TestEndpoints.rr(new InetSocketAddress("127.0.10.178", slow.getLocalPort())));
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(
                new IngressRules<>("default/slow", null, List.of(new IngressRules.Rule<>("slow.example", List.of(
                        new IngressRules.PathRule<>("/", PathType.PREFIX, SLOW))))),
                new IngressRules<>("default/web", WEB, List.of()))));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        IngressOptions options = IngressOptions.defaults().withIdleTimeout(IDLE)
                .withRequestTimeout(Duration.ofSeconds(10)).withResponseTimeout(Duration.ofSeconds(10));
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.177", 0),
                router, sets::get, options, IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoints.close();
        slow.close();
    }

    private void serveSlowly() {
        while (!slow.isClosed()) {
            try (Socket s = slow.accept()) {
                readHead(s.getInputStream());
                OutputStream out = s.getOutputStream();
                out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                for (int i = 0; i < 5; i++) {
                    Thread.sleep(GAP_MS);
                    out.write(("1\r\n" + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                readHead(s.getInputStream()); // until the proxy closes or reuses it
            } catch (Exception e) {
                // closed
            }
        }
    }

    @Test
    void anIdleKeptAliveConnectionClosesNoEarlierThanTheTimeoutAndByOneAndAHalfTimesIt() throws Exception {
        try (RawHttpClient warm = new RawHttpClient(ingress.localAddress())) {
            // the first request of the test's JVM is slow (class loading): not the one measured
            assertThat(warm.get("any", "/warm").status()).isEqualTo(200);
        }
        try (Socket s = new Socket()) {
            s.connect(ingress.localAddress(), 5000);
            RawHttpClient client = new RawHttpClient(s); // reads the socket unbuffered: nothing is read ahead
            // the checks run every half timeout from the connection's start: traffic late in a tick (here 80% into
            // the first) is where a count one tick short would close after little more than half the timeout
            Thread.sleep(IDLE.toMillis() * 2 / 5);
            long sent = System.nanoTime(); // the proxy's last traffic on the connection is after this
            assertThat(client.get("any", "/x").status()).isEqualTo(200);
            CompletableFuture<Long> closedAt = CompletableFuture.supplyAsync(() -> {
                try {
                    int b = s.getInputStream().read();
                    return b < 0 ? System.nanoTime() : -1L;
                } catch (IOException e) {
                    return System.nanoTime(); // a reset is a close too
                }
            });
            // by 1.5 times the timeout, plus a generous margin for a loaded machine
            await().atMost(IDLE.multipliedBy(3).dividedBy(2).plusSeconds(3)).until(closedAt::isDone);
            assertThat(closedAt.get()).as("closed, with no byte sent after the response").isPositive();
            assertThat(TimeUnit.NANOSECONDS.toMillis(closedAt.get() - sent))
                    .as("ms from the request's sending to the close").isGreaterThanOrEqualTo(IDLE.toMillis());
        }
    }

    @Test
    void requestsInGapsJustUnderTheTimeoutKeepTheConnection() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            for (int i = 0; i < 5; i++) { // 3 s, three times the timeout
                assertThat(client.get("any", "/x?i=" + i).status()).isEqualTo(200);
                Thread.sleep(GAP_MS);
            }
            assertThat(client.get("any", "/x").status()).isEqualTo(200);
        }
    }

    @Test
    void aRequestBodyTrickledInJustUnderTheTimeoutKeepsTheConnection() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            // only reads: nothing is written to the client until the body's end, and no response is awaited yet
            client.send("POST /sha256 HTTP/1.1\r\nHost: any\r\nContent-Length: 5\r\n\r\n");
            for (int i = 0; i < 5; i++) {
                Thread.sleep(GAP_MS);
                client.send(Integer.toString(i));
            }
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo(HexFormat.of().formatHex(
                    TestEndpoints.sha256().digest("01234".getBytes(StandardCharsets.US_ASCII))));
            assertThat(client.get("any", "/x").status()).isEqualTo(200);
        }
    }

    @Test
    void aResponseBodyTrickledOutJustUnderTheTimeoutKeepsTheConnection() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            // only writes: the response's head arrived (no response is awaited), its body comes every GAP_MS
            RawHttpClient.Response r = client.get("slow.example", "/");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("01234");
            assertThat(client.get("any", "/x").status()).isEqualTo(200);
        }
    }

    private static void readHead(InputStream in) throws IOException {
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("eof");
            }
            state = (c == '\r' && state % 2 == 0) || (c == '\n' && state % 2 == 1) ? state + 1 : 0;
        }
    }

    @Test
    void anHttp2StreamWhoseRequestBodyStallsDoesNotKeepTheConnectionPastTheIdleTimeout() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            // a request that says 10 bytes of body follow, and then nothing: the endpoint waits for the body
            client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("POST").path("/stall")
                    .scheme("http").authority("any").setInt("content-length", 10), false);
            long start = System.nanoTime();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> !client.isActive());
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("closed as idle, not before the timeout")
                    .isGreaterThanOrEqualTo(IDLE);
        }
    }

    @Test
    void anHttp2StreamWhoseClientStopsReadingItsResponseDoesNotKeepTheConnectionPastTheIdleTimeout()
            throws Exception {
        // an endpoint that answers at once with 1 MiB: more than the client's 64-KiB windows
        try (ServerSocket big = new ServerSocket(0, 50, InetAddress.getByName("127.0.10.178"))) {
            Thread server = new Thread(() -> {
                try (Socket s = big.accept()) {
                    readHead(s.getInputStream());
                    s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().write(new byte[1 << 20]); // blocks once the proxy stops reading
                } catch (IOException e) {
                    // the proxy closed its connection
                }
            }, "big-endpoint");
            server.setDaemon(true);
            server.start();
            ServiceBackend bigBackend = new ServiceBackend("default", "big", 80, null);
            Router<ServiceBackend> router = new Router<>();
            router.update(RoutingTable.compile(List.of(new IngressRules<>("default/big", bigBackend, List.of()))));
            IngressOptions options = IngressOptions.defaults().withIdleTimeout(IDLE)
                    .withRequestTimeout(Duration.ofSeconds(10)).withResponseTimeout(Duration.ofSeconds(10));
            io.svcproxy.balancer.BackendSet set = TestEndpoints.rr(new InetSocketAddress("127.0.10.178",
                    big.getLocalPort()));
            HttpIngressServer listener = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                    new InetSocketAddress("127.0.10.177", 0), router, b -> set, options, IngressMetrics.NONE);
            try (RawH2Client client = RawH2Client.connect(group, listener.localAddress())) {
                client.stopReading();
                client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").path("/")
                        .scheme("http").authority("big.example"), true);
                assertThat(client.next(1)).isInstanceOf(RawH2Client.Headers.class); // the response is under way
                long start = System.nanoTime();
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(15)).until(() -> !client.isActive());
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("closed as idle, not before the timeout")
                        .isGreaterThanOrEqualTo(IDLE.minusMillis(100));
                server.join(10_000);
                assertThat(server.isAlive()).as("the endpoint's connection is closed with it").isFalse();
            } finally {
                listener.close();
            }
        }
    }
}
