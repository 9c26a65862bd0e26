package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link IngressServer#drain}, what a graceful shutdown does to the Ingress's connections: the listener refuses new
 * ones, HTTP/1.1 closes between requests and after the response under way ({@code Connection: close}), HTTP/2
 * sends GOAWAY with the last stream it took and finishes it. The request under way waits at a {@link GatedEndpoint}
 * until the test opens it. On 127.0.10.220-222.
 */
@Timeout(60)
class DrainTest {
    private static final ServiceBackend GATED = new ServiceBackend("default", "gated", 80, null);
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);

    private final TestEndpoints endpoints = new TestEndpoints();
    private EventLoopGroup group;
    private GatedEndpoint gated;
    private Map<ServiceBackend, BackendSet> sets;
    private final Router<ServiceBackend> router = new Router<>();
    private HttpIngressServer ingress;
    @TempDir
    Path dir;

    @BeforeEach
    void setUp() throws Exception {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        gated = new GatedEndpoint("127.0.10.221");
        sets = Map.of(GATED, TestEndpoints.rr(gated.address()),
                WEB, TestEndpoints.rr(endpoints.start("127.0.10.222", "web-1")));
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/gate", WEB, List.of(
                new Rule<>("gate.example", List.of(new PathRule<>("/", PathType.PREFIX, GATED))))))));
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.220", 0),
                router, sets::get, IngressOptions.defaults(), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        gated.open();
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        gated.close();
        endpoints.close();
    }

    @Test
    void http11ClosesBetweenRequestsAtOnceAndAfterTheResponseUnderWay() throws Exception {
        InetSocketAddress address = ingress.localAddress();
        try (RawHttpClient idle = new RawHttpClient(address); RawHttpClient busy = new RawHttpClient(address)) {
            assertThat(idle.get("web.example", "/first").status()).isEqualTo(200);
            busy.send("POST /upload HTTP/1.1\r\nHost: gate.example\r\nContent-Length: 3\r\n\r\nabc");
            await().atMost(Duration.ofSeconds(10)).until(() -> gated.heads.get() == 1);
            assertThat(ingress.connections()).isEqualTo(2);

            ingress.drain();

            await().atMost(Duration.ofSeconds(10)).until(idle::isClosedByPeer);
            assertThatThrownBy(() -> new Socket(address.getAddress(), address.getPort()).close())
                    .isInstanceOf(ConnectException.class);
            assertThat(busy.isClosedByPeer()).isFalse(); // its response is not there yet
            assertThat(ingress.connections()).isEqualTo(1);
            gated.open();
            RawHttpClient.Response r = busy.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers()).containsEntry("connection", "close");
            assertThat(r.text()).isEqualTo(sha256("abc"));
            await().atMost(Duration.ofSeconds(10)).until(busy::isClosedByPeer);
            await().atMost(Duration.ofSeconds(10)).until(() -> ingress.connections() == 0);
        }
    }

    /** A request whose head is still arriving when the drain starts is answered, then the connection closes. */
    @Test
    void aRequestHalfReadWhenTheDrainStartsIsStillAnswered() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /half HTTP/1.1\r\nHost: web.exa");
            await().atMost(Duration.ofSeconds(5)).pollDelay(Duration.ofMillis(100)).until(() -> true);
            ingress.drain();
            assertThat(client.isClosedByPeer()).isFalse();
            client.send("mple\r\n\r\n");
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers()).containsEntry("connection", "close");
            assertThat(r.text()).startsWith("web-1 /half\n");
            await().atMost(Duration.ofSeconds(10)).until(client::isClosedByPeer);
        }
    }

    @Test
    void http2GetsGoAwayWithItsLastStreamAndThatStreamIsAnswered() throws Exception {
        RawH2Client client = RawH2Client.connect(group, ingress.localAddress());
        try {
            client.headers(1, request("gate.example", "/h2"), true);
            await().atMost(Duration.ofSeconds(10)).until(() -> gated.heads.get() == 1);

            ingress.drain();

            long[] goAway = client.awaitGoAway();
            assertThat(goAway[0]).as("last stream id").isEqualTo(1);
            assertThat(goAway[1]).as("error code").isEqualTo(Http2Error.NO_ERROR.code());
            client.headers(3, request("web.example", "/after"), true); // above the last stream: not taken
            gated.open();
            List<RawH2Client.Frame> frames = client.untilEnd(1);
            assertThat(((RawH2Client.Headers) frames.get(0)).headers().status().toString()).isEqualTo("200");
            StringBuilder body = new StringBuilder();
            for (RawH2Client.Frame f : frames) {
                if (f instanceof RawH2Client.Data d) {
                    body.append(new String(d.bytes(), StandardCharsets.US_ASCII));
                }
            }
            assertThat(body.toString()).isEqualTo(sha256(""));
            assertThat(client.awaitClosed(10_000)).isTrue();
            if (client.hasFrame(3)) {
                // Netty refuses it, or ignores it: either way not processed, as the GOAWAY told the client
                assertThat(client.next(3)).isEqualTo(new RawH2Client.Reset(3, Http2Error.REFUSED_STREAM.code()));
            }
            assertThat(endpoints.hits("web-1")).isZero();
        } finally {
            client.close();
        }
    }

    /**
     * A client that has not read the drain's GOAWAY yet opens a stream above its last stream, then cancels it (a
     * browser's RST_STREAM), sends its body, widens its window or reprioritizes it: those frames are ignored (RFC
     * 9113 6.8), not a connection error (Netty's PROTOCOL_ERROR, "Stream 3 does not exist": the refused HEADERS
     * never created it) that would cut the response the GOAWAY promised to finish.
     */
    @ParameterizedTest
    @ValueSource(strings = {"RST_STREAM", "DATA", "WINDOW_UPDATE", "PRIORITY"})
    void framesOfAStreamAboveTheGoAwaysLastStreamAreIgnored(String frame) throws Exception {
        RawH2Client client = RawH2Client.connect(group, ingress.localAddress());
        try {
            client.headers(1, request("gate.example", "/h2"), true);
            await().atMost(Duration.ofSeconds(10)).until(() -> gated.heads.get() == 1);
            ingress.drain();
            assertThat(client.awaitGoAway()[0]).as("last stream id").isEqualTo(1);

            // sent as if the GOAWAY were still on its way: the server reads them after it sent it
            client.headers(3, request("web.example", "/late"), false);
            switch (frame) {
                case "RST_STREAM" -> client.reset(3, Http2Error.CANCEL.code());
                case "DATA" -> client.data(3, "late body".getBytes(StandardCharsets.US_ASCII), true);
                case "WINDOW_UPDATE" -> client.windowUpdate(3, 1024);
                case "PRIORITY" -> client.priority(3);
                default -> throw new IllegalArgumentException("frame: " + frame);
            }
            client.ping(); // the server has read them
            gated.open();

            List<RawH2Client.Frame> frames = client.untilEnd(1);
            assertThat(((RawH2Client.Headers) frames.get(0)).headers().status().toString()).isEqualTo("200");
            assertThat(((RawH2Client.Data) frames.get(frames.size() - 1)).bytes())
                    .asString(StandardCharsets.US_ASCII).endsWith(sha256(""));
            assertThat(client.awaitClosed(10_000)).isTrue();
            assertThat(client.goAwayCodes()).as("GOAWAY codes").containsOnly(Http2Error.NO_ERROR.code());
            assertThat(endpoints.hits("web-1")).isZero();
        } finally {
            client.close();
        }
    }

    @Test
    void anIdleTlsConnectionIsClosedAndOneInItsHandshakeToo() throws Exception {
        TestCertificates ca = new TestCertificates(dir);
        TlsCertificates certs = TlsCertificates.of(List.of(ca.issue("gate", "web.example")));
        try (HttpsIngressServer https = HttpsIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.10.220", 0), router, sets::get, IngressOptions.defaults(),
                IngressMetrics.NONE, certs);
             RawHttpClient tls = new RawHttpClient(ca.clientContext().getSocketFactory().createSocket(
                     https.localAddress().getAddress(), https.localAddress().getPort()));
             Socket handshaking = new Socket(https.localAddress().getAddress(), https.localAddress().getPort())) {
            assertThat(tls.get("web.example", "/tls").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> https.connections() == 2);
            https.drain();
            await().atMost(Duration.ofSeconds(10)).until(tls::isClosedByPeer);
            handshaking.setSoTimeout(10_000);
            assertThat(handshaking.getInputStream().read()).isEqualTo(-1);
            await().atMost(Duration.ofSeconds(10)).until(() -> https.connections() == 0);
        }
    }

    /**
     * The drain of a connection between requests whose last response is written but not flushed yet (the proxy
     * flushes once per event-loop turn, and the drain may come first): the bytes go out, then the connection closes.
     */
    @Test
    void aResponseNotYetFlushedWhenTheDrainComesGoesOutBeforeTheClose() {
        IngressOptions options = IngressOptions.defaults();
        io.netty.channel.embedded.EmbeddedChannel connection = new io.netty.channel.embedded.EmbeddedChannel(
                new ClientTimeouts(options), new IngressFrontendHandler(ListenerSettings.create(router, sets::get,
                        options, "http", IngressMetrics.NONE)));
        connection.write(io.netty.buffer.Unpooled.copiedBuffer("the end of a response", StandardCharsets.US_ASCII));
        connection.pipeline().get(ClientTimeouts.class).drain();
        connection.runPendingTasks();
        assertThat(connection.isOpen()).isFalse();
        io.netty.buffer.ByteBuf out = connection.readOutbound();
        assertThat(out).as("flushed before the close").isNotNull();
        assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo("the end of a response");
        out.release();
    }

    /**
     * A drain that comes while the HTTP/2 prior-knowledge preface is half read: once the connection is HTTP/2 it
     * gets its GOAWAY and closes, instead of going on as if no drain had come.
     */
    @Test
    void aConnectionThatBecomesHttp2AfterTheDrainGetsItsGoAway() throws Exception {
        try (Socket client = new Socket(ingress.localAddress().getAddress(), ingress.localAddress().getPort())) {
            client.setSoTimeout(10_000);
            java.io.OutputStream out = client.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            await().atMost(Duration.ofSeconds(10)).until(() -> ingress.connections() == 1);
            Thread.sleep(100); // the bytes read
            ingress.drain();
            out.write("\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // an empty SETTINGS
            out.flush();
            java.io.DataInputStream in = new java.io.DataInputStream(client.getInputStream());
            boolean goAway = false;
            while (true) { // frames until the close: a GOAWAY (type 7) among them
                byte[] header = new byte[9];
                try {
                    in.readFully(header);
                } catch (java.io.EOFException e) {
                    break;
                }
                int length = (header[0] & 0xff) << 16 | (header[1] & 0xff) << 8 | header[2] & 0xff;
                in.readFully(new byte[length]);
                goAway |= header[3] == 7;
            }
            assertThat(goAway).isTrue();
        }
    }

    /** A connection that joins the listener's set after the drain went over it (its set-up was late) is drained too. */
    @Test
    void aConnectionSetUpAfterTheDrainStartedIsDrained() {
        ClientConnections connections = new ClientConnections();
        io.netty.channel.embedded.EmbeddedChannel early = new io.netty.channel.embedded.EmbeddedChannel(
                new ClientTimeouts(IngressOptions.defaults()));
        connections.add(early);
        connections.drain();
        io.netty.channel.embedded.EmbeddedChannel late = new io.netty.channel.embedded.EmbeddedChannel(
                new ClientTimeouts(IngressOptions.defaults()));
        connections.add(late);
        early.runPendingTasks();
        late.runPendingTasks();
        assertThat(early.isOpen()).isFalse(); // no protocol handler yet: closed
        assertThat(late.isOpen()).isFalse();
    }

    private static Http2Headers request(String authority, String path) {
        return new DefaultHttp2Headers().method("GET").scheme("http").authority(authority).path(path);
    }

    private static String sha256(String body) {
        return HexFormat.of().formatHex(TestEndpoints.sha256().digest(body.getBytes(StandardCharsets.US_ASCII)));
    }
}
