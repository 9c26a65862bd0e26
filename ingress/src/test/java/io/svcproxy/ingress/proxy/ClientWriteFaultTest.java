package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
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
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import io.svcproxy.ingress.testing.WarnGuard;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
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
 * not at its idle timeout, and the exception is logged once, at WARN; the same for an exception in a WebSocket
 * tunnel (which has no idle timeout). The listener is built as {@link HttpIngressServer} builds it, with handlers in
 * front of the proxy's that throw on one response and on the tunnel's bytes "boom". On 127.0.0.167 (listener),
 * 127.0.0.168 (endpoint) and 127.0.0.178 (WebSocket echo endpoint).
 */
@Timeout(60)
class ClientWriteFaultTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);
    /** Long, so that a connection left open until it would be seen still open well after the fault. */
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);

    private static final ServiceBackend WS = new ServiceBackend("default", "ws", 80, null);

    private final AtomicBoolean failNextResponse = new AtomicBoolean();
    private RawHttpEndpoint endpoint;
    /** Answers any request with a 101 to WebSocket, then echoes bytes until the connection closes. */
    private ScriptedEndpoint echo;
    private EventLoopGroup group;
    private Channel listener;

    @BeforeEach
    void setUp() throws Exception {
        endpoint = new RawHttpEndpoint("127.0.0.168");
        echo = new ScriptedEndpoint("127.0.0.178", (requestLine, in, out) -> {
            out.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] buf = new byte[4096];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
            return false;
        });
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(
                new IngressRules<>("default/ws", null, List.of(new IngressRules.Rule<>("ws.example", List.of(
                        new IngressRules.PathRule<>("/", PathType.PREFIX, WS))))),
                new IngressRules<>("default/web", WEB, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(WEB, TestEndpoints.rr(endpoint.address()),
                WS, TestEndpoints.rr(echo.address()));
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
                        // after a WebSocket upgrade the codec is gone and bytes come raw: "boom" throws
                        ch.pipeline().addBefore("proxy", "read-fault", new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof ByteBuf b && b.toString(StandardCharsets.US_ASCII).equals("boom")) {
                                    b.release();
                                    throw new IllegalStateException("injected tunnel fault");
                                }
                                ctx.fireChannelRead(msg);
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
        echo.close();
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

    @Test
    void anUnexpectedExceptionInAWebSocketTunnelClosesItsConnectionAndIsLoggedOnce() throws Exception {
        InetSocketAddress address = (InetSocketAddress) listener.localAddress();
        try (RawHttpClient client = new RawHttpClient(address)) {
            client.send("GET /chat HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(101);
            client.send("ping");
            StringBuilder echoed = new StringBuilder();
            while (echoed.length() < 4) {
                echoed.append((char) client.readByte());
            }
            assertThat(echoed.toString()).isEqualTo("ping");
            client.send("boom");
            // no idle timeout applies to a tunnel: without the close it would stay open for good
            await().atMost(Duration.ofSeconds(10)).until(client::isClosedByPeer);
        }
        List<String> logged = WarnGuard.drain();
        assertThat(logged).hasSize(1);
        assertThat(logged.get(0)).contains("IllegalStateException: injected tunnel fault");
    }
}
