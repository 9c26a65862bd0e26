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
 * README: "A kept-alive endpoint connection closed without an answer gets the request sent again, once, on a fresh
 * connection ... when it had no body bytes and its method is idempotent". A PUT with {@code Expect: 100-continue}
 * (what {@code curl -T} sends) waits for the 100 before its body: when the pooled connection it was given turns out
 * closed (the keep-alive race), no body byte has gone anywhere, yet it gets a 502 because its body has not ended.
 * On 127.0.10.232 (listener) and 127.0.0.232 (endpoint). From helper-109's review.
 */
@Timeout(60)
class ResendWhileAwaitingContinueTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);

    private EventLoopGroup group;
    private HttpIngressServer ingress;
    private ServerSocket endpoint;
    private final AtomicInteger connections = new AtomicInteger();
    private final BlockingQueue<String> requests = new LinkedBlockingQueue<>();

    @BeforeEach
    void setUp() throws Exception {
        endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.232"));
        Thread acceptor = new Thread(this::serve, "continue-endpoint");
        acceptor.setDaemon(true);
        acceptor.start();
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/web", WEB, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(WEB,
                TestEndpoints.rr(new InetSocketAddress("127.0.0.232", endpoint.getLocalPort())));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.10.232", 0), router, sets::get,
                IngressOptions.defaults().withResponseTimeout(Duration.ofSeconds(8)), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoint.close();
    }

    /**
     * Connection 1 answers its first request (kept alive), then reads the next request's head and closes unanswered.
     * Later connections answer an {@code Expect: 100-continue} with a 100, read the 5-byte body, and answer "fresh".
     */
    private void serve() {
        while (!endpoint.isClosed()) {
            try (Socket s = endpoint.accept()) {
                int n = connections.incrementAndGet();
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                String head = readHead(in);
                requests.add(n + " " + head.substring(0, head.indexOf("\r\n")));
                if (n == 1) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    head = readHead(in);
                    requests.add(n + " " + head.substring(0, head.indexOf("\r\n")));
                    continue; // closed, unanswered
                }
                if (head.toLowerCase(java.util.Locale.ROOT).contains("\r\nexpect: 100-continue\r\n")) {
                    out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
                byte[] body = in.readNBytes(5);
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nfresh " + new String(body,
                        StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII));
                out.flush();
                in.read(); // until the proxy closes or reuses it
            } catch (IOException e) {
                // closed
            }
        }
    }

    @Test
    void aPutAwaitingItsContinueOnAReusedConnectionClosedUnansweredIsSentAgain() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            assertThat(client.get("any", "/first").text()).isEqualTo("first");
            client.send("PUT /up HTTP/1.1\r\nHost: any\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            String interim = client.line();
            List<String> seen = new java.util.ArrayList<>();
            requests.drainTo(seen);
            assertThat(interim).as("the endpoint's requests so far: %s", seen).isEqualTo("HTTP/1.1 100 Continue");
            assertThat(client.line()).isEmpty();
            client.send("hello");
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("fresh hello");
        }
    }

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
        return head.toString();
    }
}
