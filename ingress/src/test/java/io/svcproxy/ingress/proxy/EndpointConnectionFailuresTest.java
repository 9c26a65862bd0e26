package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
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
import java.io.IOException;
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
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Failures of an endpoint connection after the request went to it: a write to a kept-alive connection the endpoint
 * had reset (the request is sent again on a fresh connection, unless body bytes were sent), and an unexpected
 * exception in the endpoint connection's pipeline (the connection closes and the client gets 502 at once, not 504
 * at the response timeout). The listener is built here as {@link HttpIngressServer} builds it, on one event loop,
 * so that the test can hold that loop and reach its {@link EndpointPool}. On 127.0.10.179 (listener),
 * 127.0.10.183 and 127.0.10.184 (endpoints).
 */
@Timeout(60)
class EndpointConnectionFailuresTest {
    private static final ServiceBackend RESET = new ServiceBackend("default", "reset", 80, null);
    private static final ServiceBackend RAW = new ServiceBackend("default", "raw", 80, null);
    /** Long, so that a request left waiting would be a 504 well after a prompt 502. */
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(8);

    private EventLoopGroup group;
    private Channel listener;
    private ListenerSettings settings;
    /** An endpoint that answers each request (its body read by Content-Length) with one write, kept alive. */
    private ServerSocket raw;
    private ServerSocket resetting;
    /** The endpoint's connections, counted from 1, and the request lines it read, as "N request-line". */
    private final AtomicInteger connections = new AtomicInteger();
    private final BlockingQueue<String> requests = new LinkedBlockingQueue<>();
    private final CountDownLatch answerFirst = new CountDownLatch(1);
    private final CountDownLatch firstReset = new CountDownLatch(1);

