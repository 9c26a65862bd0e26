package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * A request whose response started and then failed (the endpoint closed short of the body's end, sent a malformed
 * chunk, or the client sent one) is still an answered request: counted in the request metrics with the status the
 * client got, and written to the access log, before the client's connection closes. On 127.0.0.182 (listener) and
 * 127.0.0.183 (scripted endpoint).
 */
@Timeout(60)
class MidResponseFailureAccountingTest {
    private static final ServiceBackend SCRIPTED = new ServiceBackend("default", "scripted", 80, null);

    record Call(Route<ServiceBackend> route, int status) {
    }

    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final ListAppender<ILoggingEvent> accessLog = new ListAppender<>();
    private Logger accessLogger;
    private Level accessLevel;
    private ScriptedEndpoint scripted;
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeEach
    void setUp() throws Exception {
        accessLogger = (Logger) LoggerFactory.getLogger(IngressFrontendHandler.ACCESS_LOG.getName());
        accessLevel = accessLogger.getLevel();
        accessLogger.setLevel(Level.DEBUG);
        accessLog.start();
        accessLogger.addAppender(accessLog);
        scripted = new ScriptedEndpoint("127.0.0.183", MidResponseFailureAccountingTest::answer);
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/scripted", SCRIPTED, List.of()))));
        Map<ServiceBackend, BackendSet> sets = Map.of(SCRIPTED, TestEndpoints.rr(scripted.address()));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        IngressMetrics metrics = new IngressMetrics() {
            @Override
            public void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
                calls.add(new Call(route, status));
            }
        };
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.0.182", 0), router, sets::get, IngressOptions.defaults(), metrics);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        scripted.close();
        accessLogger.detachAppender(accessLog);
        accessLogger.setLevel(accessLevel);
    }

    /**
     * {@code /cut}: 206 with a length of 10, 5 bytes, then the close; {@code /malformed}: a chunked 200, a chunk,
     * then a chunk size that is not hex; {@code /early}: a chunked 202 and a chunk before the request's body has
     * ended, then the body is read until the proxy closes the connection.
     */
    private static boolean answer(String requestLine, InputStream in, OutputStream out)
            throws IOException, InterruptedException {
        String path = requestLine.split(" ")[1];
        switch (path) {
            case "/cut" -> {
                out.write("HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n\r\nhello"
                        .getBytes(StandardCharsets.US_ASCII));
                return false;
            }
            case "/malformed" -> {
                out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Thread.sleep(200); // the head and first chunk reach the client before the failure
                out.write("zz\r\nworld\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                return true;
            }
            default -> {
                out.write("HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nearly\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                while (in.read() >= 0) {
                    // the request's body, as far as the proxy sends it
                }
                return false;
            }
        }
    }

    /** Reads a response's head and one body line, then expects the connection's close short of the body's end. */
    private static void readHeadAndCut(RawHttpClient client, String status, String... bodyLines) throws IOException {
        assertThat(client.line()).isEqualTo(status);
        while (!client.line().isEmpty()) {
            // the response's head
        }
        for (String line : bodyLines) {
            assertThat(client.line()).isEqualTo(line);
        }
        assertThatThrownBy(() -> {
            while (true) {
                client.readByte();
            }
        }).isInstanceOf(IOException.class).hasMessage("connection closed");
    }

    private List<String> accessLines() {
        return accessLog.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("client=")).toList();
    }

    @Test
    void anEndpointClosingShortOfTheBodysEndIsCountedWithItsStatus() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /cut HTTP/1.1\r\nHost: any\r\n\r\n");
            assertThat(client.line()).isEqualTo("HTTP/1.1 206 Partial Content");
            while (!client.line().isEmpty()) {
                // the response's head
            }
            assertThat(new String(new byte[] {(byte) client.readByte(), (byte) client.readByte(),
                    (byte) client.readByte(), (byte) client.readByte(), (byte) client.readByte()},
                    StandardCharsets.US_ASCII)).isEqualTo("hello");
            assertThatThrownBy(client::readByte).isInstanceOf(IOException.class).hasMessage("connection closed");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 1);
        assertThat(calls.get(0).status()).isEqualTo(206);
        assertThat(calls.get(0).route().backend()).isEqualTo(SCRIPTED);
        assertThat(accessLines()).singleElement().asString().contains("uri=/cut status=206 ");
    }

    @Test
    void anEndpointsMalformedChunkAfterTheHeadIsCountedWithTheStatusTheClientGot() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /malformed HTTP/1.1\r\nHost: any\r\n\r\n");
            readHeadAndCut(client, "HTTP/1.1 200 OK", "5", "hello");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 1);
        assertThat(calls.get(0).status()).isEqualTo(200);
        assertThat(accessLines()).singleElement().asString().contains("uri=/malformed status=200 ");
    }

    @Test
    void aClientsMalformedChunkAfterTheResponseStartedIsCountedWithTheResponsesStatus() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST /early HTTP/1.1\r\nHost: any\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            assertThat(client.line()).isEqualTo("HTTP/1.1 202 Accepted");
            while (!client.line().isEmpty()) {
                // the response's head
            }
            assertThat(client.line()).isEqualTo("5");
            assertThat(client.line()).isEqualTo("early");
            client.send("zz\r\nworld\r\n0\r\n\r\n");
            assertThatThrownBy(() -> {
                while (true) {
                    client.readByte();
                }
            }).isInstanceOf(IOException.class).hasMessage("connection closed");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 1);
        assertThat(calls.get(0).status()).isEqualTo(202);
        assertThat(accessLines()).singleElement().asString().contains("uri=/early status=202 ");
    }
}
