package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the HTTP/1.1 codecs' header validation stands for, so that a codec made cheaper cannot drop it unnoticed:
 * a request with a field name that is not a token, a control character in a value, or white space before the
 * colon is a 400 and reaches no endpoint, and so is {@code Content-Length} beside {@code Transfer-Encoding:
 * chunked}; and an endpoint's response with such a field is a 502, not passed on to the
 * client. On 127.0.0.175 (listener), 127.0.0.176 (raw endpoint) and 127.0.0.177 (scripted endpoint).
 */
@Timeout(60)
class HeaderValidationTest {
    private static final ServiceBackend RAW = new ServiceBackend("default", "raw", 80, null);
    private static final ServiceBackend SCRIPTED = new ServiceBackend("default", "scripted", 80, null);

    private RawHttpEndpoint raw;
    private ScriptedEndpoint scripted;
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        raw = new RawHttpEndpoint("127.0.0.176");
        scripted = new ScriptedEndpoint("127.0.0.177", HeaderValidationTest::answer);
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(
                new IngressRules<>("default/scripted", null, List.of(new IngressRules.Rule<>("scripted.example",
                        List.of(new IngressRules.PathRule<>("/", PathType.PREFIX, SCRIPTED))))),
                new IngressRules<>("default/raw", RAW, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(
                RAW, TestEndpoints.rr(raw.address()), SCRIPTED, TestEndpoints.rr(scripted.address()));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.0.175", 0), router, sets::get, IngressOptions.defaults(),
                IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        raw.close();
        scripted.close();
    }

    /** {@code /name}: a field name with a character outside the token grammar; {@code /value}: a NUL in a value; else a clean 200. */
    private static boolean answer(String requestLine, InputStream in, OutputStream out) throws java.io.IOException {
        String path = requestLine.split(" ")[1];
        if (path.equals("/close10")) {
            // an HTTP/1.0 endpoint: no length, the body ends when it closes
            out.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello".getBytes(StandardCharsets.ISO_8859_1));
            return false;
        }
        String extra = path.equals("/name") ? "Bad<Name: x\r\n" : path.equals("/value") ? "X-Bad: a\u0000b\r\n" : "";
        out.write(("HTTP/1.1 200 OK\r\n" + extra + "Content-Length: 2\r\n\r\nok").getBytes(StandardCharsets.ISO_8859_1));
        return true;
    }

    private void assertRejected(String fieldLine) throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            RawHttpClient.Response r = client.get("any", "/bad", fieldLine);
            assertThat(r.status()).as(fieldLine).isEqualTo(400);
        }
    }

    @Test
    void requestFieldsWithCharactersOutsideTheGrammarAre400AndReachNoEndpoint() throws Exception {
        assertRejected("X-Bad<Name: 1");
        assertRejected("X-Bad\u0001: 1");
        assertRejected("X-Ctl: a\u0000b");
        assertRejected("X-Ctl: a\u0007b");
        assertRejected("Transfer-Encoding : chunked");
        assertThat(raw.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("any", "/good", "X-Fine: a\tb").status()).isEqualTo(200);
        }
        assertThat(raw.received.poll(10, TimeUnit.SECONDS).head()).contains("x-fine: a\tb");
    }

    @Test
    void contentLengthBesideChunkedIs400AndReachesNoEndpoint() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            // a smuggling attempt: by Content-Length the body is "0\r\n\r\nG", by chunked it ends after "0"
            // (RFC 9112 6.3 lets a server reject the pair; Netty 4.2's decoder does)
            client.send("POST /cl-te HTTP/1.1\r\nHost: any\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "0\r\n\r\nG");
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(client.isClosedByPeer()).isTrue();
        }
        assertThat(raw.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void anEndpointsResponseWithAFieldOutsideTheGrammarIsA502() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("scripted.example", "/name").status()).isEqualTo(502);
            assertThat(client.get("scripted.example", "/value").status()).isEqualTo(502);
            RawHttpClient.Response fine = client.get("scripted.example", "/fine");
            assertThat(fine.status()).isEqualTo(200);
            assertThat(fine.text()).isEqualTo("ok");
        }
    }

    @Test
    void aConnectionFieldNamingContentLengthCannotSmuggleTheBodyAsASecondRequest() throws Exception {
        String smuggled = "GET /internal/admin HTTP/1.1\r\nHost: any\r\nX-Pad: " + "p".repeat(10) + "\r\n\r\n";
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST /public HTTP/1.1\r\nHost: any\r\nConnection: keep-alive, Content-Length\r\n"
                    + "Content-Length: " + smuggled.length() + "\r\n\r\n" + smuggled);
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).startsWith("body=" + smuggled.length() + " ");
        }
        RawHttpEndpoint.Received post = raw.received.poll(10, TimeUnit.SECONDS);
        assertThat(post.head().get(0)).startsWith("POST /public ");
        assertThat(post.head()).contains("content-length: " + smuggled.length());
        assertThat(new String(post.body(), StandardCharsets.ISO_8859_1)).isEqualTo(smuggled);
        assertThat(raw.received.poll(300, TimeUnit.MILLISECONDS)).as("no second request").isNull();
    }

    @Test
    void aSecondHostOrNoHostInHttp11Is400AndReachesNoEndpoint() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /two HTTP/1.1\r\nHost: scripted.example\r\nHost: any\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(400);
        }
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /none HTTP/1.1\r\nX-A: 1\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(400);
        }
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /old HTTP/1.0\r\nX-A: 1\r\n\r\n");
            assertThat(client.read().status()).as("HTTP/1.0 needs no Host: the default backend").isEqualTo(200);
        }
        RawHttpEndpoint.Received old = raw.received.poll(10, TimeUnit.SECONDS);
        assertThat(old.head().get(0)).startsWith("GET /old ");
        assertThat(raw.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void aResponseThatEndsWhenTheEndpointClosesClosesTheKeptAliveClientAfterIt() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /close10 HTTP/1.1\r\nHost: scripted.example\r\n\r\n");
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers()).containsEntry("connection", "close").doesNotContainKey("content-length");
            StringBuilder body = new StringBuilder();
            try {
                while (true) {
                    body.append((char) client.readByte());
                }
            } catch (java.io.IOException closed) {
                // the body's end: the proxy closed the client connection after it
            }
            assertThat(body).hasToString("hello");
        }
    }

    @Test
    void connectIs501ClosesTheConnectionAndReachesNoEndpoint() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("CONNECT other.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(501);
            // closed after it: what a client sends after its CONNECT is tunnel bytes (TLS), not a next request
            assertThat(client.isClosedByPeer()).isTrue();
        }
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("any", "/after").status()).isEqualTo(200);
        }
        assertThat(raw.received.poll(10, TimeUnit.SECONDS).head().get(0)).startsWith("GET /after ");
        assertThat(raw.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void connectOverHttp2Is501AndReachesNoEndpoint() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("CONNECT")
                    .authority("other.example:443"), false);
            RawH2Client.Frame first = client.next(1);
            assertThat(first).isInstanceOf(RawH2Client.Headers.class);
            assertThat(((RawH2Client.Headers) first).headers().status()).hasToString("501");
        }
        assertThat(raw.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void anHttp10ClientThatAsksToKeepTheConnectionIsToldItPersists() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /one HTTP/1.0\r\nHost: any\r\nConnection: keep-alive\r\n\r\n");
            RawHttpClient.Response relayed = client.read();
            assertThat(relayed.status()).isEqualTo(200);
            assertThat(relayed.headers()).containsEntry("connection", "keep-alive");
            client.send("GET /fine HTTP/1.0\r\nHost: scripted.example\r\nConnection: keep-alive\r\n\r\n");
            RawHttpClient.Response other = client.read();
            assertThat(other.status()).isEqualTo(200);
            assertThat(other.headers()).containsEntry("connection", "keep-alive");
            client.send("GET /two HTTP/1.0\r\nHost: any\r\n\r\n");
            RawHttpClient.Response last = client.read();
            assertThat(last.status()).isEqualTo(200);
            assertThat(client.isClosedByPeer()).as("HTTP/1.0 without keep-alive: closed after").isTrue();
        }
    }

    @Test
    void anAbsoluteFormTargetIsRoutedByItsHostAndPathAndForwardedInOriginForm() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET http://scripted.example/fine?q=1 HTTP/1.1\r\nHost: any\r\n\r\n");
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).as("the scripted endpoint, the target's host, not Host's").isEqualTo("ok");
            client.send("GET ftp://scripted.example/x HTTP/1.1\r\nHost: any\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(400);
        }
        assertThat(scripted.requests.poll(10, TimeUnit.SECONDS)).endsWith(" GET /fine?q=1 HTTP/1.1");
        assertThat(raw.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void anHttp2PathThatIsNotInOriginFormIs400() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").scheme("http")
                    .authority("any").path("http://scripted.example/x"), true);
            RawH2Client.Frame first = client.next(1);
            assertThat(((RawH2Client.Headers) first).headers().status()).hasToString("400");
        }
        assertThat(raw.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
        assertThat(scripted.requests.poll(300, TimeUnit.MILLISECONDS)).isNull();
    }
    /**
     * The proxy's own answer to an HTTP/2 HEAD has no body: its HEADERS end the stream (a DATA frame on the answer to
     * HEAD is a stream error to nghttp2, and curl -I showed "stream not closed cleanly" instead of the status).
     */
    @Test
    void theProxysOwnAnswerToAnHttp2HeadEndsOnItsHeaders() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("HEAD").scheme("http")
                    .authority("any").path("http://scripted.example/x"), true);
            List<RawH2Client.Frame> frames = client.untilEnd(1);
            assertThat(frames).singleElement().isInstanceOfSatisfying(RawH2Client.Headers.class, h -> {
                assertThat(h.headers().status()).hasToString("400");
                assertThat(h.endStream()).isTrue();
                // dated, as an origin server's answer (RFC 9110 6.6.1)
                assertThat(io.netty.handler.codec.DateFormatter.parseHttpDate(h.headers().get("date"))).isNotNull();
            });
        }
    }
    /**
     * An HTTP/2 request without {@code :path} or {@code :scheme}, or whose method is not a token, is that stream's 400
     * (RFC 9113 8.3.1); the connection goes on. The conversion's NullPointerException had failed the whole connection
     * (GOAWAY INTERNAL_ERROR, every stream lost).
     */
    @Test
    void anHttp2RequestMissingAPseudoHeaderIsItsStreams400() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").scheme("http")
                    .authority("any"), true);
            client.headers(3, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET")
                    .authority("any").path("/x"), true);
            client.headers(5, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("G ET").scheme("http")
                    .authority("any").path("/x"), true);
            for (int stream : new int[] {1, 3, 5}) {
                RawH2Client.Frame first = client.next(stream);
                assertThat(((RawH2Client.Headers) first).headers().status()).as("stream %d", stream).hasToString("400");
            }
            assertThat(client.isActive()).isTrue();
        }
    }
    /** An HTTP/2 :path longer than HTTP/1.1's request line limit (8 KiB) is a 414, as on HTTP/1.1. */
    @Test
    void anHttp2PathLongerThanTheRequestLineLimitIs414() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").scheme("http")
                    .authority("any").path("/" + "a".repeat(9000)), true);
            RawH2Client.Frame first = client.next(1);
            assertThat(((RawH2Client.Headers) first).headers().status()).hasToString("414");
            assertThat(client.isActive()).isTrue();
        }
    }

    /**
     * A stream with neither {@code :authority} nor {@code host} is its 400, as an HTTP/1.1 request without Host is
     * and as nginx answers it: forwarded, it reached the endpoint as an HTTP/1.1 request without the Host RFC 9112
     * 3.2 requires, which Go's and Node's servers answer 400 (helper-99's review).
     */
    @Test
    void anHttp2RequestWithoutAuthorityOrHostIsItsStreams400() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").scheme("http")
                    .path("/no-host"), true);
            RawH2Client.Frame first = client.next(1);
            assertThat(((RawH2Client.Headers) first).headers().status()).hasToString("400");
            assertThat(raw.received.poll(200, TimeUnit.MILLISECONDS)).as("reached the endpoint").isNull();
            client.headers(3, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").scheme("http")
                    .authority("any").path("/after"), true);
            assertThat(((RawH2Client.Headers) client.next(3)).headers().status()).hasToString("200");
        }
    }

    /** An HTTP/1.0 request without Host goes to the endpoint as HTTP/1.1 with an empty Host (RFC 9112 3.2). */
    @Test
    void anHttp10RequestWithoutHostIsForwardedAsHttp11WithAnEmptyHost() throws Exception {
        try (java.net.Socket s = new java.net.Socket(ingress.localAddress().getAddress(),
                ingress.localAddress().getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /h10 HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(response).startsWith("HTTP/1.1 200");
        }
        RawHttpEndpoint.Received got = raw.received.poll(10, TimeUnit.SECONDS);
        assertThat(got).isNotNull();
        assertThat(got.head().get(0)).isEqualTo("GET /h10 HTTP/1.1");
        assertThat(got.head()).as("the request the endpoint got").contains("host: ")
                .noneMatch(line -> line.startsWith("x-forwarded-host"));
    }

    /**
     * A header block over the 16 KiB limit is its stream's 431 and the connection goes on, whatever its size as sent:
     * a 24 KiB field that HPACK cannot shorten ended the whole connection with a GOAWAY, since Netty ends it for a
     * block past 1.25 times the size advertised (helper-99's review).
     */
    @Test
    void anHttp2HeaderBlockOver16KibIsItsStreams431WhateverItsSizeAsSent() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            String[] values = {"~".repeat(24 * 1024), "a".repeat(24 * 1024), "~".repeat(60 * 1024)};
            for (int i = 0; i < values.length; i++) {
                client.headers(1 + 2 * i, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET")
                        .scheme("http").authority("any").path("/big").set("x-big", values[i]), true);
                RawH2Client.Frame first = client.next(1 + 2 * i);
                assertThat(first).as("the answer of a %d-byte field (null: the connection went away)",
                        values[i].length()).isInstanceOf(RawH2Client.Headers.class);
                assertThat(((RawH2Client.Headers) first).headers().status()).hasToString("431");
            }
            client.headers(7, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").scheme("http")
                    .authority("any").path("/after"), true);
            assertThat(((RawH2Client.Headers) client.next(7)).headers().status()).hasToString("200");
        }
    }

    /** An empty host and no :authority is the stream's 400 too: RFC 9113 8.3.1, "MUST NOT be empty" (helper-100). */
    @Test
    void anHttp2RequestWithAnEmptyHostAndNoAuthorityIsItsStreams400() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").scheme("http")
                    .path("/empty-host").set("host", ""), true);
            RawH2Client.Frame first = client.next(1);
            assertThat(first).isInstanceOf(RawH2Client.Headers.class);
            assertThat(((RawH2Client.Headers) first).headers().status()).hasToString("400");
        }
    }
}
