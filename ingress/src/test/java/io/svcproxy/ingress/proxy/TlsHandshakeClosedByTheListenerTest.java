package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.TlsHandshakeFailure;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * helper-147's review of the TLS handshake failure counts (e4257ac): a handshake the listener itself ends, because
 * the client stalled past the connection's idle timeout (shorter than the handshake's own 10 s), is a timeout, not
 * {@code closed}, which says the client went away (port scanners, TCP health checks). Listener 127.0.147.1, endpoint
 * 127.0.0.149.
 */
@Timeout(60)
class TlsHandshakeClosedByTheListenerTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);

    @TempDir
    Path dir;
    private final TestEndpoints endpoints = new TestEndpoints();
    private final BlockingQueue<TlsHandshakeFailure> failures = new LinkedBlockingQueue<>();
    private EventLoopGroup group;
    private HttpsIngressServer ingress;

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
    void aHandshakeStalledPastTheIdleTimeoutIsATimeout() throws Exception {
        BackendSet web = TestEndpoints.rr(endpoints.start("127.0.0.149", "web-1"));
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/web", WEB, List.of()))));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        TestCertificates ca = new TestCertificates(dir);
        TlsEntry shop = ca.issue("shop", "shop.example");
        IngressMetrics metrics = new IngressMetrics() {
            @Override
            public void tlsHandshakeFailed(TlsHandshakeFailure reason) {
                failures.add(reason);
            }
        };
        ingress = HttpsIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.147.1", 0),
                router, Map.of(WEB, web)::get, IngressOptions.defaults().withIdleTimeout(Duration.ofSeconds(1)),
                metrics, TlsCertificates.of(List.of(shop)));
        try (Socket silent = new Socket()) {
            silent.connect(ingress.localAddress(), 5000);
            silent.setSoTimeout(30_000);
            assertThat(silent.getInputStream().read()).as("closed by the listener").isEqualTo(-1);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> !failures.isEmpty() && ingress.connections() == 0);
        group.next().submit(() -> { }).sync();
        List<TlsHandshakeFailure> counted = new ArrayList<>();
        failures.drainTo(counted);
        assertThat(counted).containsExactly(TlsHandshakeFailure.TIMEOUT);
    }
}
