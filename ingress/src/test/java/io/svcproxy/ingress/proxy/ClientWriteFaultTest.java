package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import io.svcproxy.ingress.testing.WarnGuard;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A write towards the client that fails with an exception that is not the network's (the responses' writes have
 * void promises, so the failure is the client connection's {@code exceptionCaught}): the connection closes at once,
 * not at its idle timeout, and the exception is logged once, at WARN. The listener is built as
 * {@link HttpIngressServer} builds it, with a handler in front of the proxy's that throws on one response. On
 * 127.0.0.167 (listener) and 127.0.0.168 (endpoint).
 */
@Timeout(60)
class ClientWriteFaultTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);
    /** Long, so that a connection left open until it would be seen still open well after the fault. */
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);

    private final AtomicBoolean failNextResponse = new AtomicBoolean();
    private RawHttpEndpoint endpoint;
    private EventLoopGroup group;
    private Channel listener;

    @BeforeEach
    void setUp() throws Exception {
        endpoint = new RawHttpEndpoint("127.0.0.168");
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/web", WEB, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(WEB, TestEndpoints.rr(endpoint.address()));
        ListenerSettings settings = ListenerSettings.create(router, sets::get,
                IngressOptions.defaults().withIdleTimeout(IDLE_TIMEOUT), "http", IngressMetrics.NONE);
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        listener = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ClientPipelines.cleartext(ch.pipeline(), settings);
                        ch.pipeline().addBefore("proxy", "fault", new ChannelOutboundHandlerAdapter() {
                            @Override
                            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                                if (msg instanceof HttpResponse && failNextResponse.getAndSet(false)) {
                                    ReferenceCountUtil.release(msg);
                                    throw new IllegalStateException("injected write fault");
                                }
                                ctx.write(msg, promise);
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.167", 0)).sync().channel();
    }

    @AfterEach
    void tearDown() throws Exception {
        listener.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoint.close();
    }

    @Test
    void anUnexpectedExceptionOnAWriteToTheClientClosesItsConnectionAndIsLoggedOnce() throws Exception {
        InetSocketAddress address = (InetSocketAddress) listener.localAddress();
        try (RawHttpClient client = new RawHttpClient(address)) {
            assertThat(client.get("any", "/warm").status()).isEqualTo(200);
            failNextResponse.set(true);
            long start = System.nanoTime();
            client.send("GET /faulty HTTP/1.1\r\nHost: any\r\n\r\n");
            await().atMost(Duration.ofSeconds(10)).until(client::isClosedByPeer);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))
                    .as("ms to the close, against an idle timeout of 30 s").isLessThan(IDLE_TIMEOUT.toMillis() / 2);
        }
        // not swallowed: the exception went on past IngressFrontendHandler and was logged (at WARN, by Netty)
        List<String> logged = WarnGuard.drain();
        assertThat(logged).hasSize(1);
        assertThat(logged.get(0)).contains("IllegalStateException: injected write fault");
        // the listener goes on
        try (RawHttpClient client = new RawHttpClient(address)) {
            assertThat(client.get("any", "/after").status()).isEqualTo(200);
        }
    }
}
