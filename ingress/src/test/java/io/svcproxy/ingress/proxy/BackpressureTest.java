package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Request bodies are not buffered whole: towards an endpoint that stops reading, a client gets only as far as the
 * socket buffers and (HTTP/2) the stream window let it, on HTTP/1.1 and on h2c. A client that goes away in the
 * middle of a response frees the endpoint connection and its claim, and logs nothing above DEBUG (WarnGuard).
 * On 127.0.10.190-193.
 */
@Timeout(120)
class BackpressureTest {
    private static final long BODY = 128L << 20;
    /** Far below the body, far above what the socket buffers and the 256 KiB stream window hold. */
    private static final long BOUND = 40L << 20;
    private static final ServiceBackend STALLED = new ServiceBackend("default", "stalled", 80, null);
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);

    private final TestEndpoints endpoints = new TestEndpoints();
    private EventLoopGroup group;
    private ServerSocket stalled;
    private final List<Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
    private BackendSet web;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        // reads the request head, then nothing more, with the connection open
        stalled = new ServerSocket();
        stalled.setReceiveBufferSize(64 * 1024);
        stalled.bind(new InetSocketAddress(InetAddress.getByName("127.0.10.191"), 0), 50);
        Thread acceptor = new Thread(() -> {
            while (!stalled.isClosed()) {
                try {
                    Socket s = stalled.accept();
                    // held until tearDown: an unreachable Socket is closed by its Cleaner at the next GC, and the
                    // endpoint's close would end the request (502) instead of stalling it
                    accepted.add(s);
                    InputStream in = s.getInputStream();
                    int state = 0;
                    while (state < 4) {
                        int c = in.read();
                        if (c < 0) {
                            break;
                        }
                        state = (c == '\r' && state % 2 == 0) || (c == '\n' && state % 2 == 1) ? state + 1 : 0;
                    }
                } catch (Exception e) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        web = TestEndpoints.rr(endpoints.start("127.0.10.192", "web-1"));
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/web", WEB, List.of(
                new Rule<>("stalled.example", List.of(new PathRule<>("/", PathType.PREFIX, STALLED))))))));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        BackendSet stalledSet = TestEndpoints.rr(new InetSocketAddress("127.0.10.191", stalled.getLocalPort()));
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.190", 0),
                router, Map.of(STALLED, stalledSet, WEB, web)::get,
                IngressOptions.defaults().withResponseTimeout(Duration.ofSeconds(60)), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        stalled.close();
        for (Socket s : accepted) {
            s.close();
        }
        endpoints.close();
    }

    @Test
    void anHttp11UploadToAnEndpointThatStopsReadingIsHeldBackNotBuffered() throws Exception {
        AtomicLong written = new AtomicLong();
        try (Socket client = new Socket("127.0.10.190", ingress.localAddress().getPort())) {
            OutputStream out = client.getOutputStream();
            out.write(("POST /up HTTP/1.1\r\nHost: stalled.example\r\nContent-Length: " + BODY + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            CompletableFuture.runAsync(() -> {
                byte[] chunk = new byte[65536];
                try {
                    for (long n = 0; n < BODY; n += chunk.length) {
                        out.write(chunk);
                        written.addAndGet(chunk.length);
                    }
                } catch (Exception e) {
                    // closed at the end of the test
                }
            });
            long settled = awaitSettled(written::get);
            assertThat(settled).isGreaterThan(0).isLessThan(BOUND);
        }
    }

    @Test
    void anH2cUploadToAnEndpointThatStopsReadingIsHeldBackByFlowControl() throws Exception {
        AtomicLong sent = new AtomicLong();
        Channel conn = h2Connection();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                pump(ctx.channel(), sent);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        }).open().sync().getNow();
        stream.eventLoop().execute(() -> {
            stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST").path("/up")
                    .scheme("http").authority("stalled.example")
                    .set("content-length", Long.toString(BODY)), false));
            pump(stream, sent);
        });
        long settled = awaitSettled(sent::get);
        assertThat(settled).isGreaterThan(0).isLessThan(BOUND);
        conn.close().sync();
    }

    /** Writes DATA frames while the stream's window lets it; counts the bytes written to the socket. */
    private static void pump(Channel stream, AtomicLong sent) {
        while (stream.isActive() && stream.isWritable()) {
            stream.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[16384]), false))
                    .addListener(f -> {
                        if (f.isSuccess()) {
                            sent.addAndGet(16384);
                        }
                    });
        }
        stream.flush();
    }

    @Test
    void anH2cClientThatResetsItsStreamMidResponseFreesTheEndpoint() throws Exception {
        Channel conn = h2Connection();
        CompletableFuture<Void> firstData = new CompletableFuture<>();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2DataFrame) {
                    firstData.complete(null);
                }
                ReferenceCountUtil.release(msg);
            }
        }).open().sync().getNow();
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("GET")
                .path("/bytes/" + BODY).scheme("http").authority("web.example"), true));
        firstData.get(20, TimeUnit.SECONDS);
        assertThat(web.backends().get(0).activeConnections()).isEqualTo(1);
        stream.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)).sync();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(web.backends().get(0)
                .activeConnections() + web.backends().get(0).inactiveConnections()).isZero());
        // the connection goes on: another stream is answered
        CompletableFuture<String> status = new CompletableFuture<>();
        Http2StreamChannel next = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2HeadersFrame h) {
                    status.complete(h.headers().status().toString());
                }
                ReferenceCountUtil.release(msg);
            }
        }).open().sync().getNow();
        next.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("GET").path("/x")
                .scheme("http").authority("web.example"), true));
        assertThat(status.get(10, TimeUnit.SECONDS)).isEqualTo("200");
        conn.close().sync();
    }

    @Test
    void anHttp11ClientThatGoesAwayMidResponseFreesTheEndpoint() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /bytes/" + BODY + " HTTP/1.1\r\nHost: web.example\r\n\r\n");
            assertThat(client.line()).startsWith("HTTP/1.1 200");
            assertThat(web.backends().get(0).activeConnections()).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(web.backends().get(0)
                .activeConnections() + web.backends().get(0).inactiveConnections()).isZero());
    }

    private Channel h2Connection() throws InterruptedException {
        return new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                }).connect(ingress.localAddress()).sync().channel();
    }

    /** Waits until the count stops growing for a second (at most 30 s), and returns it. */
    private static long awaitSettled(java.util.function.LongSupplier count) throws InterruptedException {
        long last = -1;
        for (int i = 0; i < 60; i++) {
            Thread.sleep(1000);
            long now = count.getAsLong();
            if (now == last) {
                return now;
            }
            last = now;
        }
        return last;
    }
}
