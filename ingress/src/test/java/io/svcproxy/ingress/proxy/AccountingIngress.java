package io.svcproxy.ingress.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/**
 * An Ingress listener routing everything to one {@link ScriptedEndpoint}, which records what the request metrics
 * and the access log were told: the fixture of the tests that check a request is accounted for however it ends.
 */
final class AccountingIngress implements AutoCloseable {
    static final ServiceBackend SCRIPTED = new ServiceBackend("default", "scripted", 80, null);

    /** One {@link IngressMetrics#requestCompleted} call. */
    record Call(Route<ServiceBackend> route, int status) {
    }

    /** The request metrics' calls, in order. */
    final List<Call> calls = new CopyOnWriteArrayList<>();
    final EventLoopGroup group;
    final HttpIngressServer ingress;
    private final ScriptedEndpoint scripted;
    private final ListAppender<ILoggingEvent> accessLog = new ListAppender<>();
    private final Logger accessLogger;
    private final Level accessLevel;

    /** Listens on {@code listenerIp}, port 0; the endpoint on {@code endpointIp} answers as {@code script} says. */
    AccountingIngress(String listenerIp, String endpointIp, ScriptedEndpoint.Script script) throws Exception {
        this(listenerIp, endpointIp, script, IngressOptions.defaults());
    }

    /** The same with the listener's {@code options}. */
    AccountingIngress(String listenerIp, String endpointIp, ScriptedEndpoint.Script script, IngressOptions options)
            throws Exception {
        accessLogger = (Logger) LoggerFactory.getLogger(AccessLog.LOG.getName());
        accessLevel = accessLogger.getLevel();
        accessLogger.setLevel(Level.DEBUG);
        accessLog.start();
        accessLogger.addAppender(accessLog);
        scripted = new ScriptedEndpoint(endpointIp, script);
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/scripted", SCRIPTED, List.of()))));
        Map<ServiceBackend, BackendSet> sets = Map.of(SCRIPTED, TestEndpoints.rr(scripted.address()));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        IngressMetrics metrics = new IngressMetrics() {
            @Override
            public void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
                calls.add(new Call(route, status));
            }
        };
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress(listenerIp, 0), router, sets::get, options, metrics);
    }

    InetSocketAddress address() {
        return ingress.localAddress();
    }

    /** The requests the endpoint read, as "N request-line" (N: its connection's number). */
    java.util.concurrent.BlockingQueue<String> endpointRequests() {
        return scripted.requests;
    }

    /** The access log's request lines so far. */
    List<String> accessLines() {
        return accessLog.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("client=")).toList();
    }

    @Override
    public void close() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        scripted.close();
        accessLogger.detachAppender(accessLog);
        accessLogger.setLevel(accessLevel);
    }
}
