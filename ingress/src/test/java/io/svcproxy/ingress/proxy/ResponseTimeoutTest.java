package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The response timeout of the requests of one kept-alive connection, through the event loop's one
 * {@link ResponseDeadlines} timer, which moves on from request to request: each request gets the whole timeout from
 * its own start, neither less (the deadline of an earlier request) nor unbounded. On 127.0.10.196-197.
 */
@Timeout(60)
class ResponseTimeoutTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    private final TestEndpoints endpoints = new TestEndpoints();
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    private void start() throws Exception {
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/web", WEB, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(
                WEB, TestEndpoints.rr(endpoints.start("127.0.10.197", "web-1")));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.10.196", 0), router, sets::get,
                IngressOptions.defaults().withResponseTimeout(TIMEOUT), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ingress != null) {
            ingress.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        endpoints.close();
    }

    @Test
    void eachRequestOfAKeptAliveConnectionHasTheWholeTimeoutFromItsOwnStart() throws Exception {
        start();
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            // quick requests for 3/4 of the timeout, then a slow one: the connection's timer, armed by the first
            // request, fires while the slow one waits, and must move on to the slow one's own deadline
            long until = System.nanoTime() + TIMEOUT.toNanos() * 3 / 4;
            int n = 0;
            while (System.nanoTime() < until) {
                assertThat(client.get("any", "/x?i=" + n++).status()).isEqualTo(200);
                Thread.sleep(20);
            }
            // a response that takes 60% of the timeout from this request's start: answered, not 504
            assertThat(client.get("any", "/sleep/1200").text()).isEqualTo("web-1 slept");
            // one that takes longer than the timeout: 504 no earlier than the timeout after its own start
            long start = System.nanoTime();
            RawHttpClient.Response late = client.get("any", "/sleep/5000");
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(late.status()).isEqualTo(504);
            assertThat(waitedMs).isGreaterThanOrEqualTo(TIMEOUT.toMillis());
            // the proxy's own status keeps the connection, and the next request has a whole timeout again
            assertThat(client.get("any", "/sleep/600").text()).isEqualTo("web-1 slept");
        }
    }
}
