package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.IngressRules.PathRule;
import io.svcproxy.ingress.routing.IngressRules.Rule;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A request with {@code Expect: 100-continue} and a body that the proxy answers itself (404: no rule; 503: no
 * endpoint; 502: no endpoint connects) on a kept-alive connection. The proxy reads the body after such an answer
 * and drops it (README), so it must say so: a client that waits for the {@code 100} and gets a bare final status
 * may skip the body (RFC 9110 10.1.1; Go's client does, golang/go#67555) and send its next request, whose bytes the
 * proxy then takes as the dropped body (a desync), or wait for nothing while the proxy waits for the body. As nginx
 * (and so ingress-nginx) answers it ({@code ngx_http_discard_request_body} sends {@code 100 Continue} before the
 * error page): the {@code 100} first, then the final status, then the body read and dropped. Listener on
 * 127.0.146.1, a dead endpoint on 127.0.146.2 (helper-146).
 */
@Timeout(60)
class ExpectContinueOwnAnswerTest {
    private static final ServiceBackend EMPTY = new ServiceBackend("default", "empty", 80, null);
    private static final ServiceBackend DEAD = new ServiceBackend("default", "dead", 80, null);

    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.146.2"))) {
            deadPort = s.getLocalPort();
        }
        Map<ServiceBackend, BackendSet> sets = Map.of(EMPTY, TestEndpoints.rr(),
                DEAD, TestEndpoints.rr(new InetSocketAddress("127.0.146.2", deadPort)));
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/shop", null, List.of(
                new Rule<>("shop.example", List.of(new PathRule<>("/empty", PathType.PREFIX, EMPTY),
                        new PathRule<>("/dead", PathType.PREFIX, DEAD))))))));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.146.1", 0),
                router, sets::get, IngressOptions.defaults(), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /**
     * The client waits for the {@code 100} before its body, as curl and Go do, and does what the answer allows: sends
     * its body after a {@code 100}; after a bare final status, skips it (RFC 9110 10.1.1: it only expected to send
     * it) and, on a connection not closed, sends its next request, as Go's client does. That request must be
     * answered. Before: the proxy answered with the bare status, kept the connection and took the next request's
     * first 5 bytes as the dropped body ("GET /"), the rest as a request ("next HTTP/1.1": 400, closed); a chunked
     * one hung (no chunk size). Now the proxy asks for the body first, as nginx does.
     */
    @ParameterizedTest(name = "{0} {1} ({3})")
    @CsvSource({
            "nowhere.example, /up, 404, content-length",
            "shop.example, /empty, 503, content-length",
            "shop.example, /dead, 502, content-length",
            "nowhere.example, /up, 404, chunked",
            "shop.example, /empty, 503, chunked",
            "shop.example, /dead, 502, chunked"})
    void aClientWaitingForTheContinueKnowsWhetherToSendItsBody(String host, String path, int status,
                                                              String framing) throws Exception {
        boolean chunked = framing.equals("chunked");
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nExpect: 100-continue\r\n"
                    + (chunked ? "Transfer-Encoding: chunked" : "Content-Length: 5") + "\r\n\r\n");
            RawHttpClient.Response answer = client.read();
            if (answer.status() == 100) {
                client.send(chunked ? "5\r\nhello\r\n0\r\n\r\n" : "hello");
                answer = client.read();
            }
            assertThat(answer.status()).isEqualTo(status);
            if ("close".equalsIgnoreCase(answer.headers().get("connection"))) {
                return; // the client opens another connection for its next request
            }
            RawHttpClient.Response next;
            try {
                next = client.get("nowhere.example", "/next");
            } catch (java.io.IOException e) {
                throw new AssertionError("the next request on the kept connection: " + e, e);
            }
            assertThat(next.status()).as("the next request on the kept connection").isEqualTo(404);
        }
    }

    /**
     * The answer to such a request on a connection kept alive is {@code 100 Continue} first (the proxy reads the
     * body: it says so), then the final status; the client sends its body and its next request.
     */
    @ParameterizedTest(name = "{0} {1} ({3})")
    @CsvSource({
            "nowhere.example, /up, 404, content-length",
            "shop.example, /empty, 503, content-length",
            "shop.example, /dead, 502, chunked"})
    void theContinueComesBeforeTheProxysOwnStatus(String host, String path, int status, String framing)
            throws Exception {
        boolean chunked = framing.equals("chunked");
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nExpect: 100-continue\r\n"
                    + (chunked ? "Transfer-Encoding: chunked" : "Content-Length: 5") + "\r\n\r\n");
            assertThat(client.read().status()).as("the first answer to a request waiting for its 100").isEqualTo(100);
            RawHttpClient.Response answer = client.read();
            assertThat(answer.status()).isEqualTo(status);
            assertThat(answer.headers()).doesNotContainKey("connection");
            client.send(chunked ? "5\r\nhello\r\n0\r\n\r\n" : "hello");
            assertThat(client.get("nowhere.example", "/next").status()).isEqualTo(404);
        }
    }

    /** A client that sends its body at once, without waiting (RFC 9110 10.1.1 allows it): the next request works. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"content-length", "chunked"})
    void aBodySentWithoutWaitingIsDroppedAndTheNextRequestAnswered(String framing) throws Exception {
        boolean chunked = framing.equals("chunked");
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST /up HTTP/1.1\r\nHost: nowhere.example\r\nExpect: 100-continue\r\n"
                    + (chunked ? "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                    : "Content-Length: 5\r\n\r\nhello"));
            RawHttpClient.Response r = client.read();
            if (r.status() == 100) {
                r = client.read();
            }
            assertThat(r.status()).isEqualTo(404);
            assertThat(client.get("nowhere.example", "/next").status()).isEqualTo(404);
        }
    }

    /** An HTTP/1.0 request's expectation is ignored (RFC 9110 10.1.1): no 1xx to an HTTP/1.0 client. */
    @Test
    void anHttp10RequestGetsNoContinue() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST /up HTTP/1.0\r\nHost: nowhere.example\r\nConnection: keep-alive\r\n"
                    + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello");
            assertThat(client.read().status()).isEqualTo(404);
        }
    }

    /** curl (Expect: 100-continue for its upload) gets both answers of one command, the upload's and the next. */
    @Test
    void curlUploadingToNowhereGetsItsAnswers(@TempDir Path dir) throws Exception {
        Path body = Files.write(dir.resolve("body"), new byte[2 << 20]);
        String base = "http://127.0.146.1:" + ingress.localAddress().getPort();
        Curl.Result r = Curl.curl("-H", "Host: nowhere.example", "-H", "Expect: 100-continue",
                "-o", "/dev/null", "-w", "%{http_code}\\n", "--data-binary", "@" + body, base + "/up",
                "--next", "-H", "Host: nowhere.example", "-o", "/dev/null", "-w", "%{http_code}\\n", base + "/next");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("404\n404\n");
    }
}
