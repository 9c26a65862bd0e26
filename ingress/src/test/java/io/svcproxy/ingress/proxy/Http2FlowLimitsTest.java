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
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.proxy.RawH2Client.Frame;
import io.svcproxy.ingress.proxy.RawH2Client.Headers;
import io.svcproxy.ingress.proxy.RawH2Client.Reset;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
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
 * HTTP/2 limits of one client connection: the concurrent-stream limit the proxy advertises (a stream beyond it is
 * refused with {@code REFUSED_STREAM}, the others go on), and flow control at the connection level: many uploads
 * at once, each within its stream window but together far beyond the connection window, all arrive whole while
 * what the proxy lets in stays bounded; an upload whose endpoint stops reading holds back no other stream. On
 * 127.0.10.172-174.
 */
@Timeout(180)
class Http2FlowLimitsTest {
    private static final ServiceBackend JDK = new ServiceBackend("default", "jdk", 80, null);
    private static final ServiceBackend GATED = new ServiceBackend("default", "gated", 80, null);
    private static final int UPLOAD = 16 << 20;

    private final TestEndpoints endpoints = new TestEndpoints();
    private GatedEndpoint gated;
    private EventLoopGroup group;
    private EventLoopGroup clientGroup;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        InetSocketAddress jdk = endpoints.start("127.0.10.174", "jdk");
        gated = new GatedEndpoint("127.0.10.173");
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/h2", JDK, List.of(
                new Rule<>("gated.example", List.of(new PathRule<>("/", PathType.PREFIX, GATED))))))));
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.172", 0),
                router, Map.of(JDK, TestEndpoints.rr(jdk), GATED, TestEndpoints.rr(gated.address()))::get,
                IngressOptions.defaults(), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        gated.open();
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        gated.close();
        endpoints.close();
    }

    @Test
    void aStreamBeyondTheAdvertisedLimitIsRefusedWhileTheOthersGoOn() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            Long limit = client.serverSettings().maxConcurrentStreams();
            assertThat(limit).isEqualTo(ClientPipelines.MAX_CONCURRENT_STREAMS);
            int n = limit.intValue();
            for (int i = 0; i < n; i++) {
                client.headers(1 + 2 * i, request("gated.example", "GET", "/held/" + i), true);
            }
            // every stream reached the endpoint, which holds its answer: all are open at once
            await().atMost(Duration.ofSeconds(60)).until(() -> gated.heads.get() == n);
            int beyond = 1 + 2 * n;
            client.headers(beyond, request("gated.example", "GET", "/beyond"), true);
            Frame refused = client.next(beyond);
            assertThat(refused).isInstanceOf(Reset.class);
            assertThat(((Reset) refused).errorCode()).isEqualTo(Http2Error.REFUSED_STREAM.code());
            gated.open();
            for (int i = 0; i < n; i++) {
                List<Frame> frames = client.untilEnd(1 + 2 * i);
                assertThat(((Headers) frames.get(0)).headers().status()).as("stream %d", 1 + 2 * i)
                        .hasToString("200");
            }
            // the connection goes on, and has room again
            client.headers(beyond + 2, request("api.example", "GET", "/after"), true);
            assertThat(((Headers) client.untilEnd(beyond + 2).get(0)).headers().status()).hasToString("200");
            assertThat(client.isActive()).isTrue();
            assertThat(gated.heads.get()).isEqualTo(n);
        }
    }

    @Test
    void eightUploadsOf16MiBAtOnceBeyondTheConnectionWindowAllArriveWhileWhatIsLetInStaysBounded()
            throws Exception {
        Channel conn = h2Connection();
        List<Upload> uploads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            uploads.add(new Upload(conn, "gated.example", (long) i * UPLOAD, UPLOAD));
        }
        // the endpoint reads none of it yet: the client gets only as far as the windows and buffers let it
        await().atMost(Duration.ofSeconds(30)).until(() -> gated.heads.get() == 8);
        long letIn = awaitSettled(() -> uploads.stream().mapToLong(u -> u.written.get()).sum());
        assertThat(letIn).as("bytes the proxy let in while its endpoint read nothing").isLessThan(48L << 20);
        for (Upload u : uploads) {
            assertThat(u.written.get()).isLessThan(UPLOAD);
        }
        gated.open();
        for (int i = 0; i < 8; i++) {
            assertThat(uploads.get(i).response.get(120, TimeUnit.SECONDS)).as("upload %d", i)
                    .isEqualTo(sha256Of((long) i * UPLOAD, UPLOAD));
        }
        assertThat(gated.bodyBytes.get()).isEqualTo(8L * UPLOAD);
        conn.close().sync();
    }

    @Test
    void anUploadWhoseEndpointStopsReadingHoldsBackNoOtherStreamOfTheConnection() throws Exception {
        Channel conn = h2Connection();
        Upload stalled = new Upload(conn, "gated.example", 0, UPLOAD);
        await().atMost(Duration.ofSeconds(30)).until(() -> gated.heads.get() == 1);
        awaitSettled(stalled.written::get);
        assertThat(stalled.written.get()).isLessThan(UPLOAD);
        // another upload of the same connection, to an endpoint that reads: it goes through while the first waits
        Upload other = new Upload(conn, "api.example", 5L << 20, 4 << 20);
        assertThat(other.response.get(60, TimeUnit.SECONDS)).isEqualTo(sha256Of(5L << 20, 4 << 20));
        assertThat(stalled.response).isNotDone();
        gated.open();
        assertThat(stalled.response.get(60, TimeUnit.SECONDS)).isEqualTo(sha256Of(0, UPLOAD));
        conn.close().sync();
    }

    /** One upload on its own stream: {@code size} bytes of the test pattern from {@code offset}, as the window lets. */
    private final class Upload {
        final AtomicLong written = new AtomicLong();
        final CompletableFuture<String> response = new CompletableFuture<>();
        private final Http2StreamChannel stream;
        private final long offset;
        private final int size;
        private int sent;

        Upload(Channel conn, String authority, long offset, int size) throws InterruptedException {
            this.offset = offset;
            this.size = size;
            StringBuilder body = new StringBuilder();
            stream = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof Http2HeadersFrame h && !"200".contentEquals(h.headers().status())) {
                        response.completeExceptionally(new AssertionError("status " + h.headers().status()));
                    } else if (msg instanceof Http2DataFrame d) {
                        body.append(d.content().toString(StandardCharsets.US_ASCII));
                        if (d.isEndStream()) {
                            response.complete(body.toString());
                        }
                    }
                    ReferenceCountUtil.release(msg);
                }

                @Override
                public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                    pump();
                }
            }).open().sync().getNow();
            stream.eventLoop().execute(() -> {
                stream.write(new DefaultHttp2HeadersFrame(request(authority, "POST", "/sha256")
                        .setInt("content-length", size), false));
                pump();
            });
        }

        private void pump() {
            while (sent < size && stream.isWritable()) {
                int len = Math.min(16384, size - sent);
                byte[] chunk = new byte[len];
                TestEndpoints.pattern(offset + sent, chunk, len);
                sent += len;
                stream.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(chunk), sent == size))
                        .addListener(f -> {
                            if (f.isSuccess()) {
                                written.addAndGet(len);
                            }
                        });
            }
            stream.flush();
        }
    }

    private static String sha256Of(long offset, int size) {
        MessageDigest sha = TestEndpoints.sha256();
        byte[] buf = new byte[65536];
        for (int off = 0; off < size; off += buf.length) {
            int len = Math.min(buf.length, size - off);
            TestEndpoints.pattern(offset + off, buf, len);
            sha.update(buf, 0, len);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static Http2Headers request(String authority, String method, String path) {
        return new DefaultHttp2Headers().method(method).path(path).scheme("http").authority(authority);
    }

    private Channel h2Connection() throws InterruptedException {
        return new Bootstrap().group(clientGroup).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient()
                                        .initialSettings(Http2Settings.defaultSettings()).build(),
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
