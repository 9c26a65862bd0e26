package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The request target's bytes on the way through the Ingress: routed by its normal form (RequestPath), forwarded to
 * the endpoint as the client sent it, byte for byte, as nginx (ingress-nginx) forwards {@code $request_uri}; and a
 * target with a control character, white space or DEL in it refused with a 400 before it reaches an endpoint's
 * request line, as nginx refuses it ("client sent invalid request", "invalid :path header"). The
 * {@link RawHttpEndpoint} reads each byte as one character (ISO-8859-1), so its head lines are the bytes received.
 * Listener on 127.0.14.4, endpoints on 127.0.0.143 (shop) and 127.0.0.144 (the default backend).
 */
@Timeout(60)
class RequestTargetBytesTest {
    private static final ServiceBackend SHOP = new ServiceBackend("default", "shop", 80, null);
    private static final ServiceBackend OTHER = new ServiceBackend("default", "other", 80, null);
    /** "/café" as a client sends it unencoded: its UTF-8 bytes, one char per byte. */
    private static final String CAFE_BYTES = "/caf\u00c3\u00a9";

    private RawHttpEndpoint shop;
    private RawHttpEndpoint other;
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        shop = new RawHttpEndpoint("127.0.0.143");
        other = new RawHttpEndpoint("127.0.0.144");
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(
                new IngressRules<>("default/shop", null, List.of(new IngressRules.Rule<>("shop.example", List.of(
                        new IngressRules.PathRule<>("/caf\u00e9", PathType.EXACT, SHOP),
                        new IngressRules.PathRule<>("/api", PathType.PREFIX, SHOP))))),
                new IngressRules<>("default/other", OTHER, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(
                SHOP, TestEndpoints.rr(shop.address()), OTHER, TestEndpoints.rr(other.address()));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.14.4", 0), router, sets::get, IngressOptions.defaults(),
                IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        shop.close();
        other.close();
    }

    /**
     * A target with bytes above 0x7F (a client's unencoded UTF-8) is routed by its text ({@code /café}, the rule's)
     * and reaches the endpoint with the bytes the client sent. The endpoint's request encoder wrote the target as
     * UTF-8 of the decoder's ISO-8859-1 characters: each such byte became two ({@code é}, C3 A9, arrived as C3 83 C2
     * A9, "/cafÃ©"), a target the client never sent.
     */
    @Test
    void anUnencodedUtf8TargetReachesTheEndpointByteForByte() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET " + CAFE_BYTES + "?q=\u00ff&to=http://x HTTP/1.1\r\nHost: shop.example\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(200);
        }
        RawHttpEndpoint.Received received = shop.received.poll(10, TimeUnit.SECONDS);
        assertThat(received).as("routed by /café, the rule's text").isNotNull();
        assertThat(received.head().get(0)).isEqualTo("GET " + CAFE_BYTES + "?q=\u00ff&to=http://x HTTP/1.1");
    }

    @Test
    void anUnencodedUtf8PathOfAnHttp2RequestReachesTheEndpointByteForByte() throws Exception {
        try (RawH2Client h2 = RawH2Client.connect(group, ingress.localAddress())) {
            h2.headers(1, new DefaultHttp2Headers(false).method("GET").scheme("http").authority("shop.example")
                    .path(CAFE_BYTES), true);
            RawH2Client.Frame first = h2.next(1);
            assertThat(((RawH2Client.Headers) first).headers().status()).hasToString("200");
        }
        RawHttpEndpoint.Received received = shop.received.poll(10, TimeUnit.SECONDS);
        assertThat(received).as("routed by /café, the rule's text").isNotNull();
        assertThat(received.head().get(0)).isEqualTo("GET " + CAFE_BYTES + " HTTP/1.1");
    }

    /**
     * A control character or DEL in an HTTP/1.1 target is a 400, as nginx's request line parser answers it
     * ({@code ch < 0x20 || ch == 0x7f}): it was routed and written into the endpoint's request line as received.
     */
    @Test
    void controlCharactersInAnHttp1TargetAre400AndReachNoEndpoint() throws Exception {
        for (String target : List.of("/api/a\u0000b", "/api/a\u0001b", "/api/a\u001bb", "/api/a\u007fb",
                "/api/x?q=\u0001")) {
            try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
                client.send("GET " + target + " HTTP/1.1\r\nHost: shop.example\r\n\r\n");
                assertThat(client.read().status()).as("%s", target.chars().boxed().toList()).isEqualTo(400);
            }
        }
        assertThat(shop.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
        assertThat(other.received.poll(10, TimeUnit.MILLISECONDS)).isNull();
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("shop.example", "/api/fine").status()).isEqualTo(200);
        }
    }

    /**
     * An HTTP/2 {@code :path} with a tab (HPACK carries it, Netty's checks let it through) is that stream's 400, as
     * nginx answers "client sent invalid :path header": forwarded, it stood in the endpoint's HTTP/1.1 request line
     * ({@code GET /api/a<TAB>HTTP/1.1 HTTP/1.1}), which RFC 9112 3 lets a recipient split at any white space: routed
     * by one target, read as another.
     */
    @Test
    void aTabInAnHttp2PathIsItsStreams400AndReachesNoEndpoint() throws Exception {
        try (RawH2Client h2 = RawH2Client.connect(group, ingress.localAddress())) {
            int stream = 1;
            for (String path : List.of("/api/a\tb", "/api/a\tHTTP/1.1", "/api/\t")) {
                h2.headers(stream, new DefaultHttp2Headers(false).method("GET").scheme("http")
                        .authority("shop.example").path(path), true);
                RawH2Client.Frame first = h2.next(stream);
                assertThat(first).as(path).isInstanceOf(RawH2Client.Headers.class);
                assertThat(((RawH2Client.Headers) first).headers().status()).as(path).hasToString("400");
                stream += 2;
            }
            assertThat(h2.isActive()).isTrue();
        }
        assertThat(shop.received.poll(300, TimeUnit.MILLISECONDS)).isNull();
    }
}
