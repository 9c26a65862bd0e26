package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** HTTP/2 without TLS on the HTTP listener, with curl and h2load as clients, on 127.0.10.161-169. */
@Timeout(180)
class H2cIngressTest {
    private static final ServiceBackend API = new ServiceBackend("default", "api", 80, null);
    private static final ServiceBackend HALF = new ServiceBackend("default", "half", 80, null);

    private final TestEndpoints endpoints = new TestEndpoints();
    private final Router<ServiceBackend> router = new Router<>();
    private BackendSet api;
    private BackendSet half;
    private EventLoopGroup group;
    private HttpIngressServer ingress;
    private String base;

    @BeforeEach
    void setUp() throws Exception {
        api = TestEndpoints.rr(endpoints.start("127.0.10.162", "api-2"), endpoints.start("127.0.10.163", "api-3"),
                endpoints.start("127.0.10.164", "api-4"));
        // half: a dead endpoint (nothing listens on its port) before a live one
        int deadPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.10.165"))) {
            deadPort = s.getLocalPort();
        }
        half = TestEndpoints.rr(new InetSocketAddress("127.0.10.165", deadPort),
                endpoints.start("127.0.10.166", "half-live"));
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/shop", null, List.of(
                new Rule<>("shop.example", List.of(new PathRule<>("/", PathType.PREFIX, API),
                        new PathRule<>("/half", PathType.PREFIX, HALF))))))));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.161", 0),
                router, Map.of(API, api, HALF, half)::get, IngressOptions.defaults(), IngressMetrics.NONE);
        base = "http://shop.example:" + ingress.localAddress().getPort();
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoints.close();
    }

    private String resolve() {
        return "shop.example:" + ingress.localAddress().getPort() + ":127.0.10.161";
    }

    @Test
    void priorKnowledgeStreamsOfOneConnectionArePickedEachInTheSchedulersOrder() throws Exception {
        // nghttp opens the six streams on one connection, in order; the proxy picks per stream as they arrive
        List<String> cmd = new ArrayList<>(List.of("nghttp", "-H", ":authority: shop.example"));
        for (int i = 0; i < 6; i++) {
            cmd.add("http://127.0.10.161:" + ingress.localAddress().getPort() + "/x?i=" + i);
        }
        Curl.Result r = Curl.run(cmd);
        assertThat(r.exitCode()).as(r.err()).isZero();
        BackendSet twin = TestEndpoints.rr(api.backends().stream()
                .map(b -> new InetSocketAddress(b.address(), b.port())).toArray(InetSocketAddress[]::new));
        for (int i = 0; i < 6; i++) {
            BackendState expected = twin.pick(PickContext.of(InetAddress.getLoopbackAddress(), 1,
                    InetAddress.getLoopbackAddress()));
            String name = "api-" + expected.address().getHostAddress().substring("127.0.10.16".length());
            assertThat(r.out()).contains(name + " /x?i=" + i + "\n");
        }
        // a stream becomes an HTTP/1.1 request with the usual X-Forwarded-* and none of Netty's x-http2-*
        assertThat(r.out()).contains("x-forwarded-proto=http\n", "x-forwarded-host=shop.example\n",
                "x-forwarded-for=127.0.0.1\n").doesNotContain("x-http2");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(api.backends())
                .allSatisfy(b -> assertThat(b.activeConnections() + b.inactiveConnections()).isZero()));
    }

    @Test
    void aStreamWhoseEndpointRefusesTheConnectIsSentToAnotherEndpoint() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("nghttp", "-H", ":authority: shop.example"));
        for (int i = 0; i < 4; i++) {
            cmd.add("http://127.0.10.161:" + ingress.localAddress().getPort() + "/half?i=" + i);
        }
        Curl.Result r = Curl.run(cmd);
        assertThat(r.exitCode()).as(r.err()).isZero();
        for (int i = 0; i < 4; i++) {
            assertThat(r.out()).contains("half-live /half?i=" + i + "\n");
        }
        assertThat(endpoints.hits("half-live")).isEqualTo(4);
    }

    @Test
    void curlSpeaksH2cByPriorKnowledge() throws Exception {
        // one URL per curl: curl 7.88 fails its second request on a reused prior-knowledge connection (against
        // nginx too: "Error in the HTTP2 framing layer"), so nghttp above covers several streams
        Curl.Result r = Curl.curl("--http2-prior-knowledge", "--resolve", resolve(), "-w", "=%{http_version}",
                base + "/pk");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).matches("(?s)api-\\d /pk\n.*=2");
    }

    @Test
    void curlUpgradesToH2c() throws Exception {
        Curl.Result r = Curl.curl("--http2", "--resolve", resolve(), "-w", "\\n@%{http_version}", base + "/up",
                base + "/up2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        // the upgraded request is stream 1, the next one a new stream on the same connection
        assertThat(r.out()).matches("(?s)api-\\d /up\\n.*@2api-\\d /up2\\n.*@2");
    }

    @Test
    void anH2cUpgradeOfferedOnALaterRequestOfAKeptAliveConnectionIsAnsweredOverHttp11() throws Exception {
        // as nginx and HAProxy do (both ignore Upgrade: h2c): the upgrade is offered on a connection's first request
        String[] offer = {"Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
                "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"};
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            RawHttpClient.Response first = client.get("shop.example", "/first");
            assertThat(first.status()).isEqualTo(200);
            RawHttpClient.Response second = client.get("shop.example", "/second", offer);
            assertThat(second.status()).isEqualTo(200);
            assertThat(second.headers()).doesNotContainKey("upgrade");
            // the offer's fields are hop-by-hop: not forwarded to the endpoint
            assertThat(second.text()).matches("(?s)api-\\d /second\n.*")
                    .doesNotContain("upgrade=", "http2-settings=", "connection=");
            RawHttpClient.Response third = client.get("shop.example", "/third");
            assertThat(third.text()).matches("(?s)api-\\d /third\n.*");
        }
        // on a connection's first request the same offer is taken: 101, then HTTP/2
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /up HTTP/1.1\r\nHost: shop.example\r\n" + String.join("\r\n", offer) + "\r\n\r\n");
            assertThat(client.line()).startsWith("HTTP/1.1 101 ");
        }
    }

    @Test
    void aRequestWithABodyThatOffersH2cStaysOnHttp11(@TempDir Path dir) throws Exception {
        // curl --http2 offers the upgrade on a POST too; holding a 1 MiB body whole for it would be a 413
        Path body = dir.resolve("body.bin");
        byte[] bytes = new byte[1 << 20];
        TestEndpoints.pattern(0, bytes, bytes.length);
        Files.write(body, bytes);
        Curl.Result r = Curl.curl("--http2", "--resolve", resolve(), "--data-binary", "@" + body, "-w",
                "=%{http_version}", base + "/sha256");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(TestEndpoints.patternSha256(1 << 20) + "=1.1");
    }

    @Test
    void manyConcurrentStreamsAllSucceedAndSpreadOverTheEndpoints() throws Exception {
        Curl.Result r = Curl.run(List.of("h2load", "-n", "300", "-c", "2", "-m", "20",
                "--connect-to=127.0.10.161:" + ingress.localAddress().getPort(), base + "/load"));
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("300 succeeded, 0 failed, 0 errored").contains("status codes: 300 2xx");
        assertThat(r.out()).contains("Application protocol: h2c");
        // rr over three endpoints: each got a third of the streams
        assertThat(List.of(endpoints.hits("api-2"), endpoints.hits("api-3"), endpoints.hits("api-4")))
                .containsExactly(100, 100, 100);
        // every stream's claim on its endpoint released (after the last write's listener, so maybe a moment later)
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(api.backends())
                .allSatisfy(b -> assertThat(b.activeConnections() + b.inactiveConnections()).isZero()));
    }
}
