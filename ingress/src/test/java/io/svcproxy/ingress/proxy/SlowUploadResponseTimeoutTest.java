package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An endpoint that takes the request slowly (or not at all) and never answers: the response timeout runs from the request's end,
 * whether or not its last bytes were flushed to the endpoint yet, so the client gets 504 (it once waited for good
 * when the request's last part left the endpoint connection over its high water mark). On 127.0.10.150 (listener)
 * and 127.0.10.151 (endpoint).
 */
@Timeout(60)
class SlowUploadResponseTimeoutTest {
    private static final ServiceBackend SLOW = new ServiceBackend("default", "slow", 80, null);
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(1);

    private EventLoopGroup group;
    private HttpIngressServer ingress;
    private ServerSocket endpoint;
    private final AtomicLong bytesRead = new AtomicLong();
    /** The endpoint's connections read nothing at all (set before the client connects). */
    private volatile boolean neverRead;

    @BeforeEach
    void setUp() throws Exception {
        endpoint = new ServerSocket();
        endpoint.setReceiveBufferSize(4096); // before bind: the window the proxy sees stays small
        endpoint.bind(new InetSocketAddress(InetAddress.getByName("127.0.10.151"), 0));
        Thread acceptor = new Thread(this::readSlowlyNeverAnswer, "slow-endpoint");
        acceptor.setDaemon(true);
        acceptor.start();
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/slow", SLOW, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(SLOW,
                TestEndpoints.rr(new InetSocketAddress("127.0.10.151", endpoint.getLocalPort())));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.10.150", 0), router, sets::get,
                IngressOptions.defaults().withResponseTimeout(RESPONSE_TIMEOUT), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoint.close();
    }

    /** Reads 1 KiB every 20 ms (about 50 KiB/s) and never writes anything. */
    private void readSlowlyNeverAnswer() {
        while (!endpoint.isClosed()) {
            try {
                Socket s = endpoint.accept();
                Thread t = new Thread(() -> {
                    try (s; InputStream in = s.getInputStream()) {
                        while (neverRead && !endpoint.isClosed()) {
                            Thread.sleep(50);
                        }
                        byte[] buf = new byte[1024];
                        int n;
                        while ((n = in.read(buf)) >= 0) {
                            bytesRead.addAndGet(n);
                            Thread.sleep(20);
                        }
                    } catch (IOException | InterruptedException e) {
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

    @Test
    void http11UploadWhoseEndLeavesTheEndpointConnectionOverItsHighWaterMarkIsA504() throws Exception {
        // the body and its terminating chunk in one chunk of 256 KiB, written at once: the proxy reads it while the
        // endpoint connection is over its high water mark, so the request's end is written there unflushed
        byte[] body = new byte[256 * 1024];
        java.util.Arrays.fill(body, (byte) 'x');
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            OutputStream out = client.output();
            Thread writer = new Thread(() -> {
                try {
                    out.write(("POST /upload HTTP/1.1\r\nHost: any\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + Integer.toHexString(body.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body);
                    out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException e) {
                    // the test fails on the read below
                }
            }, "slow-upload-writer");
            writer.setDaemon(true);
            writer.start();
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(504);
            assertThat(bytesRead.get()).as("bytes the endpoint read by the 504").isLessThan(body.length);
        }
    }

    @Test
    void http2UploadEndingWhileTheEndpointConnectionIsOverItsHighWaterMarkIsA504() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new DefaultHttp2Headers().method("POST").path("/upload").scheme("http")
                    .authority("any"), false);
            byte[] frame = new byte[16 * 1024];
            for (int i = 0; i < 15; i++) { // 240 KiB: within the stream's 256 KiB window
                client.data(1, frame, false);
            }
            Thread.sleep(300); // the proxy has written them to the slow endpoint's connection, far over 64 KiB
            client.data(1, new byte[0], true);
            RawH2Client.Frame f = client.next(1);
            assertThat(f).isInstanceOf(RawH2Client.Headers.class);
            assertThat(((RawH2Client.Headers) f).headers().status()).hasToString("504");
            assertThat(bytesRead.get()).as("bytes the endpoint read by the 504").isLessThan(240 * 1024);
        }
    }

    @Test
    void http2UploadEndingWhileTheEndpointReadsNothingIsA504() throws Exception {
        // the client's END_STREAM arrives while the proxy holds body bytes the endpoint connection does not take:
        // the request's end must still reach the exchange (and start its response timeout), not wait behind them
        neverRead = true;
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, new DefaultHttp2Headers().method("POST").path("/upload").scheme("http")
                    .authority("any"), false);
            byte[] frame = new byte[16 * 1024];
            long sent = 0;
            long lastIncrement = -1;
            long lastChange = System.nanoTime();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) { // until the proxy gives no more window back
                long given = client.windowIncrements(1);
                if (given != lastIncrement) {
                    lastIncrement = given;
                    lastChange = System.nanoTime();
                }
                if (sent - given + frame.length <= 240 * 1024) { // within the stream's 256 KiB window
                    client.data(1, frame, false);
                    sent += frame.length;
                } else if (System.nanoTime() - lastChange > TimeUnit.MILLISECONDS.toNanos(1500)) {
                    break;
                } else {
                    Thread.sleep(50);
                }
            }
            assertThat(System.nanoTime()).as("the proxy stopped giving window back").isLessThan(deadline);
            client.data(1, new byte[0], true);
            RawH2Client.Frame f = client.next(1);
            assertThat(f).isInstanceOf(RawH2Client.Headers.class);
            assertThat(((RawH2Client.Headers) f).headers().status()).hasToString("504");
            assertThat(bytesRead.get()).as("bytes the endpoint read").isZero();
        }
    }
}
