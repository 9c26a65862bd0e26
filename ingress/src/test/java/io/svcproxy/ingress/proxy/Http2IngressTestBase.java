package io.svcproxy.ingress.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.proxy.RawH2Client.Frame;
import io.svcproxy.ingress.proxy.RawH2Client.Reset;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.slf4j.LoggerFactory;

/**
 * The setup the HTTP/2 stream tests share: a listener on 127.0.134.1 whose api.example goes to TestEndpoints on
 * 127.0.0.142 (any other host is the proxy's own 404), the metrics' request calls, and the access log at DEBUG.
 */
abstract class Http2IngressTestBase {
    private static final ServiceBackend API = new ServiceBackend("default", "api", 80, null);

    /** One {@link IngressMetrics#requestCompleted} call. */
    record Call(Route<ServiceBackend> route, int status) {
    }

    final TestEndpoints endpoints = new TestEndpoints();
    final List<Call> calls = new CopyOnWriteArrayList<>();
    final ListAppender<ILoggingEvent> accessLog = new ListAppender<>();
    private Logger accessLogger;
    private Level accessLevel;
    EventLoopGroup group;
    HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        accessLogger = (Logger) LoggerFactory.getLogger(AccessLog.LOG.getName());
        accessLevel = accessLogger.getLevel();
        accessLogger.setLevel(Level.DEBUG);
        accessLog.start();
        accessLogger.addAppender(accessLog);
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        listen(IngressOptions.defaults());
    }

    /** api.example goes to the endpoint (TestEndpoints' paths); any other host is the proxy's own 404. */
    void listen(IngressOptions options) throws Exception {
        if (ingress != null) {
            ingress.close();
        }
        InetSocketAddress api = endpoints.start("127.0.0.142", "api");
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/api", null, List.of(
                new Rule<>("api.example", List.of(new PathRule<>("/", PathType.PREFIX, API))))))));
        IngressMetrics metrics = new IngressMetrics() {
            @Override
            public void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
                calls.add(new Call(route, status));
            }
        };
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.134.1", 0),
                router, Map.of(API, TestEndpoints.rr(api))::get, options, metrics);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoints.close();
        accessLogger.detachAppender(accessLog);
        accessLogger.setLevel(accessLevel);
    }

    static Http2Headers request(String method, String host, String path) {
        return new DefaultHttp2Headers().method(method).scheme("http").authority(host).path(path);
    }

    /** The GOAWAY's error code if the client got one (or lost its connection: -1), else {@code null}. */
    static Long goAwayCode(RawH2Client client) {
        if (client.isActive()) {
            return null;
        }
        try {
            return client.awaitGoAway()[1];
        } catch (Exception e) {
            return -1L;
        }
    }

    /** The frames of {@code stream} up to its RST_STREAM; {@code null} if the connection went away first. */
    static List<Frame> untilReset(RawH2Client client, int stream) throws InterruptedException {
        List<Frame> frames = new ArrayList<>();
        while (true) {
            Frame f;
            try {
                f = client.next(stream);
            } catch (AssertionError e) {
                return null; // nothing within 20 s: the connection went away
            }
            frames.add(f);
            if (f instanceof Reset) {
                return frames;
            }
        }
    }
}
