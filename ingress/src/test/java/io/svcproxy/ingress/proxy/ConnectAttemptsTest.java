package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A request's connect tries at most {@link IngressOptions#connectAttempts} distinct endpoints (3 by default, as
 * ingress-nginx's {@code proxy-next-upstream-tries}) before its 502. Listener on 127.0.124.7, endpoints (closed
 * ports: refused) on 127.0.0.89.
 *
 * <p>From helper-124's review: the Ingress tried every endpoint of the Service port, so that with all of them
 * unreachable a request waited one connect timeout per endpoint, while README's {@code proxy.connectAttempts} (the
 * TCP relay's) bounds the relay's tries at 3.
 */
@Timeout(60)
class ConnectAttemptsTest {
    private static final ServiceBackend DEAD = new ServiceBackend("default", "dead", 80, null);

    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @AfterEach
    void tearDown() throws Exception {
        if (ingress != null) {
            ingress.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    @Test
    void aRequestTriesThreeEndpointsWhenAllRefuse() throws Exception {
        assertThat(attemptsUntil502(IngressOptions.defaults())).isEqualTo(3);
    }

    @Test
    void theBoundIsAnOption() throws Exception {
        assertThat(attemptsUntil502(IngressOptions.defaults().withConnectAttempts(5))).isEqualTo(5);
    }

    /** The connects a request to a Service port of 6 endpoints that all refuse makes before it is answered 502. */
    private int attemptsUntil502(IngressOptions options) throws Exception {
        InetSocketAddress[] endpoints = new InetSocketAddress[6];
        for (int i = 0; i < endpoints.length; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.89"))) {
                endpoints[i] = new InetSocketAddress("127.0.0.89", s.getLocalPort()); // closed: a connect is refused
            }
        }
        BackendSet set = TestEndpoints.rr(endpoints);
        AtomicInteger failed = new AtomicInteger();
        BackendLookup.Outcomes outcomes = new BackendLookup.Outcomes() {
            @Override
            public void connected(BackendState backend, long nanos) {
            }

            @Override
            public void connectFailed(BackendState backend, Throwable cause) {
                failed.incrementAndGet();
            }

            @Override
            public void noEndpoint() {
            }
        };
        BackendLookup lookup = new BackendLookup() {
            @Override
            public BackendSet backendSet(ServiceBackend backend) {
                return set;
            }

            @Override
            public Target target(ServiceBackend backend) {
                return new Target(set, null, null, outcomes);
            }
        };
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/dead", DEAD, List.of()))));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.124.7", 0),
                router, lookup, options, IngressMetrics.NONE);
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("any", "/").status()).isEqualTo(502);
        }
        return failed.get();
    }
}
