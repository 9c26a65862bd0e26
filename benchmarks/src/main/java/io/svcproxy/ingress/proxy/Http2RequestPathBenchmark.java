package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Java work of one HTTP/2 request through the Ingress, without the kernel: the bench's h2 row (h2load's GET
 * to an nginx endpoint answering 200 with a 100-byte body) with the client connection and the kept-alive endpoint
 * connections as {@link EmbeddedChannel}s. Per operation: the request's HEADERS frame (as h2load encodes its
 * second and later requests: every field indexed) into the client connection's pipeline as built by
 * {@link ClientPipelines#cleartext}, routing, the round-robin pick, the request's HTTP/1.1 encoding onto a pooled
 * endpoint connection, the endpoint's answer decoded and converted, the HEADERS and DATA frames encoded under flow
 * control and flushed at the end of the turn ({@link TurnFlush}). No system calls, metrics off
 * ({@link IngressMetrics#NONE}); what the bench's user time per request is made of, resolved to a percent, which
 * a loaded two-core machine cannot resolve between builds (docs/performance.md, "Ingress h2, round 16"). Run with:
 *
 * <pre>
 *   mvn -Pbench -DskipTests package -pl benchmarks -am
 *   java -jar benchmarks/target/benchmarks.jar Http2RequestPathBenchmark -prof gc
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 12, time = 1) // the first seconds run at 10-70 µs per request, interpreted and C1 code
@Measurement(iterations = 8, time = 1)
@Fork(value = 3, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class Http2RequestPathBenchmark {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 8080, null);
    private static final int BODY = 100;
    private static final String ANSWER = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
            + "Date: Sun, 06 Dec 2026 02:30:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: " + BODY + "\r\n"
            + "Connection: keep-alive\r\n\r\n" + "x".repeat(BODY);
    /** A WINDOW_UPDATE of the connection this often: the answers' DATA use up the client's receive window. */
    private static final int WINDOW_EVERY = 4096;

    private final List<EmbeddedChannel> endpoints = new ArrayList<>();
    private EmbeddedChannel client;
    private ByteBuf answer;
    private byte[] headerBlock;
    private int streamId = 1;
    private int sinceWindowUpdate;

    /** An EmbeddedChannel with socket addresses, as the Ingress reads its client's and its own. */
    private static final class Connection extends EmbeddedChannel {
        private final InetSocketAddress local;
        private final InetSocketAddress remote;

        Connection(InetSocketAddress local, InetSocketAddress remote) {
            super(false, false);
            this.local = local;
            this.remote = remote;
        }

        @Override
        protected SocketAddress localAddress0() {
            return local;
        }

        @Override
        protected SocketAddress remoteAddress0() {
            return remote;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        List<InetSocketAddress> addresses = List.of(new InetSocketAddress("127.0.0.161", 8080),
                new InetSocketAddress("127.0.0.162", 8080));
        List<BackendState> states = new ArrayList<>();
        for (InetSocketAddress a : addresses) {
            states.add(BackendState.of(a.getAddress(), a.getPort(), 1));
        }
        BackendSet set = BackendSet.of("rr", Set.of(), SessionAffinity.NONE, states, System::nanoTime);
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/bench", WEB, List.of()))));
        ListenerSettings settings = ListenerSettings.create(router, Map.of(WEB, set)::get,
                IngressOptions.defaults(), "http", IngressMetrics.NONE);

        // the kept-alive endpoint connections, one per endpoint (one request in flight at a time), as
        // Exchange.connect builds them, in this thread's pool
        EndpointPool pool = settings.pools().get();
        for (InetSocketAddress a : addresses) {
            Connection e = new Connection(new InetSocketAddress("127.0.0.1", 40000 + endpoints.size()), a);
            e.config().setOption(ChannelOption.AUTO_READ, true);
            e.pipeline().addLast("codec", Http1Codecs.client(settings.options()));
            e.pipeline().addLast(IngressBackendHandler.NAME, new IngressBackendHandler(pool, a));
            e.register();
            endpoints.add(e);
            pool.release(a, e);
        }

        client = new Connection(new InetSocketAddress("127.0.10.160", 8080),
                new InetSocketAddress("127.0.0.1", 50000));
        ClientPipelines.cleartext(client.pipeline(), settings);
        client.register();

        Http2Headers request = new DefaultHttp2Headers().method("GET").path("/").scheme("http")
                .authority("bench.example:8080").add("user-agent", "h2load nghttp2/1.52.0");
        Http2HeadersEncoder hpack = new DefaultHttp2HeadersEncoder();
        ByteBuf block = Unpooled.buffer();
        hpack.encodeHeaders(1, request, block); // the first request adds its fields to the dynamic table
        ByteBuf first = block.copy();
        block.clear();
        hpack.encodeHeaders(3, request, block); // the later ones index them
        headerBlock = new byte[block.readableBytes()];
        block.readBytes(headerBlock);

        ByteBuf start = Unpooled.buffer();
        start.writeBytes(Http2CodecUtil.connectionPrefaceBuf());
        frameHeader(start, 0, 0x4, 0, 0); // SETTINGS, empty
        windowUpdate(start, 1 << 20);
        frameHeader(start, first.readableBytes(), 0x1, 0x5, streamId); // HEADERS, END_STREAM | END_HEADERS
        start.writeBytes(first);
        streamId += 2;
        answer = Unpooled.unreleasableBuffer(Unpooled.directBuffer().writeBytes(
                ANSWER.getBytes(StandardCharsets.US_ASCII)));
        client.writeInbound(start);
        answerAll();
        drain(client);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        client.finishAndReleaseAll();
        for (EmbeddedChannel e : endpoints) {
            e.pipeline().remove(IngressBackendHandler.NAME); // no exchange of the closed client to send again
            e.finishAndReleaseAll();
        }
    }

    @Benchmark
    public int request() {
        ByteBuf frame = ByteBufAllocator.DEFAULT.buffer(9 + headerBlock.length + 13);
        frameHeader(frame, headerBlock.length, 0x1, 0x5, streamId);
        frame.writeBytes(headerBlock);
        if (++sinceWindowUpdate == WINDOW_EVERY) {
            sinceWindowUpdate = 0;
            windowUpdate(frame, WINDOW_EVERY * BODY); // what the DATA frames took since the last
        }
        streamId += 2;
        client.writeInbound(frame);
        int answered = answerAll();
        client.runPendingTasks();
        return answered + drain(client);
    }

    /** Each endpoint connection that got a request: drops the request's bytes, answers it. */
    private int answerAll() {
        int n = 0;
        for (EmbeddedChannel e : endpoints) {
            if (drain(e) > 0) {
                e.writeInbound(answer.retainedDuplicate());
                n++;
            }
            e.runPendingTasks();
        }
        return n;
    }

    private static int drain(EmbeddedChannel ch) {
        int bytes = 0;
        for (Object o; (o = ch.readOutbound()) != null; ) {
            if (o instanceof ByteBuf b) {
                bytes += b.readableBytes();
            }
            ReferenceCountUtil.release(o);
        }
        return bytes;
    }

    private static void frameHeader(ByteBuf out, int length, int type, int flags, int stream) {
        out.writeMedium(length).writeByte(type).writeByte(flags).writeInt(stream);
    }

    private static void windowUpdate(ByteBuf out, int increment) {
        frameHeader(out, 4, 0x8, 0, 0);
        out.writeInt(increment);
    }

    /**
     * The harness's own check (test.sh runs it): every request reaches one endpoint and its answer reaches the
     * client as HEADERS and DATA frames of the same size each time once HPACK indexes the answer's fields.
     * {@code java -cp benchmarks/target/benchmarks.jar io.svcproxy.ingress.proxy.Http2RequestPathBenchmark [N]}
     */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        Http2RequestPathBenchmark b = new Http2RequestPathBenchmark();
        b.setUp();
        int steady = -1;
        for (int i = 0; i < n; i++) {
            int r = b.request();
            int bytes = r - 1;
            // HEADERS (9 + a few indexed bytes) and DATA (9 + the body); the first answer carries its fields
            if (r < 1 || bytes < 9 + 9 + BODY || (i > 0 && steady >= 0 && bytes != steady)) {
                System.err.println("request " + i + ": " + (r < 1 ? "no answer" : bytes + " bytes to the client"
                        + (steady >= 0 ? ", " + steady + " before" : "")));
                System.exit(1);
            }
            if (i > 0) {
                steady = bytes;
            }
        }
        b.tearDown();
        System.out.println("Http2RequestPathBenchmark: " + n + " requests, each answered, " + steady
                + " bytes of frames to the client per answer");
    }
}
