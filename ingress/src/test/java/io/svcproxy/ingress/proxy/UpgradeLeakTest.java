package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.ResourceLeakDetector;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import io.svcproxy.ingress.testing.WarnGuard;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An endpoint's 101 Switching Protocols with bytes of the new protocol behind it in the same segment, under Netty's
 * leak detector at PARANOID (every buffer tracked, as {@code -Dio.netty.leakDetection.level=paranoid}; a leak is
 * logged at ERROR as "LEAK:", which {@link WarnGuard} records): to a WebSocket upgrade the bytes reach the client
 * through the tunnel; to a request that offered no upgrade the proxy forwards (here {@code Upgrade: foo}, a
 * hop-by-hop field it drops) the 101 is a 502, and the raw bytes the endpoint's decoder passes on after it are
 * released. On 127.0.0.169 (listener) and 127.0.0.174 (endpoint).
 */
@Timeout(60)
class UpgradeLeakTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);
    private static ResourceLeakDetector.Level previousLevel;

    private ScriptedEndpoint endpoint;
    private EventLoopGroup group;
    private HttpIngressServer ingress;

    @BeforeAll
    static void paranoid() {
        previousLevel = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }

    @AfterAll
    static void restore() {
        ResourceLeakDetector.setLevel(previousLevel);
    }

    @BeforeEach
    void setUp() throws Exception {
        endpoint = new ScriptedEndpoint("127.0.0.174", UpgradeLeakTest::switchAndEcho);
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of(new IngressRules<>("default/web", WEB, List.of()))));
        Map<ServiceBackend, io.svcproxy.balancer.BackendSet> sets = Map.of(WEB, TestEndpoints.rr(endpoint.address()));
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.0.169", 0), router, sets::get,
                IngressOptions.defaults().withResponseTimeout(Duration.ofSeconds(3)), IngressMetrics.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        ingress.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        endpoint.close();
    }

    /**
     * Answers any request with a 101 to the protocol named by its path ({@code /websocket}, {@code /foo}) and, in
     * the same write, {@code hello-after-101}; then echoes what it reads until the connection closes.
     */
    private static boolean switchAndEcho(String requestLine, InputStream in, OutputStream out) throws IOException {
        String protocol = requestLine.split(" ")[1].substring(1);
        out.write(("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + protocol
                + "\r\n\r\nhello-after-101").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        byte[] buf = new byte[4096];
        for (int n; (n = in.read(buf)) > 0; ) {
            out.write(buf, 0, n);
            out.flush();
        }
        return false;
    }

    @Test
    void theBytesBehindAWebSocket101ReachTheClientAndNoBufferLeaks() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("GET /websocket HTTP/1.1\r\nHost: any\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            RawHttpClient.Response switching = client.read();
            assertThat(switching.status()).isEqualTo(101);
            assertThat(readExactly(client, 15)).isEqualTo("hello-after-101");
            client.send("ping");
            assertThat(readExactly(client, 4)).isEqualTo("ping");
        }
        assertThat(leaks()).isEmpty();
    }

    @Test
    void aSwitchTheRequestDidNotOfferIsA502AndTheBytesBehindItAreReleased() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            RawHttpClient.Response r = client.get("any", "/foo", "Connection: Upgrade", "Upgrade: foo");
            List<String> leaks = leaks();
            assertThat(leaks).isEmpty();
            assertThat(r.status()).isEqualTo(502);
            assertThat(endpoint.requests.poll(10, TimeUnit.SECONDS)).isEqualTo("1 GET /foo HTTP/1.1");
            // the proxy's own status keeps the client's connection; the switched endpoint connection is closed
            client.get("any", "/foo");
            assertThat(endpoint.requests.poll(10, TimeUnit.SECONDS)).isEqualTo("2 GET /foo HTTP/1.1");
        }
        assertThat(leaks()).isEmpty();
    }

    private static String readExactly(RawHttpClient client, int n) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < n) {
            sb.append((char) client.readByte());
        }
        return sb.toString();
    }

    /**
     * Makes the leak detector report: the buffers of the exchange are garbage by now (their connections closed), a
     * collection queues the leaked ones, and the next tracked allocations log them. Returns the "LEAK:" lines.
     */
    private static List<String> leaks() throws InterruptedException {
        List<String> found = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            System.gc();
            Thread.sleep(100);
            for (int i = 0; i < 64; i++) {
                ByteBuf b = ByteBufAllocator.DEFAULT.buffer(16);
                b.release();
            }
            for (String line : WarnGuard.drain()) {
                if (line.contains("LEAK:")) {
                    found.add(line);
                } else {
                    throw new AssertionError("unexpected WARN/ERROR: " + line);
                }
            }
        }
        return found;
    }
}