    @BeforeEach
    void setUp() throws Exception {
        resetting = new ServerSocket(0, 50, InetAddress.getByName("127.0.10.183"));
        Thread acceptor = new Thread(this::serveThenReset, "resetting-endpoint");
        acceptor.setDaemon(true);
        acceptor.start();
        raw = new ServerSocket(0, 50, InetAddress.getByName("127.0.10.184"));
        Thread rawAcceptor = new Thread(this::answerInOneWrite, "one-write-endpoint");
        rawAcceptor.setDaemon(true);
        rawAcceptor.start();
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(
                RESET, TestEndpoints.rr(new InetSocketAddress("127.0.10.183", resetting.getLocalPort())),
                RAW, TestEndpoints.rr(rawAddress()));
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(
                new IngressRules<>("default/raw", null, List.of(new IngressRules.Rule<>("raw.example", List.of(
                        new IngressRules.PathRule<>("/", PathType.PREFIX, RAW))))),
                new IngressRules<>("default/reset", RESET, List.of()))));
        settings = ListenerSettings.create(router, sets::get,
                IngressOptions.defaults().withResponseTimeout(RESPONSE_TIMEOUT), "http", IngressMetrics.NONE);
        // one event loop: the client's connection, its endpoint connections and the accepting channel share it
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
                    }
                })
                .bind(new InetSocketAddress("127.0.10.179", 0)).sync().channel();
    }

    @AfterEach
    void tearDown() throws Exception {
        listener.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        raw.close();
        resetting.close();
    }

    private InetSocketAddress rawAddress() {
        return new InetSocketAddress("127.0.10.184", raw.getLocalPort());
    }

    private void answerInOneWrite() {
        while (!raw.isClosed()) {
            try {
                Socket s = raw.accept();
                Thread t = new Thread(() -> {
                    try (s) {
                        while (true) {
                            String head = readHeadWhole(s.getInputStream());
                            int cl = head.indexOf("\r\nContent-Length: ");
                            if (cl >= 0) {
                                int n = Integer.parseInt(head.substring(cl + 18, head.indexOf("\r\n", cl + 2)));
                                s.getInputStream().readNBytes(n);
                            }
                            // head and body in one segment: the proxy reads them in one read
                            s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                                    .getBytes(StandardCharsets.US_ASCII));
                            s.getOutputStream().flush();
                        }
                    } catch (IOException e) {
                        // closed
                    }
                });
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /**
     * The first connection: reads one request, answers it (kept alive) when the test says so, then resets the
     * connection (SO_LINGER 0). Every later connection: answers each request with "fresh", kept alive.
     */
    private void serveThenReset() {
        while (!resetting.isClosed()) {
            try (Socket s = resetting.accept()) {
                int n = connections.incrementAndGet();
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                if (n == 1) {
                    requests.add(n + " " + readHead(in));
                    answerFirst.await(10, TimeUnit.SECONDS);
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    s.setSoLinger(true, 0);
                    s.close();
                    firstReset.countDown();
                    continue;
                }
                while (true) {
                    requests.add(n + " " + readHead(in));
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
            } catch (Exception e) {
                // closed
            }
        }
    }

    /**
     * Sends {@code second} while the event loop is held, after the endpoint answered the first request and reset
     * its connection: when the loop goes on, it relays the first response, pools the connection (the reset is not
     * read yet) and writes {@code second} to it, and that write fails.
     */
    private void sendOnAConnectionTheEndpointReset(RawHttpClient client, String second) throws Exception {
        client.send("GET /first HTTP/1.1\r\nHost: any\r\n\r\n");
        assertThat(requests.poll(10, TimeUnit.SECONDS)).isEqualTo("1 GET /first HTTP/1.1");
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        group.next().execute(() -> {
            held.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
        try {
            answerFirst.countDown();
            assertThat(firstReset.await(10, TimeUnit.SECONDS)).isTrue();
            client.send(second);
            Thread.sleep(100); // loopback: the reset and the request are in the proxy's sockets long before this
        } finally {
            release.countDown();
        }
        RawHttpClient.Response first = client.read();
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.text()).isEqualTo("first");
    }

    @Test
    void aRequestWhoseWriteToAResetPooledConnectionFailsIsSentAgainOnAFreshOne() throws Exception {
        try (RawHttpClient client = new RawHttpClient(address())) {
            sendOnAConnectionTheEndpointReset(client, "GET /second HTTP/1.1\r\nHost: any\r\n\r\n");
            RawHttpClient.Response second = client.read();
            assertThat(second.status()).isEqualTo(200);
            assertThat(second.text()).isEqualTo("fresh");
            assertThat(requests.poll(10, TimeUnit.SECONDS)).isEqualTo("2 GET /second HTTP/1.1");
            assertThat(client.get("any", "/third").text()).isEqualTo("fresh"); // the client's connection goes on
            assertThat(requests).containsExactly("2 GET /third HTTP/1.1");
        }
    }

    @Test
    void aRequestWithBodyBytesSentToAResetPooledConnectionIsNotSentAgain() throws Exception {
        try (RawHttpClient client = new RawHttpClient(address())) {
            sendOnAConnectionTheEndpointReset(client,
                    "POST /second HTTP/1.1\r\nHost: any\r\nContent-Length: 3\r\n\r\nabc");
            RawHttpClient.Response second = client.read();
            assertThat(second.status()).isEqualTo(502);
            // the proxy's own status keeps the client's connection; the endpoint never saw the POST
            assertThat(client.get("any", "/third").text()).isEqualTo("fresh");
            assertThat(requests.poll(10, TimeUnit.SECONDS)).isEqualTo("2 GET /third HTTP/1.1");
            assertThat(connections.get()).isEqualTo(2);
        }
    }

    @Test
    void anUnexpectedExceptionOnTheEndpointConnectionClosesItAndIsA502AtOnce() throws Exception {
        try (RawHttpClient client = new RawHttpClient(address())) {
            assertThat(client.get("raw.example", "/warm").status()).isEqualTo(200);
            // a synthetic fault (no response a real endpoint sends makes the endpoint side throw: the decoder
            // turns malformed ones into a failed message, a 502 of its own): the kept-alive connection, idle in the
            // event loop's pool, gets a handler in front of IngressBackendHandler that throws on the next response
            // head. An exception there is caught by Netty and goes to IngressBackendHandler.exceptionCaught.
            Channel endpoint = group.next().submit(() -> {
                EndpointPool pool = settings.pools().get();
                Channel ch = pool.acquire(rawAddress());
                ch.pipeline().addBefore(IngressBackendHandler.NAME, "fault", new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof HttpResponse) {
                            ReferenceCountUtil.release(msg);
                            throw new IllegalStateException("injected fault");
                        }
                        ctx.fireChannelRead(msg);
                    }
                });
                pool.release(rawAddress(), ch);
                return ch;
            }).get(10, TimeUnit.SECONDS);
            assertThat(endpoint).isNotNull();
            // with a body, so not sent again on a fresh connection: the fault's answer is the client's
            long start = System.nanoTime();
            client.send("POST /faulty HTTP/1.1\r\nHost: raw.example\r\nContent-Length: 3\r\n\r\nabc");
            RawHttpClient.Response r = client.read();
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(r.status()).isEqualTo(502);
            assertThat(waitedMs).as("ms to the 502, against a response timeout of 8 s")
                    .isLessThan(RESPONSE_TIMEOUT.toMillis() / 2);
            await().atMost(Duration.ofSeconds(10)).until(() -> !endpoint.isOpen());
            // not swallowed: the exception went on past IngressBackendHandler and was logged (at WARN, by Netty)
            List<String> logged = WarnGuard.drain();
            assertThat(logged).hasSize(1);
            assertThat(logged.get(0)).contains("IllegalStateException: injected fault");
            // the client's connection goes on, on a fresh endpoint connection
            assertThat(client.get("raw.example", "/after").status()).isEqualTo(200);
        }
    }

    /** Reads a request's head; returns its first line. */
    private static String readHead(InputStream in) throws IOException {
        String head = readHeadWhole(in);
        return head.substring(0, head.indexOf("\r\n"));
    }

    /** Reads a request's head, its lines as sent. */
    private static String readHeadWhole(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("eof");
            }
            head.append((char) c);
            state = (c == '\r' && state % 2 == 0) || (c == '\n' && state % 2 == 1) ? state + 1 : 0;
        }
        return head.toString();
    }
}
