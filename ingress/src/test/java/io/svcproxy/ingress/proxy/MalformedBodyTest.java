package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A malformed chunk in a body (Netty's decoder passes it on as a last part with a failed result and reads nothing
 * more of that connection): from an endpoint, the endpoint's connection is closed, never pooled, and the client's
 * response is aborted (a 502 if nothing of it was written, else the client's connection closes short of the body's
 * end; an HTTP/2 client's stream is reset); from a client, the request is not completed towards the endpoint, the
 * client gets a 400 and its connection closes. On 127.0.0.164 (listener), 127.0.0.165 (scripted endpoint) and
 * 127.0.0.166 (raw endpoint).
 */
@Timeout(60)
class MalformedBodyTest {
    private static final ServiceBackend SCRIPTED = new ServiceBackend("default", "scripted", 80, null);
    private static final ServiceBackend RAW = new ServiceBackend("default", "raw", 80, null);
    /** Short, so that a request sent on a connection with a dead decoder would be a 504 within the test's time. */
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(3);

    /** The proxy closed the endpoint connection of a {@code /early} request. */
    private static volatile CountDownLatch earlyClosed = new CountDownLatch(1);

    private ScriptedEndpoint scripted;
    private RawHttpEndpoint raw;
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        scripted = new ScriptedEndpoint("127.0.0.165", MalformedBodyTest::answer);
        raw = new RawHttpEndpoint("127.0.0.166");
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(
                new IngressRules<>("default/raw", null, List.of(new IngressRules.Rule<>("raw.example", List.of(
                        new IngressRules.PathRule<>("/", PathType.PREFIX, RAW))))),
                new IngressRules<>("default/scripted", SCRIPTED, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(
                SCRIPTED, TestEndpoints.rr(scripted.address()), RAW, TestEndpoints.rr(raw.address()));
        // one event loop: one endpoint pool, so a connection pooled by one client connection serves the next
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.0.164", 0), router, sets::get,
                IngressOptions.defaults().withResponseTimeout(RESPONSE_TIMEOUT), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        scripted.close();
        raw.close();
    }

    /**
     * {@code /split}: a chunked response's head and first chunk, then (in a later segment) a chunk size that is
     * not hex; {@code /one-write}: a head and such a chunk size in one write; anything else: 200 "ok". The
     * connection stays open after each: only the proxy may close it.
     */
    private static boolean answer(String requestLine, java.io.InputStream in, OutputStream out)
            throws IOException, InterruptedException {
        String path = requestLine.split(" ")[1];
        String chunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        if (path.equals("/split")) {
            out.write((chunkedHead + "5\r\nhello\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(200); // the head and first chunk reach the client before the failure
            out.write("zz\r\nworld\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        } else if (path.equals("/early")) {
            // answers before the request's body has ended, then reads on until the proxy closes the connection
            out.write((chunkedHead + "5\r\nearly\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            while (in.read() >= 0) {
                // the request's body, as far as the proxy sends it
            }
            earlyClosed.countDown();
            return false;
        } else if (path.equals("/one-write")) {
            out.write((chunkedHead + "zz\r\nworld\r\n0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        } else {
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
        }
        return true;
    }

    @Test
    void anEndpointsMalformedChunkAfterTheHeadTruncatesTheClientsResponseAndItsConnectionIsNotPooled()
            throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /split HTTP/1.1\r\nHost: any\r\n\r\n");
            assertThat(client.line()).isEqualTo("HTTP/1.1 200 OK");
            String line;
            while (!(line = client.line()).isEmpty()) {
                assertThat(line.toLowerCase()).doesNotStartWith("content-length");
            }
            assertThat(client.line()).isEqualTo("5");
            assertThat(client.line()).isEqualTo("hello");
            // no terminating chunk: the connection closes, and the client sees the body cut short
            assertThatThrownBy(client::line).isInstanceOf(IOException.class).hasMessage("Connection reset");
        }
        assertThat(scripted.requests.poll(10, TimeUnit.SECONDS)).isEqualTo("1 GET /split HTTP/1.1");
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            // the endpoint's connection, whose decoder reads nothing more, was closed, not pooled: a fresh one
            RawHttpClient.Response next = client.get("any", "/next");
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.text()).isEqualTo("ok");
            assertThat(scripted.requests.poll(10, TimeUnit.SECONDS)).isEqualTo("2 GET /next HTTP/1.1");
        }
    }

    @Test
    void overHttp2AnEndpointsMalformedChunkResetsTheStreamAndTheConnectionGoesOn() throws Exception {
        RawH2Client h2 = RawH2Client.connect(group, ingress.localAddress());
        try {
            h2.headers(1, new DefaultHttp2Headers().method("GET").scheme("http").authority("any").path("/split"),
                    true);
            List<RawH2Client.Frame> frames = h2.untilEnd(1);
            assertThat(frames.get(0)).isInstanceOfSatisfying(RawH2Client.Headers.class,
                    h -> assertThat(h.headers().status().toString()).isEqualTo("200"));
            // the body's first chunk, then a reset instead of the stream's end
            StringBuilder body = new StringBuilder();
            for (RawH2Client.Frame f : frames) {
                if (f instanceof RawH2Client.Data d) {
                    assertThat(d.endStream()).isFalse();
                    body.append(new String(d.bytes(), StandardCharsets.US_ASCII));
                }
            }
            assertThat(body.toString()).isEqualTo("hello");
            assertThat(frames.get(frames.size() - 1)).isInstanceOf(RawH2Client.Reset.class);
            assertThat(scripted.requests.poll(10, TimeUnit.SECONDS)).isEqualTo("1 GET /split HTTP/1.1");
            // the connection goes on, on a fresh endpoint connection
            h2.headers(3, new DefaultHttp2Headers().method("GET").scheme("http").authority("any").path("/next"),
                    true);
            List<RawH2Client.Frame> next = h2.untilEnd(3);
            assertThat(next.get(0)).isInstanceOfSatisfying(RawH2Client.Headers.class,
                    h -> assertThat(h.headers().status().toString()).isEqualTo("200"));
            assertThat(scripted.requests.poll(10, TimeUnit.SECONDS)).isEqualTo("2 GET /next HTTP/1.1");
        } finally {
            h2.close();
        }
    }

    @Test
    void anEndpointsMalformedChunkInTheReadOfItsHeadIsA502AndTheConnectionIsNotPooled() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            RawHttpClient.Response r = client.get("any", "/one-write");
            assertThat(r.status()).isEqualTo(502);
            assertThat(scripted.requests.poll(10, TimeUnit.SECONDS)).isEqualTo("1 GET /one-write HTTP/1.1");
            // the proxy's own status keeps the client's connection; the endpoint's is not reused
            RawHttpClient.Response next = client.get("any", "/next");
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.text()).isEqualTo("ok");
            assertThat(scripted.requests.poll(10, TimeUnit.SECONDS)).isEqualTo("2 GET /next HTTP/1.1");
        }
    }

    @Test
    void aClientsMalformedChunkAfterTheResponseStartedClosesBothConnectionsShortOfTheirEnds() throws Exception {
        earlyClosed = new CountDownLatch(1);
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST /early HTTP/1.1\r\nHost: any\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            assertThat(client.line()).isEqualTo("HTTP/1.1 200 OK");
            while (!client.line().isEmpty()) {
                // the response's head
            }
            assertThat(client.line()).isEqualTo("5");
            assertThat(client.line()).isEqualTo("early");
            client.send("zz\r\nworld\r\n0\r\n\r\n");
            // the request is not completed towards the endpoint: its connection closes
            assertThat(earlyClosed.await(10, TimeUnit.SECONDS)).isTrue();
            // and the client's, without the response's end
            assertThatThrownBy(client::line).isInstanceOf(IOException.class).hasMessage("Connection reset");
        }
    }

    @Test
    void aClientsMalformedChunkIsA400AndTheRequestIsNotCompletedTowardsTheEndpoint() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST /upload HTTP/1.1\r\nHost: raw.example\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n");
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.headers()).containsEntry("connection", "close");
            assertThat(client.isClosedByPeer()).isTrue();
        }
        // the endpoint got the head and maybe "hello", never the request's end: it records no request
        assertThat(raw.received.poll(500, TimeUnit.MILLISECONDS)).isNull();
        // the listener goes on
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("raw.example", "/after").status()).isEqualTo(200);
            assertThat(raw.received.poll(10, TimeUnit.SECONDS).head().get(0)).isEqualTo("GET /after HTTP/1.1");
        }
    }
}
