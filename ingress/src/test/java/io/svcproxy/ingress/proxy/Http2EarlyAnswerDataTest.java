package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.proxy.RawH2Client.Data;
import io.svcproxy.ingress.proxy.RawH2Client.Frame;
import io.svcproxy.ingress.proxy.RawH2Client.Headers;
import io.svcproxy.ingress.proxy.RawH2Client.Reset;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * From helper-134's review of the Ingress's HTTP/2 side: DATA frames still in flight behind the proxy's early answer
 * (its RST_STREAM NO_ERROR) were each answered with RST_STREAM STREAM_CLOSED, which Netty's limit of resets sent
 * counted until it ended the client's whole connection (ENHANCE_YOUR_CALM); they are ignored now, as RFC 9113 5.1
 * says and nginx does. Listener on 127.0.134.1, endpoints on 127.0.0.142.
 */
@Timeout(180)
class Http2EarlyAnswerDataTest {
    private static final ServiceBackend API = new ServiceBackend("default", "api", 80, null);

    /** One {@link IngressMetrics#requestCompleted} call. */
    record Call(Route<ServiceBackend> route, int status) {
    }

    private final TestEndpoints endpoints = new TestEndpoints();
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final ListAppender<ILoggingEvent> accessLog = new ListAppender<>();
    private Logger accessLogger;
    private Level accessLevel;
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        accessLogger = (Logger) LoggerFactory.getLogger(AccessLog.LOG.getName());
        accessLevel = accessLogger.getLevel();
        accessLogger.setLevel(Level.DEBUG);
        accessLog.start();
        accessLogger.addAppender(accessLog);
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        listen(IngressOptions.defaults());
    }

    /** api.example goes to the endpoint (TestEndpoints' paths); any other host is the proxy's own 404. */
    private void listen(IngressOptions options) throws Exception {
        if (ingress != null) {
            ingress.close();
        }
        InetSocketAddress api = endpoints.start("127.0.0.142", "api");
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/api", null, List.of(
                new Rule<>("api.example", List.of(new PathRule<>("/", PathType.PREFIX, API))))))));
        IngressMetrics metrics = new IngressMetrics() {
            @Override
            public void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
                calls.add(new Call(route, status));
            }
        };
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.134.1", 0),
                router, Map.of(API, TestEndpoints.rr(api))::get, options, metrics);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoints.close();
        accessLogger.detachAppender(accessLog);
        accessLogger.setLevel(accessLevel);
    }

    private static Http2Headers request(String method, String host, String path) {
        return new DefaultHttp2Headers().method(method).scheme("http").authority(host).path(path);
    }

    /** The GOAWAY's error code if the client got one (or lost its connection: -1), else {@code null}. */
    private static Long goAwayCode(RawH2Client client) {
        if (client.isActive()) {
            return null;
        }
        try {
            return client.awaitGoAway()[1];
        } catch (Exception e) {
            return -1L;
        }
    }

    /** The frames of {@code stream} up to its RST_STREAM; {@code null} if the connection went away first. */
    private static List<Frame> untilReset(RawH2Client client, int stream) throws InterruptedException {
        List<Frame> frames = new ArrayList<>();
        while (true) {
            Frame f;
            try {
                f = client.next(stream);
            } catch (AssertionError e) {
                return null; // nothing within 20 s: the connection went away
            }
            frames.add(f);
            if (f instanceof Reset) {
                return frames;
            }
        }
    }

    /**
     * When the proxy answers a stream before its request body ended (here its own 404; an endpoint's early 413 is
     * the same), it sends RST_STREAM NO_ERROR behind the answer (RFC 9113 8.1), and the client's DATA frames already
     * on the wire arrive after it: RFC 9113 5.1 says an endpoint "MUST ignore frames that it receives on closed
     * streams after it has sent a RST_STREAM frame" (nginx skips them: "unknown http2 stream"). Netty's decoder
     * answers each with RST_STREAM STREAM_CLOSED instead, and its Http2MaxRstFrameLimitEncoder, on by default for
     * a server (200 such resets in 30 s), then ends the whole connection with GOAWAY ENHANCE_YOUR_CALM: a client
     * whose uploads are refused 13 times in 30 s (one stream window of 16 KiB frames in flight each) loses its
     * connection and every stream on it. Here the frames "in flight" are sent once the reset has arrived, which is
     * what the proxy sees of frames that crossed it.
     */
    @Test
    void dataFramesInFlightBehindTheProxysEarlyAnswerDoNotCostTheClientItsConnection() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            // the connection window the proxy opens after its preface (32 MiB), before sending more than 64 KiB
            assertThat(client.awaitWindowIncrements(0, 1, 10_000)).isTrue();
            byte[] frame = new byte[16 * 1024];
            List<Long> closedResets = new ArrayList<>();
            int stream = 1;
            for (int i = 0; i < 14 && client.isActive(); i++, stream += 2) {
                client.headers(stream, request("POST", "nowhere.example", "/upload"), false);
                List<Frame> frames = untilReset(client, stream);
                if (frames == null) {
                    break;
                }
                assertThat(((Headers) frames.get(0)).headers().status()).hasToString("404");
                assertThat(((Reset) frames.get(frames.size() - 1)).errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
                for (int k = 0; k < 16; k++) { // the stream's 256 KiB window, sent before the reset reached the client
                    client.data(stream, frame, false);
                }
            }
            int last = stream;
            client.headers(last, request("GET", "nowhere.example", "/after"), true);
            await().atMost(Duration.ofSeconds(20)).until(() -> client.hasFrame(last) || !client.isActive());
            for (int s = 1; s < stream; s += 2) {
                while (client.hasFrame(s)) {
                    Frame f = client.next(s);
                    if (f instanceof Reset r) {
                        closedResets.add(r.errorCode());
                    }
                }
            }
            assertThat(goAwayCode(client))
                    .as("GOAWAY code after %d refused uploads (ENHANCE_YOUR_CALM is %d); the proxy answered their "
                            + "frames in flight with %d RST_STREAM(STREAM_CLOSED)", (stream - 1) / 2,
                            Http2Error.ENHANCE_YOUR_CALM.code(), closedResets.stream()
                                    .filter(c -> c == Http2Error.STREAM_CLOSED.code()).count())
                    .isNull();
            assertThat(((Headers) client.next(stream)).headers().status()).hasToString("404");
        }
    }

}
