package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP/1.1 Ingress on loopback (127.0.10.150-199), in front of JDK HTTP servers as endpoints. */
class HttpIngressServerTest {
    private static final ServiceBackend API = new ServiceBackend("default", "api", 0, "http");
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);
    private static final ServiceBackend EMPTY = new ServiceBackend("default", "empty", 80, null);
    private static final ServiceBackend DEAD = new ServiceBackend("default", "dead", 80, null);
    private static final ServiceBackend HALF = new ServiceBackend("default", "half", 80, null);
    private static final ServiceBackend SILENT = new ServiceBackend("default", "silent", 80, null);
    private static final ServiceBackend ECHO = new ServiceBackend("default", "echo", 80, null);

    private final List<HttpServer> endpoints = new ArrayList<>();
    private final Map<ServiceBackend, BackendSet> services = new HashMap<>();
    private final Router<ServiceBackend> router = new Router<>();
    private EventLoopGroup group;
    private HttpIngressServer ingress;
    private ServerSocket silent;

    @BeforeEach
    void setUp() throws Exception {
        services.put(API, rr(endpoint("127.0.10.151", "api-1"), endpoint("127.0.10.152", "api-2"),
                endpoint("127.0.10.153", "api-3")));
        services.put(WEB, rr(endpoint("127.0.10.154", "web-1")));
        services.put(EMPTY, rr());
        int deadPort = deadPort("127.0.10.155");
        services.put(DEAD, rr(new InetSocketAddress("127.0.10.155", deadPort),
                new InetSocketAddress("127.0.10.156", deadPort("127.0.10.156"))));
        services.put(HALF, rr(new InetSocketAddress("127.0.10.155", deadPort), endpoint("127.0.10.157", "half-live")));
        silent = new ServerSocket(0, 50, InetAddress.getByName("127.0.10.158"));
        services.put(SILENT, rr(new InetSocketAddress("127.0.10.158", silent.getLocalPort())));
        services.put(ECHO, rr(echoEndpoint("127.0.10.159")));
        router.update(rules(WEB));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.150", 0),
                router, services::get, Duration.ofMillis(500));
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoints.forEach(s -> s.stop(0));
        silent.close();
    }

    @Test
    void requestsOfOneKeptAliveConnectionAreRoutedEachInTheSchedulersOrder() throws Exception {
        BackendSet twin = rr(services.get(API).backends().stream()
                .map(b -> new InetSocketAddress(b.address(), b.port())).toArray(InetSocketAddress[]::new));
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            for (int i = 0; i < 7; i++) {
                BackendState expected = twin.pick(PickContext.of(InetAddress.getLoopbackAddress(), 1, InetAddress.getLoopbackAddress()));
                RawHttpClient.Response r = client.get("shop.example", "/api/x?i=" + i);
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.text()).startsWith(nameOf(expected) + " /api/x?i=" + i);
                // and the web Service in between, on the same connection
                assertThat(client.get("shop.example:80", "/login").text()).startsWith("web-1 /login");
            }
        }
        assertThat(services.get(API).backends()).allSatisfy(b -> assertThat(b.activeConnections()).isZero());
    }

    @Test
    void endpointConnectionsAreKeptAliveAndReusedAcrossRequestsAndClients() throws Exception {
        Set<String> peers = new java.util.HashSet<>();
        for (int c = 0; c < 3; c++) {
            try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
                for (int i = 0; i < 5; i++) {
                    String body = client.get("shop.example", "/login").text();
                    peers.add(body.lines().filter(l -> l.startsWith("peer=")).findFirst().orElseThrow());
                }
            }
        }
        // 15 requests in sequence over 3 client connections: at most one endpoint connection per event loop (2)
        assertThat(peers).hasSizeBetween(1, 2);
    }

    @Test
    void curlWithAHostHeaderReachesTheApiService() throws Exception {
        Process p = new ProcessBuilder("curl", "-sS", "--max-time", "20", "-H", "Host: shop.example",
                "http://127.0.10.150:" + ingress.localAddress().getPort() + "/api/x").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        assertThat(out).matches("api-[123] /api/x(.|\\n)*");
    }

    @Test
    void forwardedHeadersAreAddedAndHopByHopHeadersRemoved() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            RawHttpClient.Response r = client.get("shop.example:8080", "/login",
                    "X-Forwarded-For: 203.0.113.7", "Connection: keep-alive, X-Secret", "X-Secret: 1",
                    "Keep-Alive: timeout=5", "X-Kept: yes");
            assertThat(r.text())
                    .contains("x-forwarded-for=203.0.113.7, 127.0.0.1")
                    .contains("x-forwarded-proto=http")
                    .contains("x-forwarded-host=shop.example:8080")
                    .contains("x-kept=yes")
                    .doesNotContain("x-secret").doesNotContain("keep-alive=");
        }
    }

    /**
     * An IPv6 client is forwarded in its canonical text, {@code ::1}, as nginx's {@code $remote_addr} gives it (from
     * helper-117's review of the PROXY header, which had the same cause): Java's {@code 0:0:0:0:0:0:0:1} before.
     */
    @Test
    void anIpv6ClientIsForwardedInItsCanonicalText() throws Exception {
        HttpIngressServer six = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("::1", 0), router, services::get, Duration.ofMillis(500));
        try (RawHttpClient client = new RawHttpClient(six.localAddress())) {
            RawHttpClient.Response r = client.get("shop.example", "/login");
            assertThat(r.text()).contains("x-forwarded-for=::1").doesNotContain("0:0:0:0");
        } finally {
            six.close();
        }
    }

    @Test
    void errorsOfTheProxyKeepTheConnectionOpen() throws Exception {
        router.update(rules(null));
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            RawHttpClient.Response nowhere = client.get("nowhere.example", "/");
            assertThat(nowhere.status()).isEqualTo(404);
            // dated, as an origin server's answer (RFC 9110 6.6.1)
            assertThat(io.netty.handler.codec.DateFormatter.parseHttpDate(nowhere.headers().get("date"))).isNotNull();
            assertThat(client.get("other.example", "/api/x").status()).isEqualTo(404); // Exact, no default backend
            assertThat(client.get("shop.example", "/empty").status()).isEqualTo(503);
            assertThat(client.get("shop.example", "/undefined").status()).isEqualTo(503);
            assertThat(client.get("shop.example", "/dead").status()).isEqualTo(502);
            assertThat(client.get("shop.example", "/silent").status()).isEqualTo(504);
            assertThat(client.get("shop.example", "/nothing-here").status()).isEqualTo(404);
            router.update(rules(WEB)); // a reload: the next request on the same connection sees the new table
            assertThat(client.get("shop.example", "/nothing-here").text()).startsWith("web-1 /nothing-here");
            assertThat(client.isClosedByPeer()).isFalse();
        }
        assertThat(services.get(DEAD).backends()).allSatisfy(b -> assertThat(b.inactiveConnections()).isZero());
    }

    @Test
    void aRequestNotYetSentIsRetriedOnAnotherEndpoint() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            for (int i = 0; i < 4; i++) {
                RawHttpClient.Response r = client.get("shop.example", "/half");
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.text()).startsWith("half-live /half");
            }
        }
    }

    @Test
    void oversizedHeadersAre431AndAnOversizedRequestLine414() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            RawHttpClient.Response r = client.get("shop.example", "/login", "X-Big: " + "a".repeat(20_000));
            assertThat(r.status()).isEqualTo(431);
            assertThat(client.isClosedByPeer()).isTrue();
        }
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("shop.example", "/login?" + "a".repeat(10_000)).status()).isEqualTo(414);
        }
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("shop.example", "/login", "X-Fits: " + "a".repeat(8_000)).status()).isEqualTo(200);
        }
    }

    @Test
    void aKeptAliveConnectionTheEndpointClosedIsNoFailureOfABodylessRequest() throws Exception {
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.10.160"))) {
            // every connection answers its first request, then closes on the second one without answering
            Thread acceptor = new Thread(() -> {
                int n = 0;
                while (!endpoint.isClosed()) {
                    try {
                        java.net.Socket s = endpoint.accept();
                        String body = "c" + (++n);
                        Thread conn = new Thread(() -> {
                            try (s) {
                                InputStream in = s.getInputStream();
                                readHead(in);
                                s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length()
                                        + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
                                readHead(in);
                            } catch (IOException e) {
                                // the proxy closed it
                            }
                        });
                        conn.setDaemon(true);
                        conn.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            ServiceBackend flaky = new ServiceBackend("default", "flaky", 80, null);
            services.put(flaky, rr(new InetSocketAddress("127.0.10.160", endpoint.getLocalPort())));
            router.update(RoutingTable.compile(List.of(new IngressRules<>("default/flaky", flaky, List.of()))));
            try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
                assertThat(client.get("any", "/").text()).isEqualTo("c1");
                assertThat(client.get("any", "/").text()).isEqualTo("c2"); // c1 reused, closed, sent again on c2
                // a request with a body is not sent twice: 502
                client.send("POST / HTTP/1.1\r\nHost: any\r\nContent-Length: 3\r\n\r\nabc");
                assertThat(client.read().status()).isEqualTo(502);
            }
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
    void aHeadRequestIsAnsweredWithTheHeadAloneAndTheConnectionGoesOn() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            for (int i = 0; i < 2; i++) {
                client.send("HEAD /login HTTP/1.1\r\nHost: shop.example\r\n\r\n");
                assertThat(client.line()).startsWith("HTTP/1.1 200 ");
                while (!client.line().isEmpty()) {
                    // the head's fields; a body after them would be read as the next response's status line
                }
                RawHttpClient.Response r = client.get("shop.example", "/login");
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.text()).startsWith("web-1 /login");
            }
        }
    }

    @Test
    void connectionCloseIsHonoured() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            RawHttpClient.Response r = client.get("shop.example", "/login", "Connection: close");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers().get("connection")).isEqualTo("close");
            assertThat(client.isClosedByPeer()).isTrue();
        }
    }

    @Test
    void aClientThatHalfClosesAfterItsRequestGetsTheResponseThenTheConnectionCloses() throws Exception {
        try (Socket socket = new Socket()) {
            socket.connect(ingress.localAddress(), 5000);
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write("GET /login HTTP/1.1\r\nHost: shop.example\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            socket.shutdownOutput();
            String all = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(all).startsWith("HTTP/1.1 200 ").contains("web-1 /login\n");
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        router.update(rules(null));
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /login HTTP/1.1\r\nHost: shop.example\r\n\r\n"
                    + "GET /nothing HTTP/1.1\r\nHost: nowhere.example\r\n\r\n"
                    + "GET /login?2 HTTP/1.1\r\nHost: shop.example\r\n\r\n");
            assertThat(client.read().text()).startsWith("web-1 /login\n");
            assertThat(client.read().status()).isEqualTo(404);
            assertThat(client.read().text()).startsWith("web-1 /login?2\n");
        }
    }

    @Test
    void thirtyTwoMebibytesStreamBothWays() throws Exception {
        long size = 32L << 20;
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST /echo HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n");
            long[] sent = new long[2];
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = client.output();
                    byte[] chunk = new byte[65536];
                    long sum = 0;
                    for (long written = 0; written < size; written += chunk.length) {
                        for (int i = 0; i < chunk.length; i++) {
                            chunk[i] = (byte) ((written + i) * 7 >>> 3);
                            sum = sum * 31 + chunk[i];
                        }
                        out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.write(chunk);
                        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                    out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    sent[0] = size;
                    sent[1] = sum;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            String status = client.line();
            assertThat(status).startsWith("HTTP/1.1 200");
            while (!client.line().isEmpty()) {
                // headers
            }
            long[] received = client.readChunkedDigest();
            writer.get(60, TimeUnit.SECONDS);
            assertThat(received).containsExactly(sent);
        }
    }

    /** The rules of the tests; {@code defaultBackend} may be {@code null} (then unmatched requests are 404s). */
    private static RoutingTable<ServiceBackend> rules(ServiceBackend defaultBackend) {
        return RoutingTable.compile(List.of(
                new IngressRules<>("default/shop", defaultBackend, List.of(
                        new Rule<>("shop.example", List.of(
                                new PathRule<>("/api", PathType.PREFIX, API),
                                new PathRule<>("/login", PathType.EXACT, WEB),
                                new PathRule<>("/empty", PathType.PREFIX, EMPTY),
                                new PathRule<>("/undefined", PathType.PREFIX,
                                        new ServiceBackend("default", "nowhere", 80, null)),
                                new PathRule<>("/dead", PathType.PREFIX, DEAD),
                                new PathRule<>("/half", PathType.PREFIX, HALF),
                                new PathRule<>("/silent", PathType.PREFIX, SILENT),
                                new PathRule<>("/echo", PathType.PREFIX, ECHO))))),
                new IngressRules<>("default/other", null, List.of(
                        new Rule<>("other.example", List.of(new PathRule<>("/api", PathType.EXACT, API)))))));
    }

    // --- endpoints

    private InetSocketAddress endpoint(String ip, String name) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(ip, 0), 50);
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            StringBuilder sb = new StringBuilder(name + " " + exchange.getRequestURI() + "\n");
            sb.append("peer=").append(exchange.getRemoteAddress().getPort()).append('\n');
            new TreeMap<>(exchange.getRequestHeaders()).forEach((k, v) -> sb.append(k.toLowerCase()).append('=')
                    .append(String.join(", ", v)).append('\n'));
            byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        endpoints.add(server);
        return server.getAddress();
    }

    private InetSocketAddress echoEndpoint(String ip) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(ip, 0), 50);
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(200, 0);
            try (InputStream in = exchange.getRequestBody(); OutputStream out = exchange.getResponseBody()) {
                in.transferTo(out);
            }
        });
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        endpoints.add(server);
        return server.getAddress();
    }

    private static int deadPort(String ip) throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(ip))) {
            return s.getLocalPort();
        }
    }

    private static BackendSet rr(InetSocketAddress... addresses) {
        List<BackendState> list = new ArrayList<>();
        for (InetSocketAddress a : addresses) {
            list.add(BackendState.of(a.getAddress(), a.getPort(), 1));
        }
        return BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list, System::nanoTime);
    }

    private String nameOf(BackendState b) {
        for (HttpServer s : endpoints) {
            if (s.getAddress().getAddress().equals(b.address()) && s.getAddress().getPort() == b.port()) {
                return "api-" + b.address().getHostAddress().substring("127.0.10.15".length());
            }
        }
        throw new AssertionError("no endpoint " + b);
    }
}
