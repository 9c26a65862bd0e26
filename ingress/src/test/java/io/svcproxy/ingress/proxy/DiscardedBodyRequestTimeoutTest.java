package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The proxy answers a request itself (a 404 here; a 502 or 503 alike) before its body has come, keeps the
 * connection and drops the rest of the body. The request-header timeout of the next request must not run while
 * that body still arrives: it is no request head. With a request timeout of 400 ms, a body that takes 2 s gets an
 * unsolicited 408 written behind the 404 and the connection closed under the client's upload. On 127.0.10.233.
 * From helper-109's review.
 */
@Timeout(60)
class DiscardedBodyRequestTimeoutTest {
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of())); // no rule, no default backend: every request is a 404
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of();
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.10.233", 0), router, sets::get,
                IngressOptions.defaults().withRequestTimeout(Duration.ofMillis(400))
                        .withIdleTimeout(Duration.ofSeconds(30)), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    @Test
    void aBodyStillArrivingAfterTheProxysOwnAnswerIsNotCutByTheRequestTimeout() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST /upload HTTP/1.1\r\nHost: nowhere.example\r\nTransfer-Encoding: chunked\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(404);
            String writeFailure = null;
            try {
                for (int i = 0; i < 20; i++) { // a slow body: 2 s
                    client.send("1\r\na\r\n");
                    Thread.sleep(100);
                }
                client.send("0\r\n\r\n");
            } catch (IOException e) {
                writeFailure = e.toString();
            }
            String next;
            try {
                next = "status " + client.get("nowhere.example", "/next").status();
            } catch (IOException e) {
                String arrived;
                try {
                    arrived = client.line(); // what the proxy wrote behind the 404 before it closed
                } catch (IOException e2) {
                    arrived = e2.toString();
                }
                next = e + "; behind the 404 came: " + arrived;
            }
            assertThat(next).as("the next request on the connection (the body's writes: %s)", writeFailure)
                    .isEqualTo("status 404");
        }
    }
}
