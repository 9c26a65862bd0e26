package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A kept-alive endpoint connection whose endpoint reads the next request and closes without answering: the
 * endpoint may have executed it, so only an idempotent request (RFC 9110 9.2.2) is sent again on a fresh
 * connection; a POST, even without a body, is a 502 and reaches the endpoint once. On 127.0.10.152 (listener) and
 * 127.0.10.153 (endpoint).
 */
@Timeout(60)
class ResendOnlyIdempotentTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);

    private EventLoopGroup group;
    private HttpIngressServer ingress;
    private ServerSocket endpoint;
    private final AtomicInteger connections = new AtomicInteger();
    /** The request lines the endpoint read, as "CONNECTION request-line". */
    private final BlockingQueue<String> requests = new LinkedBlockingQueue<>();

    @BeforeEach
    void setUp() throws Exception {
        endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.10.153"));
        Thread acceptor = new Thread(this::answerOnceThenCloseUnanswered, "closing-endpoint");
        acceptor.setDaemon(true);
        acceptor.start();
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/web", WEB, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(WEB,
                TestEndpoints.rr(new InetSocketAddress("127.0.10.153", endpoint.getLocalPort())));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.10.152", 0), router, sets::get,
                IngressOptions.defaults().withResponseTimeout(Duration.ofSeconds(8)), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoint.close();
    }

    /**
     * The first connection answers its first request (kept alive), reads the second one whole and closes without
     * answering. Every later connection answers each request with "fresh".
     */
    private void answerOnceThenCloseUnanswered() {
        while (!endpoint.isClosed()) {
            try (Socket s = endpoint.accept()) {
                int n = connections.incrementAndGet();
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                requests.add(n + " " + readHead(in));
                if (n == 1) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    requests.add(n + " " + readHead(in)); // Content-Length: 0 or no body: the head is all of it
                    continue; // closed, unanswered
                }
                while (true) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    requests.add(n + " " + readHead(in));
                }
            } catch (IOException e) {
                // closed
            }
        }
    }

    private List<String> seen() throws InterruptedException {
        Thread.sleep(200); // a resend, if any, has reached the endpoint by now
        List<String> all = new ArrayList<>();
        requests.drainTo(all);
        return all;
    }

    @Test
    void aPostWithoutBodyOnAReusedConnectionClosedUnansweredIsA502AndReachesTheEndpointOnce() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("any", "/first").text()).isEqualTo("first");
            client.send("POST /once HTTP/1.1\r\nHost: any\r\nContent-Length: 0\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(502);
            assertThat(seen()).containsExactly("1 GET /first HTTP/1.1", "1 POST /once HTTP/1.1");
        }
    }

    @Test
    void aGetOnAReusedConnectionClosedUnansweredIsSentAgainOnAFreshOne() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("any", "/first").text()).isEqualTo("first");
            RawHttpClient.Response again = client.get("any", "/again");
            assertThat(again.status()).isEqualTo(200);
            assertThat(again.text()).isEqualTo("fresh");
            assertThat(seen()).containsExactly("1 GET /first HTTP/1.1", "1 GET /again HTTP/1.1",
                    "2 GET /again HTTP/1.1");
        }
    }

    /** Reads a request's head; returns its first line. */
    private static String readHead(InputStream in) throws IOException {
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
        return head.substring(0, head.indexOf("\r\n"));
    }
}
