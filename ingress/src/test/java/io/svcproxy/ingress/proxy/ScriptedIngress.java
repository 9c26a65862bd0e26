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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A test's HTTP listener whose every request goes to one {@link ScriptedEndpoint} (the default backend), on one event
 * loop: one endpoint pool, so a connection pooled after one request serves the next. Registered as an extension
 * ({@code @RegisterExtension}): started before each test, closed after it.
 */
final class ScriptedIngress implements BeforeEachCallback, AfterEachCallback {
    private static final ServiceBackend SCRIPTED = new ServiceBackend("default", "scripted", 80, null);

    private final String listenerIp;
    private final String endpointIp;
    private final ScriptedEndpoint.Script script;
    private ScriptedEndpoint scripted;
    private HttpIngressServer ingress;
    private EventLoopGroup group;

    /** The listener on {@code listenerIp}, port 0; the endpoint on {@code endpointIp}, answering by {@code script}. */
    ScriptedIngress(String listenerIp, String endpointIp, ScriptedEndpoint.Script script) {
        this.listenerIp = listenerIp;
        this.endpointIp = endpointIp;
        this.script = script;
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        scripted = new ScriptedEndpoint(endpointIp, script);
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/scripted", SCRIPTED, List.of()))));
        Map<ServiceBackend, BackendSet> sets = Map.of(SCRIPTED, TestEndpoints.rr(scripted.address()));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress(listenerIp, 0),
                router, sets::get, IngressOptions.defaults(), IngressMetrics.NONE);
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        scripted.close();
    }

    /** The endpoint (its requests, its connections). */
    ScriptedEndpoint scripted() {
        return scripted;
    }

    /** The listener's address. */
    InetSocketAddress address() {
        return ingress.localAddress();
    }
}
