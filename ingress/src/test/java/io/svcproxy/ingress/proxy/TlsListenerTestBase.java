package io.svcproxy.ingress.proxy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture of the HTTPS listener's tests: one endpoint ({@code web-1}) that every request goes to, a test CA with
 * shop.example's certificate, and the listener a test starts with the certificates it chooses; closed after it.
 */
abstract class TlsListenerTestBase {
    static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);

    @TempDir
    Path dir;
    final TestEndpoints endpoints = new TestEndpoints();
    final Router<ServiceBackend> router = new Router<>();
    TestCertificates ca;
    BackendSet web;
    EventLoopGroup group;
    HttpsIngressServer ingress;
    TlsEntry shop;
    private final String listenerIp;
    private final String endpointIp;
    private final int eventLoops;

    TlsListenerTestBase(String listenerIp, String endpointIp, int eventLoops) {
        this.listenerIp = listenerIp;
        this.endpointIp = endpointIp;
        this.eventLoops = eventLoops;
    }

    @BeforeEach
    void startEndpointAndCa() throws Exception {
        web = TestEndpoints.rr(endpoints.start(endpointIp, "web-1"));
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/web", WEB, List.of()))));
        group = new MultiThreadIoEventLoopGroup(eventLoops, NioIoHandler.newFactory());
        ca = new TestCertificates(dir);
        shop = ca.issue("shop", "shop.example");
    }

    /** Starts the listener on the test's address, port chosen by the kernel. */
    void start(TlsCertificates certs, IngressOptions options, IngressMetrics metrics) throws InterruptedException {
        ingress = HttpsIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress(listenerIp, 0),
                router, Map.of(WEB, web)::get, options, metrics, certs);
    }

    @AfterEach
    void closeAll() throws Exception {
        if (ingress != null) {
            ingress.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoints.close();
    }
}
