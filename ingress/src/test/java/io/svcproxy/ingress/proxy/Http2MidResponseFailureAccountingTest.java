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
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.proxy.RawH2Client.Frame;
import io.svcproxy.ingress.proxy.RawH2Client.Headers;
import io.svcproxy.ingress.proxy.RawH2Client.Reset;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
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
 * An HTTP/2 stream whose response started and then failed (the endpoint closed short of the body's end, or sent a
 * malformed chunk) is reset, and is still an answered request: counted in the request metrics with the status the
 * client got and written to the access log, as on HTTP/1.1 ({@link MidResponseFailureAccountingTest}). On
 * 127.0.0.184 (listener) and 127.0.0.185 (scripted endpoint).
 */
@Timeout(60)
class Http2MidResponseFailureAccountingTest {
    private static final ServiceBackend SCRIPTED = new ServiceBackend("default", "scripted", 80, null);

    record Call(Route<ServiceBackend> route, int status) {
    }

    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final ListAppender<ILoggingEvent> accessLog = new ListAppender<>();
    private Logger accessLogger;
    private Level accessLevel;
    private ScriptedEndpoint scripted;
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        accessLogger = (Logger) LoggerFactory.getLogger(IngressFrontendHandler.ACCESS_LOG.getName());
        accessLevel = accessLogger.getLevel();
        accessLogger.setLevel(Level.DEBUG);
        accessLog.start();
        accessLogger.addAppender(accessLog);
        scripted = new ScriptedEndpoint("127.0.0.185", Http2MidResponseFailureAccountingTest::answer);
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/scripted", SCRIPTED, List.of()))));
        Map<ServiceBackend, BackendSet> sets = Map.of(SCRIPTED, TestEndpoints.rr(scripted.address()));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        IngressMetrics metrics = new IngressMetrics() {
            @Override
            public void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
                calls.add(new Call(route, status));
            }
        };
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.0.184", 0), router, sets::get, IngressOptions.defaults(), metrics);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        scripted.close();
        accessLogger.detachAppender(accessLog);
        accessLogger.setLevel(accessLevel);
    }

    /**
     * {@code /cut}: 206 with a length of 10, 5 bytes, then the close; {@code /malformed}: a chunked 200, a chunk,
     * then (200 ms later, so that the head and the chunk reach the client first) a chunk size that is not hex.
     */
    private static boolean answer(String requestLine, InputStream in, OutputStream out)
            throws IOException, InterruptedException {
        String path = requestLine.split(" ")[1];
        if (path.equals("/cut")) {
            out.write("HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n\r\nhello"
                    .getBytes(StandardCharsets.US_ASCII));
            return false;
        }
        out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Thread.sleep(200);
        out.write("zz\r\nworld\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return true;
    }

    private List<String> accessLines() {
        return accessLog.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("client=")).toList();
    }

    /** Sends a GET for {@code path} on stream 1 and returns the stream's frames up to its end or reset. */
    private List<Frame> get(RawH2Client client, String path) throws InterruptedException {
        client.headers(1, new DefaultHttp2Headers().method("GET").path(path).scheme("http").authority("any"), true);
        return client.untilEnd(1);
    }

    @Test
    void anEndpointClosingShortOfTheBodysEndResetsTheStreamAndIsCountedWithItsStatus() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            List<Frame> frames = get(client, "/cut");
            assertThat(((Headers) frames.get(0)).headers().status()).hasToString("206");
            assertThat(frames.get(frames.size() - 1)).isInstanceOf(Reset.class);
            assertThat(((Reset) frames.get(frames.size() - 1)).errorCode())
                    .isEqualTo(Http2Error.INTERNAL_ERROR.code());
            assertThat(client.isActive()).isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 1);
        assertThat(calls.get(0).status()).isEqualTo(206);
        assertThat(calls.get(0).route().backend()).isEqualTo(SCRIPTED);
        assertThat(accessLines()).singleElement().asString().contains("proto=h2 method=GET")
                .contains("uri=/cut status=206 ");
    }

    @Test
    void anEndpointsMalformedChunkAfterTheHeadResetsTheStreamAndIsCountedWithTheStatusTheClientGot()
            throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            List<Frame> frames = get(client, "/malformed");
            assertThat(((Headers) frames.get(0)).headers().status()).hasToString("200");
            assertThat(frames.get(frames.size() - 1)).isInstanceOf(Reset.class);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 1);
        assertThat(calls.get(0).status()).isEqualTo(200);
        assertThat(accessLines()).singleElement().asString().contains("uri=/malformed status=200 ");
    }
}
