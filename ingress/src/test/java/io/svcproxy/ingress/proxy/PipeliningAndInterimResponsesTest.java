package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Ingress's cleartext HTTP/1.1 and h2c proxying at the protocol level: pipelined requests (any depth, and the
 * proxy's own answers to a client that reads none of them held back), interim responses (1xx) relayed, the request
 * timeout of a pipelined head and its 408's accounting. Listeners on 127.0.124.1-5, a raw endpoint on 127.0.0.84 (the
 * default backend), a scripted one on 127.0.0.85 ({@code scripted.example}), the accounting fixtures' on
 * 127.0.0.86-87.
 *
 * <p>From helper-124's review: the proxy buffered its own answers without bound for a pipelining client that read
 * nothing, closed a connection with more than 128 pipelined requests (Netty's {@code maxPipelineDepth}, with a WARN),
 * dropped 1xx responses other than an expected 100, gave a head started while a request was in flight no request
 * timeout, and counted and logged the request timeout's 408 as a 400.
 */
@Timeout(120)
class PipeliningAndInterimResponsesTest {
    private static final ServiceBackend RAW = new ServiceBackend("default", "raw", 80, null);
    private static final ServiceBackend SCRIPTED = new ServiceBackend("default", "scripted", 80, null);

    private RawHttpEndpoint raw;
    private ScriptedEndpoint scripted;
    private EventLoopGroup group;
    private Router<ServiceBackend> router;
    private Map<ServiceBackend, BackendSet> sets;
    private HttpIngressServer ingress;
    private HttpIngressServer other;

    @BeforeEach
    void setUp() throws Exception {
        raw = new RawHttpEndpoint("127.0.0.84");
        scripted = new ScriptedEndpoint("127.0.0.85", PipeliningAndInterimResponsesTest::answer);
        router = new Router<>();
        router.update(RoutingTable.compile(List.of(
                new IngressRules<>("default/scripted", null, List.of(new IngressRules.Rule<>("scripted.example",
                        List.of(new IngressRules.PathRule<>("/", PathType.PREFIX, SCRIPTED))))),
                new IngressRules<>("default/raw", RAW, List.of()))));
        sets = Map.of(RAW, TestEndpoints.rr(raw.address()), SCRIPTED, TestEndpoints.rr(scripted.address()));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = bind("127.0.124.1", router, IngressOptions.defaults());
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        if (other != null) {
            other.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        raw.close();
        scripted.close();
    }

    private HttpIngressServer bind(String ip, Router<ServiceBackend> r, IngressOptions options) throws Exception {
        return HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress(ip, 0), r,
                sets::get, options, IngressMetrics.NONE);
    }

    /** {@code /hints}: a 103 Early Hints before the 200; anything else: a plain 200 "ok". */
    private static boolean answer(String requestLine, InputStream in, OutputStream out) throws IOException {
        String path = requestLine.split(" ")[1];
        if (path.equals("/hints")) {
            out.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
        out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
        return true;
    }

    /**
     * A client that pipelines requests the proxy answers itself (a 404 here; a 503 or a 308 take the same path,
     * {@code Http1Answers.respond}) and reads nothing does not make the proxy buffer every answer: between requests
     * the frontend reads only while its client connection is writable (it read on before, since only an endpoint's
     * response paused it). SPEC's data path
     * ("without unbounded buffering: when one side cannot take more, svcproxy stops reading from the other"); nginx
     * handles pipelined requests one at a time and waits for each response to be sent. Measured before: 33 MB of
     * requests left 315 MB of answers in the proxy's direct memory. The client stops once the proxy holds 32 MiB, so that the
     * failure does not take the test JVM's memory.
     */
    @Test
    void aClientThatPipelinesRequestsAnsweredByTheProxyAndReadsNothingIsNotBufferedWithoutBound() throws Exception {
        Router<ServiceBackend> empty = new Router<>();
        empty.update(RoutingTable.compile(List.of())); // no rule, no default backend: every request is a 404
        other = bind("127.0.124.2", empty, IngressOptions.defaults());
        AtomicLong written = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(other.localAddress(), 5000);
            OutputStream out = s.getOutputStream();
            byte[] requests = "GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(1000).getBytes(StandardCharsets.US_ASCII);
            Thread writer = new Thread(() -> {
                try {
                    while (!stop.get() && written.get() < (64L << 20)) {
                        out.write(requests);
                        written.addAndGet(requests.length);
                    }
                } catch (IOException e) {
                    // closed at the test's end
                }
            }, "h124-pipelining-client");
            writer.setDaemon(true);
            writer.start();
            long held = 0;
            long last = -1;
            for (int i = 0; i < 60; i++) { // until the client is held back (a second without progress), 60 s at most
                Thread.sleep(1000);
                held = pendingTowardsClients(other);
                long now = written.get();
                if (held > (32L << 20) || now == last) {
                    break;
                }
                last = now;
            }
            stop.set(true);
            assertThat(held).as("bytes of answers the proxy holds for a client that reads nothing (client wrote %d "
                    + "bytes of requests)", written.get()).isLessThan(8L << 20);
        }
    }

    /**
     * A client that pipelines more than 128 requests in one go (h2load {@code --h1 -m 200}, a batch of small GETs)
     * has them all answered. The requests are decoded from the read while the first is in flight and queued
     * ({@code IngressFrontendHandler.queued}); Netty 4.2's {@code HttpServerCodec}, built with its default
     * {@code maxPipelineDepth} of 128, threw {@code IllegalStateException: maxPipelineDepth exceeded: 128} from its
     * decoder: the connection closed with requests unanswered, and the exception reached the pipeline's tail as a
     * WARN. nginx and HAProxy answer any depth, one request at a time.
     */
    @Test
    void twoHundredPipelinedRequestsAreAllAnswered() throws Exception {
        int n = 200;
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /p HTTP/1.1\r\nHost: any\r\n\r\n".repeat(n));
            int answered = 0;
            try {
                for (; answered < n; answered++) {
                    assertThat(client.read().status()).isEqualTo(200);
                }
            } catch (IOException e) {
                // counted below
            }
            assertThat(answered).as("responses to %d pipelined requests", n).isEqualTo(n);
        }
    }

    /**
     * RFC 9110 15.2: "A proxy MUST forward 1xx responses unless the proxy itself requested the generation of the 1xx
     * response" (HAProxy forwards them). An endpoint's {@code 103 Early Hints} (the browser's preload hints) was
     * dropped by {@code IngressBackendHandler}, which relayed only a {@code 100} and only to a client that sent
     * {@code Expect: 100-continue}.
     */
    @Test
    void anEndpointsEarlyHintsReachAnHttp11Client() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /hints HTTP/1.1\r\nHost: scripted.example\r\n\r\n");
            RawHttpClient.Response first = client.readHead();
            assertThat(first.status()).as("the first response the client reads").isEqualTo(103);
            assertThat(first.headers()).containsEntry("link", "</style.css>; rel=preload");
            assertThat(client.read().status()).isEqualTo(200);
        }
    }

    /** The same over h2c: the 103 is an interim HEADERS frame before the response's (RFC 9113 8.1). */
    @Test
    void anEndpointsEarlyHintsReachAnH2cClient() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new DefaultHttp2Headers().method("GET").path("/hints").scheme("http")
                    .authority("scripted.example"), true);
            List<RawH2Client.Frame> frames = client.untilEnd(1);
            assertThat(frames.get(0)).isInstanceOf(RawH2Client.Headers.class);
            assertThat(((RawH2Client.Headers) frames.get(0)).headers().status()).as("the first HEADERS' :status")
                    .hasToString("103");
        }
    }

    /**
     * The request timeout (30 s by default; 1 s here) runs from a request's first byte until its headers, then 408
     * and close. A head whose first bytes arrived while the previous request was in flight (pipelined, or sent
     * before the response ended) did not start it: {@code ClientTimeouts.channelRead} starts the timer only when no
     * request is in flight, and the response's end did not start it for bytes already read. Such a head that never
     * ends (slowloris behind one real request) held the connection until the idle timeout (120 s), and was closed
     * without a 408. The control case, the same partial head on a fresh connection, gets its 408.
     */
    @Test
    void aHeadStartedWhileThePreviousRequestWasInFlightGetsTheRequestTimeout() throws Exception {
        other = bind("127.0.124.3", router, IngressOptions.defaults().withRequestTimeout(Duration.ofSeconds(1))
                .withIdleTimeout(Duration.ofSeconds(5)));
        String partial = "GET /b HTTP/1.1\r\nHost: x\r\nX-Slow: 1";
        try (RawHttpClient control = new RawHttpClient(other.localAddress())) {
            control.send(partial);
            assertThat(new String(readToEnd(control), StandardCharsets.ISO_8859_1)).as("a fresh connection")
                    .startsWith("HTTP/1.1 408");
        }
        try (RawHttpClient client = new RawHttpClient(other.localAddress())) {
            client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n" + partial);
            assertThat(client.read().status()).isEqualTo(200);
            assertThat(new String(readToEnd(client), StandardCharsets.ISO_8859_1))
                    .as("what the proxy sends before it closes the connection").startsWith("HTTP/1.1 408");
        }
    }

    /**
     * The request timeout's {@code 408} is counted and logged as 408. It was written by {@code ClientTimeouts.check}
     * as raw bytes, without {@code AccessLog.answered}, and the connection closed; the close made the request decoder
     * hand the partial head to {@code IngressFrontendHandler} as a failed message ({@code decodeLast}), which was
     * counted and logged as a {@code 400} (and a 400 written to the closed connection). So the metrics and the
     * access log said 400 for what the client got as a 408. nginx logs its
     * {@code client_header_timeout} as 408 (HAProxy its {@code timeout http-request} too), and ingress-nginx's
     * request metrics come from that log.
     */
    @Test
    void theRequestTimeouts408IsCountedAndLoggedAs408() throws Exception {
        try (AccountingIngress fixture = new AccountingIngress("127.0.124.4", "127.0.0.86",
                PipeliningAndInterimResponsesTest::answer, IngressOptions.defaults().withRequestTimeout(Duration.ofSeconds(1)))) {
            try (RawHttpClient client = new RawHttpClient(fixture.address())) {
                client.send("GET /slow HTTP/1.1\r\nHost: any\r\nX-Slow: 1");
                assertThat(new String(readToEnd(client), StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 408");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> !fixture.calls.isEmpty());
            for (int i = 0; i < 2; i++) {
                fixture.group.submit(() -> { }).get(10, TimeUnit.SECONDS); // the close's tasks have run
            }
            assertThat(fixture.calls).as("request metrics' calls").extracting(AccountingIngress.Call::status)
                    .containsExactly(408);
            assertThat(fixture.accessLines()).singleElement().asString().contains("status=408");
        }
    }

    /**
     * The idle timeout's close with a partial head pipelined behind an answered request (an idle timeout shorter
     * than the request timeout) counts only the answered request, not the partial head the request decoder hands
     * over as a failed message at the close (helper-124: counted and logged as a 400 too).
     */
    @Test
    void theIdleTimeoutsCloseCountsNoPartialHeadAs400() throws Exception {
        try (AccountingIngress fixture = new AccountingIngress("127.0.124.5", "127.0.0.87",
                PipeliningAndInterimResponsesTest::answer, IngressOptions.defaults()
                .withRequestTimeout(Duration.ofSeconds(30)).withIdleTimeout(Duration.ofSeconds(1)))) {
            try (RawHttpClient client = new RawHttpClient(fixture.address())) {
                client.send("GET /a HTTP/1.1\r\nHost: any\r\n\r\nGET /b HTTP/1.1\r\nHost: any\r\nX-Slow: 1");
                assertThat(client.read().status()).isEqualTo(200);
                assertThat(readToEnd(client)).as("what the proxy sends before it closes the connection").isEmpty();
            }
            for (int i = 0; i < 2; i++) {
                fixture.group.submit(() -> { }).get(10, TimeUnit.SECONDS); // the close's tasks have run
            }
            assertThat(fixture.calls).as("request metrics' calls").extracting(AccountingIngress.Call::status)
                    .containsExactly(200);
            assertThat(fixture.accessLines()).singleElement().asString().contains("status=200");
        }
    }

    /** Everything until the peer closes (the client's 30 s read timeout bounds it). */
    private static byte[] readToEnd(RawHttpClient client) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            while (true) {
                out.write(client.readByte());
            }
        } catch (IOException closed) {
            return out.toByteArray();
        }
    }

    /** The bytes written to the listener's client connections and not yet sent, summed on their event loops. */
    private static long pendingTowardsClients(HttpIngressServer server) throws Exception {
        Field connectionsField = BoundIngressServer.class.getDeclaredField("connections");
        connectionsField.setAccessible(true);
        Object connections = connectionsField.get(server);
        Field channelsField = ClientConnections.class.getDeclaredField("channels");
        channelsField.setAccessible(true);
        long sum = 0;
        for (Channel ch : (ChannelGroup) channelsField.get(connections)) {
            sum += ch.eventLoop().submit(() -> ch.unsafe().outboundBuffer() == null ? 0L
                    : ch.unsafe().outboundBuffer().totalPendingWriteBytes()).get(10, TimeUnit.SECONDS);
        }
        return sum;
    }
}
