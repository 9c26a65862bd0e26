package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Ingress reports each answered request to its {@link IngressMetrics}: route, status, duration. */
class IngressMetricsCallsTest {
    private static final ServiceBackend API = new ServiceBackend("default", "api", 80, null);
    private static final ServiceBackend EMPTY = new ServiceBackend("default", "empty", 80, null);

    record Call(Route<ServiceBackend> route, int status, long durationNanos) {
    }

    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private HttpServer endpoint;
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        endpoint = HttpServer.create(new InetSocketAddress("127.0.0.190", 0), 50);
        endpoint.createContext("/", exchange -> {
            byte[] body = "api".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(201, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        endpoint.start();
        BackendSet api = BackendSet.of("rr", Set.of(), SessionAffinity.NONE,
                List.of(BackendState.of(endpoint.getAddress().getAddress(), endpoint.getAddress().getPort(), 1)),
                System::nanoTime);
        BackendSet empty = BackendSet.of("rr", Set.of(), SessionAffinity.NONE, List.of(), System::nanoTime);
        Map<ServiceBackend, BackendSet> sets = Map.of(API, api, EMPTY, empty);
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/shop", null, List.of(
                new IngressRules.Rule<>("shop.example", List.of(
                        new IngressRules.PathRule<>("/api", PathType.PREFIX, API),
                        new IngressRules.PathRule<>("/empty", PathType.EXACT, EMPTY))))))));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        IngressMetrics metrics = new IngressMetrics() {
            @Override
            public void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
                calls.add(new Call(route, status, durationNanos));
            }
        };
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.190", 0),
                router, sets::get, Duration.ofSeconds(5), metrics);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoint.stop(0);
    }

    @Test
    void reportsTheRouteStatusAndDurationOfEachAnsweredRequest() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("shop.example", "/api/x").status()).isEqualTo(201);
            assertThat(client.get("shop.example", "/empty").status()).isEqualTo(503);
            assertThat(client.get("other.example", "/api/x").status()).isEqualTo(404);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 3);
        assertThat(calls).extracting(Call::status).containsExactly(201, 503, 404);
        assertThat(calls.get(0).route().path()).isEqualTo("/api");
        assertThat(calls.get(0).route().backend()).isEqualTo(API);
        assertThat(calls.get(1).route().backend()).isEqualTo(EMPTY);
        assertThat(calls.get(2).route()).isNull();
        assertThat(calls).allSatisfy(c -> assertThat(c.durationNanos()).isNotNegative());
    }
}
