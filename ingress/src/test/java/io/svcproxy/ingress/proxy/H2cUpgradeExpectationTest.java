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
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The h2c upgrade handler (Netty's aggregator) answers an upgrade request with an {@code Expect} it does not know
 * itself: a bare 417 (no Date, no body, not in the access log nor the request counts), where every other request
 * without a rule gets the proxy's 404 (helper-146). The upgrade handler's {@code shouldHandleUpgradeRequest} leaves a
 * request with an {@code Expect} field on HTTP/1.1 (RFC 9113 3.2 lets a server ignore the offer), as it leaves one
 * with a body.
 * Listener on 127.0.146.5.
 */
@Timeout(30)
class H2cUpgradeExpectationTest {
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of()));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of();
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.146.5", 0),
                router, sets::get, IngressOptions.defaults(), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    @Test
    void anUpgradeRequestWithAnUnknownExpectationIsTheProxysToAnswer() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET / HTTP/1.1\r\nHost: nowhere.example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nExpect: something-else\r\n\r\n");
            RawHttpClient.Response r = client.read();
            // as the same request without Expect, or without Upgrade: the proxy's 404 (no rule), dated and logged
            assertThat(r.status()).as("%d %s", r.status(), r.headers()).isEqualTo(404);
            assertThat(r.headers()).containsKey("date");
        }
    }
}
