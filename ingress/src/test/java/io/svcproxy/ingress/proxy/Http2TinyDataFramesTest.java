package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.proxy.RawH2Client.Data;
import io.svcproxy.ingress.proxy.RawH2Client.Frame;
import io.svcproxy.ingress.proxy.RawH2Client.Headers;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that sends its request bodies as 1-byte DATA frames, on several streams, to an endpoint that reads
 * nothing: what the proxy holds of them stays within the streams' windows (each held frame would otherwise cost
 * hundreds of bytes of objects for its one byte), and every body arrives whole once the endpoint reads. The proxy's
 * connection is built here, as {@link HttpIngressServer} builds it, so that the test can ask its
 * {@link Http2IngressHandler}. On 127.0.0.176-177.
 */
@Timeout(300)
class Http2TinyDataFramesTest {
    private static final ServiceBackend GATED = new ServiceBackend("default", "gated", 80, null);
    private static final int STREAMS = 3;
    private static final int FRAME = 16384;

    private final List<Channel> accepted = new CopyOnWriteArrayList<>();
    private GatedEndpoint gated;
    private EventLoopGroup group;
    private EventLoopGroup clientGroup;
    private Channel server;

    @BeforeEach
    void setUp() throws Exception {
        gated = new GatedEndpoint("127.0.0.177");
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/tiny", GATED, List.of()))));
        ListenerSettings settings = ListenerSettings.create(router,
                Map.of(GATED, TestEndpoints.rr(gated.address()))::get, IngressOptions.defaults(), "http",
                IngressMetrics.NONE);
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        accepted.add(ch);
                        ClientPipelines.cleartext(ch.pipeline(), settings);
                    }
                })
                .bind(new InetSocketAddress("127.0.0.176", 0)).sync().channel();
    }

    @AfterEach
    void tearDown() throws Exception {
        gated.open();
        server.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        gated.close();
    }

    @Test
    void oneByteDataFramesToAnEndpointThatReadsNothingAreHeldWithinTheWindowsAndArriveWhole() throws Exception {
        try (RawH2Client client = RawH2Client.connect(clientGroup, (InetSocketAddress) server.localAddress())) {
            int window = client.serverSettings().initialWindowSize();
            List<MessageDigest> sent = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                int id = streamId(i);
                // no content-length: the body goes to the endpoint chunked, whatever its length turns out to be
                client.headers(id, new DefaultHttp2Headers().method("POST").path("/upload/" + i).scheme("http")
                        .authority("tiny.example"), false);
                int heads = i + 1;
                await().atMost(Duration.ofSeconds(30)).until(() -> gated.heads.get() == heads);
                MessageDigest sha = TestEndpoints.sha256();
                sent.add(sha);
                // the endpoint reads no body: fill its connection (socket buffers, then the proxy's high water
                // mark) with full frames, as long as the proxy keeps giving the window back
                long offset = 0;
                while (true) {
                    long available = window + client.windowIncrements(id) - offset;
                    if (available < window / 2 + FRAME) {
                        if (!client.awaitWindowIncrements(id, offset + window / 2 + FRAME - window, 1000)) {
                            break; // the proxy holds the window: the endpoint's connection takes no more
                        }
                        continue;
                    }
                    byte[] frame = pattern(offset, FRAME);
                    client.data(id, frame, false);
                    sha.update(frame);
                    offset += FRAME;
                    assertThat(offset).as("the proxy kept giving the window back").isLessThan(64L << 20);
                }
                // then all the window the client has left, one byte per DATA frame
                int room = (int) (window + client.windowIncrements(id) - offset);
                assertThat(room).isGreaterThanOrEqualTo(window / 2);
                byte[] tail = pattern(offset, room);
                client.dataInFrames(id, tail, 1, true);
                sha.update(tail);
            }
            client.ping(); // the proxy has read every frame
            Channel connection = accepted.get(0);
            Http2IngressHandler handler = connection.pipeline().get(Http2IngressHandler.class);
            long held = connection.eventLoop().submit(handler::requestBytesHeld).get(10, TimeUnit.SECONDS);
            // each stream: at most its window copied, plus the endpoint connection's high water mark (64 KiB) of
            // written parts; without the copy, every 1-byte frame is an object of its own (hundreds of bytes each)
            assertThat(held).as("request body bytes the proxy holds for %d streams", STREAMS)
                    .isLessThan(STREAMS * (2L * window));

            gated.open();
            for (int i = 0; i < STREAMS; i++) {
                List<Frame> frames = client.untilEnd(streamId(i));
                assertThat(((Headers) frames.get(0)).headers().status()).as("stream %d", streamId(i))
                        .hasToString("200");
                ByteArrayOutputStream response = new ByteArrayOutputStream();
                for (Frame f : frames) {
                    if (f instanceof Data d) {
                        response.write(d.bytes());
                    }
                }
                assertThat(response.toString(StandardCharsets.US_ASCII)).as("stream %d", streamId(i))
                        .isEqualTo(HexFormat.of().formatHex(sent.get(i).digest()));
            }
            await().atMost(Duration.ofSeconds(10)).until(() ->
                    connection.eventLoop().submit(handler::requestBytesHeld).get() == 0);
            assertThat(client.isActive()).isTrue();
        }
    }

    private static int streamId(int i) {
        return 1 + 2 * i;
    }

    private static byte[] pattern(long offset, int size) {
        byte[] b = new byte[size];
        TestEndpoints.pattern(offset, b, size);
        return b;
    }
}
