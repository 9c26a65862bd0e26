package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Upgrade: websocket} through the HTTP and the HTTPS listener: a real handshake by Netty's WebSocket client against a
 * Netty WebSocket echo endpoint, then frames both ways over the byte relay. On 127.0.10.180-182.
 */
@Timeout(60)
class WebSocketIngressTest {
    private static final ServiceBackend CHAT = new ServiceBackend("default", "chat", 80, null);
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);

    private final TestEndpoints endpoints = new TestEndpoints();
    private EventLoopGroup group;
    private Channel echoServer;
    private BackendSet chat;
    private HttpIngressServer ingress;
    private final Router<ServiceBackend> router = new Router<>();
    @TempDir
    Path dir;

    @BeforeEach
    void setUp() throws Exception {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        echoServer = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65536),
                                new WebSocketServerProtocolHandler("/ws", null, false, 4 << 20),
                                new SimpleChannelInboundHandler<WebSocketFrame>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame f) {
                                        if (f instanceof TextWebSocketFrame t) {
                                            ctx.writeAndFlush(new TextWebSocketFrame("echo " + t.text()));
                                        } else if (f instanceof BinaryWebSocketFrame b) {
                                            ctx.writeAndFlush(new BinaryWebSocketFrame(b.content().retain()));
                                        }
                                    }
                                });
                    }
                }).bind(new InetSocketAddress("127.0.10.181", 0)).sync().channel();
        chat = TestEndpoints.rr((InetSocketAddress) echoServer.localAddress());
        BackendSet web = TestEndpoints.rr(endpoints.start("127.0.10.182", "web-1"));
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/chat", WEB, List.of(
                new Rule<>("chat.example", List.of(new PathRule<>("/ws", PathType.EXACT, CHAT))))))));
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.180", 0),
                router, Map.of(CHAT, chat, WEB, web)::get, IngressOptions.defaults(), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        echoServer.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoints.close();
    }

    @Test
    void aWebSocketHandshakeIsPassedThroughAndFramesFlowBothWays() throws Exception {
        exchangeFrames(ingress.localAddress(), "ws", null);
    }

    @Test
    void overTlsToo() throws Exception {
        TestCertificates ca = new TestCertificates(dir);
        try (HttpsIngressServer https = https(ca)) {
            SslContext client = SslContextBuilder.forClient().trustManager(ca.caFile().toFile()).build();
            exchangeFrames(https.localAddress(), "wss", client);
        }
    }

    /** Handshakes through the proxy, echoes text and a 1 MiB binary frame, closes; the endpoint's claim ends. */
    private void exchangeFrames(InetSocketAddress proxy, String scheme, SslContext tls) throws Exception {
        BlockingQueue<WebSocketFrame> received = new LinkedBlockingQueue<>();
        CompletableFuture<Void> handshaken = new CompletableFuture<>();
        URI uri = URI.create(scheme + "://chat.example:" + proxy.getPort() + "/ws");
        Channel client = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc(), "chat.example", proxy.getPort()));
                        }
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
                                new WebSocketClientProtocolHandler(WebSocketClientHandshakerFactory.newHandshaker(
                                        uri, WebSocketVersion.V13, null, false, new DefaultHttpHeaders(), 4 << 20)),
                                new SimpleChannelInboundHandler<WebSocketFrame>() {
                                    @Override
                                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                        if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent
                                                .HANDSHAKE_COMPLETE) {
                                            handshaken.complete(null);
                                        }
                                        ctx.fireUserEventTriggered(evt);
                                    }

                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame f) {
                                        received.add(f.retain());
                                    }
                                });
                    }
                }).connect(proxy).sync().channel();
        // the handshaker validates the 101's Sec-WebSocket-Accept: it came from the endpoint, through the proxy
        handshaken.get(10, TimeUnit.SECONDS);
        assertThat(chat.backends().get(0).activeConnections()).isEqualTo(1);

        for (int i = 0; i < 5; i++) {
            client.writeAndFlush(new TextWebSocketFrame("hello " + i));
            WebSocketFrame f = received.poll(10, TimeUnit.SECONDS);
            assertThat(f).isInstanceOf(TextWebSocketFrame.class);
            assertThat(((TextWebSocketFrame) f).text()).isEqualTo("echo hello " + i);
            f.release();
        }
        byte[] big = new byte[1 << 20];
        TestEndpoints.pattern(0, big, big.length);
        client.writeAndFlush(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(big)));
        WebSocketFrame echoed = received.poll(10, TimeUnit.SECONDS);
        assertThat(echoed).isInstanceOf(BinaryWebSocketFrame.class);
        ByteBuf content = echoed.content();
        byte[] back = new byte[content.readableBytes()];
        content.readBytes(back);
        echoed.release();
        assertThat(back).isEqualTo(big);

        client.writeAndFlush(new CloseWebSocketFrame()).sync();
        client.closeFuture().await(10, TimeUnit.SECONDS);
        // the endpoint's claim lasts as long as the tunnel
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(chat.backends().get(0)
                .activeConnections() + chat.backends().get(0).inactiveConnections()).isZero());
    }

    /**
     * A client that does not wait for the 101 (RFC 6455 asks it to; nginx relays what it sends anyway): its first frame
     * in the same write as the upgrade request and the start of the second, the second's rest later. Both reach the
     * endpoint whole (the request decoder took neither for a request), and the echoes come back in order.
     */
    @Test
    void framesSentBeforeThe101ReachTheEndpointAsSent() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            framesBeforeThe101(client);
        }
    }

    @Test
    void framesSentBeforeThe101ReachTheEndpointOverTlsToo() throws Exception {
        TestCertificates ca = new TestCertificates(dir);
        try (HttpsIngressServer https = https(ca);
             RawHttpClient client = new RawHttpClient(ca.clientContext().getSocketFactory().createSocket(
                     https.localAddress().getAddress(), https.localAddress().getPort()))) {
            framesBeforeThe101(client);
        }
    }

    private void framesBeforeThe101(RawHttpClient client) throws Exception {
        byte[] first = maskedText("early bird");
        byte[] second = maskedText("x".repeat(100));
        ByteArrayOutputStream burst = new ByteArrayOutputStream();
        burst.write(upgradeRequest("chat.example", "/ws").getBytes(StandardCharsets.US_ASCII));
        burst.write(first);
        burst.write(second, 0, 9); // the header and part of the mask: no line end for a decoder to stop at
        client.output().write(burst.toByteArray());
        client.output().flush();
        RawHttpClient.Response switching = client.read();
        assertThat(switching.status()).isEqualTo(101);
        assertThat(switching.headers()).containsKey("sec-websocket-accept");
        assertThat(readText(client)).isEqualTo("echo early bird");
        client.output().write(second, 9, second.length - 9);
        client.output().flush();
        assertThat(readText(client)).isEqualTo("echo " + "x".repeat(100));
        client.output().write(maskedText("later"));
        client.output().flush();
        assertThat(readText(client)).isEqualTo("echo later");
    }

    /** A graceful shutdown's drain leaves a WebSocket tunnel alone: it ends when a side ends it (or the drain timeout). */
    @Test
    void aTunnelGoesOnThroughADrain() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send(upgradeRequest("chat.example", "/ws"));
            assertThat(client.read().status()).isEqualTo(101);
            ingress.drain();
            client.output().write(maskedText("still here"));
            client.output().flush();
            assertThat(readText(client)).isEqualTo("echo still here");
            assertThat(ingress.connections()).isEqualTo(1);
        }
    }

    /**
     * An endpoint that answers an upgrade request with anything but 101: the connection stays HTTP/1.1, and a
     * request pipelined right behind the upgrade request (held as bytes while the answer was awaited) is answered
     * next. HTTP/2's cleartext upgrade is no longer offered on that connection: answered as HTTP/1.1.
     */
    @Test
    void afterARefusedUpgradeWhatFollowsIsReadAsRequests() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send(upgradeRequest("other.example", "/refused")
                    + "GET /next HTTP/1.1\r\nHost: other.example\r\n\r\n");
            RawHttpClient.Response refused = client.read();
            assertThat(refused.status()).isEqualTo(200);
            assertThat(refused.text()).startsWith("web-1 /refused\n").contains("upgrade=websocket");
            RawHttpClient.Response next = client.read();
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.text()).startsWith("web-1 /next\n");

            RawHttpClient.Response h2c = client.get("other.example", "/h2c", "Connection: Upgrade, HTTP2-Settings",
                    "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAAP__");
            assertThat(h2c.status()).isEqualTo(200);
            assertThat(h2c.text()).startsWith("web-1 /h2c\n");
            // and a second refused upgrade, this time with nothing behind it
            client.send(upgradeRequest("other.example", "/again"));
            assertThat(client.read().text()).startsWith("web-1 /again\n");
            assertThat(client.get("other.example", "/last").text()).startsWith("web-1 /last\n");
        }
    }

    /**
     * An upgrade request pipelined behind another request, and a request behind it: the decoder read the last one as
     * HTTP before the upgrade request was even proxied, so the tunnel the endpoint agrees to cannot start with the
     * bytes as sent. The 101 is relayed, then both sides close (nothing leaks, nothing is logged as a failure).
     */
    @Test
    void anUpgradePipelinedBetweenRequestsEndsWithItsTunnel() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /first HTTP/1.1\r\nHost: other.example\r\n\r\n" + upgradeRequest("chat.example", "/ws")
                    + "GET /behind HTTP/1.1\r\nHost: other.example\r\n\r\n");
            assertThat(client.read().text()).startsWith("web-1 /first\n");
            assertThat(client.read().status()).isEqualTo(101);
            await().atMost(Duration.ofSeconds(10)).until(client::isClosedByPeer);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(chat.backends().get(0)
                .activeConnections() + chat.backends().get(0).inactiveConnections()).isZero());
    }

    /** The HTTPS listener on 127.0.10.180 with a certificate for chat.example issued by {@code ca}. */
    private HttpsIngressServer https(TestCertificates ca) throws Exception {
        TlsCertificates certs = TlsCertificates.of(List.of(ca.issue("chat", "chat.example")));
        return HttpsIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.180", 0),
                router, Map.of(CHAT, chat)::get, IngressOptions.defaults(), IngressMetrics.NONE, certs);
    }

    private static String upgradeRequest(String host, String target) {
        return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    }

    /** A client's text frame (masked, as RFC 6455 5.3 requires), payload below 126 bytes. */
    private static byte[] maskedText(String text) {
        byte[] payload = text.getBytes(StandardCharsets.UTF_8);
        byte[] mask = {(byte) 0x81, 0x0d, 0x7f, 0x42}; // 0x81 first: a control character to an HTTP decoder
        byte[] frame = new byte[6 + payload.length];
        frame[0] = (byte) 0x81; // FIN, text
        frame[1] = (byte) (0x80 | payload.length);
        System.arraycopy(mask, 0, frame, 2, 4);
        for (int i = 0; i < payload.length; i++) {
            frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
        }
        return frame;
    }

    /** The endpoint's text frame (unmasked), payload below 126 bytes. */
    private static String readText(RawHttpClient client) throws Exception {
        assertThat(client.readByte()).isEqualTo(0x81);
        int len = client.readByte();
        assertThat(len).isLessThan(126);
        byte[] payload = new byte[len];
        for (int i = 0; i < len; i++) {
            payload[i] = (byte) client.readByte();
        }
        return new String(payload, StandardCharsets.UTF_8);
    }

    @Test
    void anUpgradeToAnotherProtocolIsNotForwarded() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            RawHttpClient.Response r = client.get("other.example", "/x", "Connection: Upgrade",
                    "Upgrade: something/1");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).startsWith("web-1 /x\n").doesNotContain("upgrade=").doesNotContain("connection=");
        }
    }
}
