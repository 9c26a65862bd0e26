package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

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
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 requests that wait for {@code 100 Continue} (RFC 9113 8.1, RFC 9110 10.1.1) and trailers both ways
 * (RFC 9113 8.1: a trailing HEADERS frame; on the HTTP/1.1 side chunked trailers), frame by frame with
 * {@link RawH2Client} and with nghttp. The endpoint's {@code 100} is relayed as an interim HEADERS frame, as
 * HAProxy relays a server's 100 when it does not buffer the body. On 127.0.10.167-169.
 */
@Timeout(120)
class Http2ContinueAndTrailersTest {
    private static final ServiceBackend JDK = new ServiceBackend("default", "jdk", 80, null);
    private static final ServiceBackend RAW = new ServiceBackend("default", "raw", 80, null);

    private final TestEndpoints endpoints = new TestEndpoints();
    private RawHttpEndpoint raw;
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        InetSocketAddress jdk = endpoints.start("127.0.10.168", "jdk");
        raw = new RawHttpEndpoint("127.0.10.169");
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/h2", JDK, List.of(
                new Rule<>("raw.example", List.of(new PathRule<>("/", PathType.PREFIX, RAW))))))));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.167", 0),
                router, Map.of(JDK, TestEndpoints.rr(jdk), RAW, TestEndpoints.rr(raw.address()))::get,
                IngressOptions.defaults(), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        raw.close();
        endpoints.close();
    }

    @Test
    void theEndpoints100ContinueReachesTheClientAsAnInterimHeadersFrameThenTheBodyFlows() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, request("api.example", "POST", "/sha256").set("expect", "100-continue")
                    .setInt("content-length", 3), false);
            // the client holds its body back until the 100 (the JDK endpoint sends it when it reads the head)
            Frame interim = client.next(1);
            assertThat(interim).isInstanceOf(Headers.class);
            assertThat(((Headers) interim).headers().status()).hasToString("100");
            assertThat(((Headers) interim).endStream()).isFalse();
            client.data(1, "abc".getBytes(StandardCharsets.US_ASCII), true);
            List<Frame> rest = client.untilEnd(1);
            assertThat(((Headers) rest.get(0)).headers().status()).hasToString("200");
            assertThat(body(rest)).isEqualTo(sha256("abc".getBytes(StandardCharsets.US_ASCII)));
        }
    }

    @Test
    void nghttpWaitingFor100ContinueGetsItAndItsUploadGoesThrough(@TempDir Path dir) throws Exception {
        byte[] upload = new byte[300_000];
        TestEndpoints.pattern(0, upload, upload.length);
        Path file = dir.resolve("upload.bin");
        Files.write(file, upload);
        Curl.Result r = Curl.run(List.of("nghttp", "-v", "--expect-continue", "-d", file.toString(),
                "http://127.0.10.167:" + ingress.localAddress().getPort() + "/sha256"));
        assertThat(r.exitCode()).as(r.err()).isZero();
        // -v prints the frames: the interim 100 HEADERS arrived (nghttp waits for it 1 s at most, then sends its
        // body anyway, so on a busy machine it may come after the first DATA: the order is the frame-level test's)
        assertThat(r.out()).contains(":status: 100").contains(":status: 200").contains(sha256(upload));
        assertThat(r.out().indexOf(":status: 100")).isLessThan(r.out().indexOf(":status: 200"));
    }

    @Test
    void anEndpointRejectingTheExpectationAnswersTheStreamWhoseBodyWasNeverSentAndTheConnectionGoesOn()
            throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, request("raw.example", "PUT", "/reject").set("expect", "100-continue")
                    .setInt("content-length", 1 << 20), false);
            List<Frame> frames = client.untilEnd(1);
            assertThat(((Headers) frames.get(0)).headers().status()).hasToString("417");
            // the response ended before the request: the client may stop sending (RFC 9113 8.1)
            Frame last = frames.get(frames.size() - 1);
            if (last instanceof Reset reset) {
                assertThat(reset.errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
            }
            client.headers(3, request("api.example", "GET", "/after"), true);
            List<Frame> after = client.untilEnd(3);
            assertThat(((Headers) after.get(0)).headers().status()).hasToString("200");
            assertThat(client.isActive()).isTrue();
        }
    }

    @Test
    void aResponseWithoutBodyGoesAsOneHeadersFrameThatEndsTheStream() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            // the endpoint's 417 has "content-length: 0": read whole, it needs no DATA frame
            client.headers(1, request("raw.example", "GET", "/reject"), true);
            Frame only = client.next(1);
            assertThat(only).isInstanceOf(Headers.class);
            assertThat(((Headers) only).headers().status()).hasToString("417");
            assertThat(((Headers) only).endStream()).isTrue();
            // and the stream's frames end there: the next request's answer comes, nothing more on stream 1
            client.headers(3, request("api.example", "GET", "/after"), true);
            assertThat(((Headers) client.untilEnd(3).get(0)).headers().status()).hasToString("200");
            assertThat(client.hasFrame(1)).isFalse();
        }
    }

    @Test
    void requestTrailersReachTheEndpointAsChunkedTrailers() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, request("raw.example", "POST", "/echo").set("te", "trailers")
                    .set("content-type", "application/grpc"), false);
            client.data(1, "hello ".getBytes(StandardCharsets.US_ASCII), false);
            client.data(1, "world".getBytes(StandardCharsets.US_ASCII), false);
            client.headers(1, new DefaultHttp2Headers().set("x-checksum", "123").set("grpc-timeout", "1S"), true);
            List<Frame> frames = client.untilEnd(1);
            assertThat(((Headers) frames.get(0)).headers().status()).hasToString("200");
            RawHttpEndpoint.Received got = raw.received.poll(10, TimeUnit.SECONDS);
            assertThat(got).isNotNull();
            assertThat(got.hasHeader("transfer-encoding: chunked")).as(got.head().toString()).isTrue();
            assertThat(new String(got.body(), StandardCharsets.US_ASCII)).isEqualTo("hello world");
            assertThat(got.trailers()).containsExactlyInAnyOrder("x-checksum: 123", "grpc-timeout: 1S");
            // the client accepts trailers (te: trailers): so does the proxy on its behalf, on its own hop
            assertThat(got.hasHeader("te: trailers")).as(got.head().toString()).isTrue();
        }
    }

    @Test
    void responseTrailersOfAChunkedEndpointResponseComeBackAsATrailingHeadersFrame() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            // the whole response in one read of the endpoint's connection, and spread over reads
            int id = 1;
            for (String path : List.of("/trailers", "/trailers-slow")) {
                for (boolean withBody : List.of(false, true)) {
                    client.headers(id, request("raw.example", withBody ? "POST" : "GET", path), !withBody);
                    if (withBody) {
                        client.data(id, "xyz".getBytes(StandardCharsets.US_ASCII), true);
                    }
                    List<Frame> frames = client.untilEnd(id);
                    String where = path + (withBody ? " with a body" : "") + ": " + frames;
                    Headers head = (Headers) frames.get(0);
                    assertThat(head.headers().status()).as(where).hasToString("200");
                    assertThat(head.endStream()).as(where).isFalse();
                    assertThat(frames.get(frames.size() - 1)).as(where).isInstanceOf(Headers.class);
                    Headers trailers = (Headers) frames.get(frames.size() - 1);
                    assertThat(trailers.endStream()).as(where).isTrue();
                    assertThat(trailers.headers().status()).as(where).isNull();
                    assertThat(trailers.headers().get("x-checksum")).as(where).hasToString("abc");
                    assertThat(trailers.headers().get("grpc-status")).as(where).hasToString("0");
                    assertThat(body(frames)).as(where).startsWith("body=" + (withBody ? 3 : 0) + " ");
                    id += 2;
                }
            }
        }
    }

    @Test
    void aFieldValueWithALineBreakIsRefusedAndNeverReachesTheEndpointAsTwoFields() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            // RFC 9113 8.2.1: CR, LF or NUL in a value make the request malformed; relayed as HTTP/1.1 they would
            // be a field (or a request) of the client's own making
            Http2Headers h = new DefaultHttp2Headers(false).method("GET").path("/echo").scheme("http")
                    .authority("raw.example").add("x-note", "a\r\nx-injected: 1");
            client.headers(1, h, true);
            Frame first = client.next(1);
            if (first instanceof Headers head) {
                assertThat(head.headers().status()).hasToString("400");
            } else {
                assertThat(first).isInstanceOf(Reset.class);
            }
            client.headers(3, request("raw.example", "GET", "/echo"), true);
            assertThat(((Headers) client.untilEnd(3).get(0)).headers().status()).hasToString("200");
            RawHttpEndpoint.Received got = raw.received.poll(10, TimeUnit.SECONDS);
            assertThat(got).isNotNull();
            assertThat(got.head().get(0)).isEqualTo("GET /echo HTTP/1.1");
            assertThat(got.head()).noneMatch(l -> l.startsWith("x-note") || l.startsWith("x-injected"));
            assertThat(raw.received).isEmpty();
        }
    }

    private static Http2Headers request(String authority, String method, String path) {
        return new DefaultHttp2Headers().method(method).path(path).scheme("http").authority(authority);
    }

    private static String body(List<Frame> frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Frame f : frames) {
            if (f instanceof Data d) {
                out.writeBytes(d.bytes());
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(TestEndpoints.sha256().digest(bytes));
    }
}
