package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
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
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * HTTP/2 streams handled on their connection ({@link Http2IngressHandler}): many concurrent streams of one
 * connection each picked by the scheduler, a client that stops reading a response holds the endpoint back by the
 * stream's window (nothing buffered whole, nothing lost once it reads on), and a reset in the middle of an upload
 * frees the endpoint while the connection goes on. A failing endpoint resets its stream only. On 127.0.10.194-199.
 */
@Timeout(120)
class Http2StreamsTest {
    private static final ServiceBackend API = new ServiceBackend("default", "api", 80, null);
    private static final ServiceBackend FIREHOSE = new ServiceBackend("default", "firehose", 80, null);
    private static final ServiceBackend BROKEN = new ServiceBackend("default", "broken", 80, null);
    /** A backend no Service port answers for: its requests are the proxy's own 503. */
    private static final ServiceBackend GONE = new ServiceBackend("default", "gone", 80, null);
    private static final long FIREHOSE_BODY = 64L << 20;

    private final TestEndpoints endpoints = new TestEndpoints();
    private EventLoopGroup group;
    private ServerSocket firehose;
    /** Bytes the firehose endpoint's socket accepted so far. */
    private final AtomicLong firehoseWritten = new AtomicLong();
    private BackendSet api;
    /** Answers 200 with a Content-Length of 100,000, sends 1,000 bytes of it, then closes. */
    private ServerSocket broken;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        api = TestEndpoints.rr(endpoints.start("127.0.10.195", "api-a"), endpoints.start("127.0.10.196", "api-b"),
                endpoints.start("127.0.10.197", "api-c"));
        // answers any request with a 64 MiB body, written as fast as its socket takes it
        firehose = new ServerSocket();
        firehose.bind(new InetSocketAddress(InetAddress.getByName("127.0.10.198"), 0), 50);
        Thread acceptor = new Thread(this::serveFirehose);
        acceptor.setDaemon(true);
        acceptor.start();
        broken = new ServerSocket();
        broken.bind(new InetSocketAddress(InetAddress.getByName("127.0.10.199"), 0), 50);
        Thread brokenAcceptor = new Thread(this::serveBroken);
        brokenAcceptor.setDaemon(true);
        brokenAcceptor.start();
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/api", API, List.of(
                new Rule<>("firehose.example", List.of(new PathRule<>("/", PathType.PREFIX, FIREHOSE))),
                new Rule<>("broken.example", List.of(new PathRule<>("/", PathType.PREFIX, BROKEN))),
                new Rule<>("gone.example", List.of(new PathRule<>("/", PathType.PREFIX, GONE))))))));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        BackendSet firehoseSet = TestEndpoints.rr(new InetSocketAddress("127.0.10.198", firehose.getLocalPort()));
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.194", 0),
                router, Map.of(API, api, FIREHOSE, firehoseSet, BROKEN,
                        TestEndpoints.rr(new InetSocketAddress("127.0.10.199", broken.getLocalPort())))::get,
                IngressOptions.defaults().withResponseTimeout(Duration.ofSeconds(60)), IngressMetrics.NONE);
    }

    private void serveFirehose() {
        while (!firehose.isClosed()) {
            try (Socket s = firehose.accept()) {
                InputStream in = s.getInputStream();
                int state = 0;
                while (state < 4) {
                    int c = in.read();
                    if (c < 0) {
                        break;
                    }
                    state = (c == '\r' && state % 2 == 0) || (c == '\n' && state % 2 == 1) ? state + 1 : 0;
                }
                OutputStream out = s.getOutputStream();
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + FIREHOSE_BODY + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                byte[] buf = new byte[16384];
                for (long off = 0; off < FIREHOSE_BODY; off += buf.length) {
                    out.write(buf);
                    firehoseWritten.addAndGet(buf.length);
                }
                out.flush();
                in.read(); // until the proxy closes or pools the connection
            } catch (Exception e) {
                // the proxy closed the connection, or the test ended
            }
        }
    }

    private void serveBroken() {
        while (!broken.isClosed()) {
            try (Socket s = broken.accept()) {
                InputStream in = s.getInputStream();
                int state = 0;
                while (state < 4) {
                    int c = in.read();
                    if (c < 0) {
                        break;
                    }
                    state = (c == '\r' && state % 2 == 0) || (c == '\n' && state % 2 == 1) ? state + 1 : 0;
                }
                OutputStream out = s.getOutputStream();
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.write(new byte[1000]);
                out.flush();
            } catch (Exception e) {
                // the test ended
            }
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        firehose.close();
        broken.close();
        endpoints.close();
    }

    @Test
    void manyConcurrentStreamsOfOneConnectionArePickedEachInTheSchedulersOrder() throws Exception {
        Channel conn = h2Connection(Http2Settings.defaultSettings());
        List<CompletableFuture<String>> bodies = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            bodies.add(get(conn, "api.example", "/s/" + i));
        }
        List<String> answers = new ArrayList<>();
        for (CompletableFuture<String> b : bodies) {
            answers.add(b.get(30, TimeUnit.SECONDS));
        }
        // all 60 streams were in flight at once; rr gives each endpoint exactly a third of them
        Map<String, Long> byEndpoint = answers.stream().collect(Collectors.groupingBy(a -> a.substring(0,
                a.indexOf(' ')), Collectors.counting()));
        assertThat(byEndpoint).containsExactlyInAnyOrderEntriesOf(Map.of("api-a", 20L, "api-b", 20L, "api-c", 20L));
        for (int i = 0; i < 60; i++) {
            assertThat(answers.get(i)).contains(" /s/" + i + "\n").contains("x-forwarded-for=127.0.0.1\n")
                    .contains("x-forwarded-proto=http\n").contains("host=api.example\n").doesNotContain("x-http2");
        }
        conn.close().sync();
    }

    @Test
    void aClientThatStopsReadingAResponseHoldsTheEndpointBackThenGetsItWhole() throws Exception {
        Channel conn = h2Connection(Http2Settings.defaultSettings().initialWindowSize(65535));
        AtomicLong received = new AtomicLong();
        CompletableFuture<Void> ended = new CompletableFuture<>();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2DataFrame d) {
                    received.addAndGet(d.content().readableBytes());
                    if (d.isEndStream()) {
                        ended.complete(null);
                    }
                }
                ReferenceCountUtil.release(msg);
            }
        }).option(io.netty.channel.ChannelOption.AUTO_READ, false).open().sync().getNow();
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(headers("firehose.example", "/big"), true)).sync();
        // the client reads nothing: the endpoint gets only as far as the stream window and the socket buffers
        await().atMost(Duration.ofSeconds(20)).until(() -> firehoseWritten.get() > 0);
        long held = awaitSettled(firehoseWritten::get);
        assertThat(held).isLessThan(16L << 20);
        assertThat(received.get()).isZero();
        // reading on, the client gets the whole body
        stream.eventLoop().execute(() -> {
            stream.config().setAutoRead(true);
            stream.read();
        });
        ended.get(60, TimeUnit.SECONDS);
        assertThat(received.get()).isEqualTo(FIREHOSE_BODY);
        conn.close().sync();
    }

    @Test
    void aResponseThatEndsBeforeItsRequestReachesTheClientWholeBeforeTheStreamIsReset() throws Exception {
        Channel conn = h2Connection(Http2Settings.defaultSettings());
        AtomicLong received = new AtomicLong();
        AtomicLong receivedAtReset = new AtomicLong(-1);
        CompletableFuture<Long> reset = new CompletableFuture<>();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2DataFrame d) {
                    received.addAndGet(d.content().readableBytes());
                }
                ReferenceCountUtil.release(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof Http2ResetFrame r) {
                    receivedAtReset.set(received.get());
                    reset.complete(r.errorCode());
                }
                ReferenceCountUtil.release(evt);
            }
        }).open().sync().getNow();
        // a request body that never ends: the firehose answers its head with 64 MiB, which the client's window
        // (65,535 bytes per stream) lets through a window at a time, so the response's last frames wait in the
        // proxy's flow controller when the endpoint's read ends the response
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(headers("firehose.example", "/early").method("POST"), false))
                .sync();
        // the reset that tells the client to stop sending (RFC 9113 8.1) comes behind the whole body, not before
        assertThat(reset.get(60, TimeUnit.SECONDS)).isEqualTo(Http2Error.NO_ERROR.code());
        assertThat(receivedAtReset.get()).isEqualTo(FIREHOSE_BODY);
        assertThat(get(conn, "api.example", "/after").get(10, TimeUnit.SECONDS)).contains(" /after\n");
        conn.close().sync();
    }

    /**
     * The proxy's own answer (a 503: its Service is gone) to a request whose body still comes asks the client to stop sending,
     * as after an endpoint's early answer (RFC 9113 8.1): RST_STREAM NO_ERROR behind the answer's last frame; the
     * client kept uploading a body nobody reads (helper-109's note).
     */
    @Test
    void theProxysOwnAnswerBeforeTheRequestsEndAsksTheClientToStopSending() throws Exception {
        Channel conn = h2Connection(Http2Settings.defaultSettings());
        CompletableFuture<String> status = new CompletableFuture<>();
        AtomicLong bodyAtReset = new AtomicLong(-1);
        AtomicLong body = new AtomicLong();
        CompletableFuture<Long> reset = new CompletableFuture<>();
        Http2StreamChannel upload = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2HeadersFrame h) {
                    status.complete(String.valueOf(h.headers().status()));
                } else if (msg instanceof Http2DataFrame d) {
                    body.addAndGet(d.content().readableBytes());
                }
                ReferenceCountUtil.release(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof Http2ResetFrame r) {
                    bodyAtReset.set(body.get());
                    reset.complete(r.errorCode());
                }
                ReferenceCountUtil.release(evt);
            }
        }).open().sync().getNow();
        upload.write(new DefaultHttp2HeadersFrame(headers("gone.example", "/upload").method("POST"), false));
        upload.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[16384]), false)).sync();
        assertThat(status.get(10, TimeUnit.SECONDS)).isEqualTo("503");
        assertThat(reset.get(10, TimeUnit.SECONDS)).isEqualTo(Http2Error.NO_ERROR.code());
        assertThat(bodyAtReset.get()).as("the answer's body came whole before the reset").isEqualTo(24); // "503 Service Unavailable\n"
        assertThat(get(conn, "api.example", "/after").get(10, TimeUnit.SECONDS)).contains(" /after\n");
        conn.close().sync();
    }

    @Test
    void aStreamResetInTheMiddleOfItsUploadFreesTheEndpointAndTheConnectionGoesOn() throws Exception {
        Channel conn = h2Connection(Http2Settings.defaultSettings());
        Http2StreamChannel upload = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        }).open().sync().getNow();
        upload.write(new DefaultHttp2HeadersFrame(headers("api.example", "/sha256").method("POST"), false));
        upload.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[16384]), false)).sync();
        await().atMost(Duration.ofSeconds(10)).until(() -> leases(api) == 1);
        upload.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)).sync();
        await().atMost(Duration.ofSeconds(10)).until(() -> leases(api) == 0);
        assertThat(get(conn, "api.example", "/after").get(10, TimeUnit.SECONDS)).contains(" /after\n");
        conn.close().sync();
    }

    @Test
    void anEndpointThatFailsMidResponseResetsTheStreamAndTheConnectionGoesOn() throws Exception {
        Channel conn = h2Connection(Http2Settings.defaultSettings());
        AtomicLong received = new AtomicLong();
        CompletableFuture<Long> reset = new CompletableFuture<>();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2DataFrame d) {
                    received.addAndGet(d.content().readableBytes());
                }
                ReferenceCountUtil.release(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof Http2ResetFrame r) {
                    reset.complete(r.errorCode());
                }
            }
        }).open().sync().getNow();
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(headers("broken.example", "/x"), true)).sync();
        assertThat(reset.get(20, TimeUnit.SECONDS)).isEqualTo(Http2Error.INTERNAL_ERROR.code());
        assertThat(received.get()).isEqualTo(1000);
        assertThat(conn.isActive()).isTrue();
        assertThat(get(conn, "api.example", "/after").get(10, TimeUnit.SECONDS)).contains(" /after\n");
        conn.close().sync();
    }

    @Test
    void nghttpGetsItsConcurrentStreamsOfOneConnectionFromEachEndpointInTurn() throws Exception {
        String base = "http://127.0.10.194:" + ingress.localAddress().getPort();
        List<String> cmd = new ArrayList<>(List.of("nghttp", "-n", "-s", "-m", "1", "--no-dep"));
        for (int i = 0; i < 6; i++) {
            cmd.add(base + "/n/" + i);
        }
        Curl.Result r = Curl.run(cmd);
        assertThat(r.exitCode()).as(r.err()).isZero();
        // -s prints one line per finished stream: six streams, one connection, all 200
        assertThat(r.out().lines().filter(l -> l.contains("/n/")).count()).as(r.out()).isEqualTo(6);
        assertThat(endpoints.hits("api-a") + endpoints.hits("api-b") + endpoints.hits("api-c")).isEqualTo(6);
        assertThat(List.of(endpoints.hits("api-a"), endpoints.hits("api-b"), endpoints.hits("api-c")))
                .containsOnly(2);
    }

    private static long leases(BackendSet set) {
        long n = 0;
        for (BackendState b : set.backends()) {
            n += b.activeConnections() + b.inactiveConnections();
        }
        return n;
    }

    private static Http2Headers headers(String authority, String path) {
        return new DefaultHttp2Headers().method("GET").path(path).scheme("http").authority(authority);
    }

    /** A GET on a new stream of {@code conn}; completes with the response body (the status must be 200). */
    private static CompletableFuture<String> get(Channel conn, String authority, String path) throws Exception {
        CompletableFuture<String> body = new CompletableFuture<>();
        StringBuilder sb = new StringBuilder();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2HeadersFrame h && h.headers().status() != null
                        && !"200".contentEquals(h.headers().status())) {
                    body.completeExceptionally(new AssertionError("status " + h.headers().status()));
                } else if (msg instanceof Http2DataFrame d) {
                    ByteBuf b = d.content();
                    sb.append(b.toString(StandardCharsets.UTF_8));
                    if (d.isEndStream()) {
                        body.complete(sb.toString());
                    }
                }
                ReferenceCountUtil.release(msg);
            }
        }).open().sync().getNow();
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(headers(authority, path), true));
        return body;
    }

    private Channel h2Connection(Http2Settings settings) throws InterruptedException {
        return new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().initialSettings(settings).build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                }).connect(ingress.localAddress()).sync().channel();
    }

    /** Waits until the count stops growing for a second (at most 30 s), and returns it. */
    private static long awaitSettled(java.util.function.LongSupplier count) throws InterruptedException {
        long last = -1;
        for (int i = 0; i < 30; i++) {
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
