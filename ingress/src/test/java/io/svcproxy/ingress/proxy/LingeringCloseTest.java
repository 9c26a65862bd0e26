package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslProvider;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link LingeringClose}: the proxy's own answer that closes the connection (a 404 to a request with
 * {@code Connection: close}, no rule matching) while the request's body is still coming. The client gets the answer
 * and then its end (a FIN, over TLS a close_notify first), and what it still sends is read away, not answered with a
 * reset; a client that stops sending has its connection closed after the quiet bound. On 127.0.10.236 (HTTP) and
 * 127.0.10.237 (HTTPS).
 */
@Timeout(60)
class LingeringCloseTest {
    private static final String HEAD = "POST /upload HTTP/1.1\r\nHost: nowhere.example\r\nConnection: close\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n";

    @TempDir
    Path dir;
    private EventLoopGroup group;
    private IngressServer ingress;

    @BeforeEach
    void setUp() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterEach
    void tearDown() throws Exception {
        if (ingress != null) {
            ingress.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    private static Router<ServiceBackend> noRules() {
        Router<ServiceBackend> router = new Router<>();
        router.update(RoutingTable.compile(List.of())); // every request is a 404
        return router;
    }

    /** Writes {@code mib} MiB of chunks, then the body's end, before reading anything. */
    private static void writeBody(OutputStream out, int mib) throws IOException {
        byte[] chunk = new byte[65536];
        byte[] size = "10000\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] crlf = "\r\n".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < mib * 16; i++) {
            out.write(size);
            out.write(chunk);
            out.write(crlf);
        }
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL, TLSv1.3", "OPENSSL, TLSv1.2", "JDK, TLSv1.3", "JDK, TLSv1.2"})
    void overTlsTheClientThatWritesItsWholeBodyFirstGetsTheAnswerAndItsEnd(SslProvider provider, String protocol)
            throws Exception {
        TestCertificates ca = new TestCertificates(dir);
        TlsCertificates certs = TlsCertificates.of(List.of(ca.issue("shop", "nowhere.example")), provider);
        ingress = HttpsIngressServer.bind(group, NioServerSocketChannel.class,
                new InetSocketAddress("127.0.10.237", 0), noRules(), Map.<ServiceBackend,
                        io.svcproxy.balancer.BackendSet>of()::get, IngressOptions.defaults(), IngressMetrics.NONE,
                certs);
        try (SSLSocket socket = (SSLSocket) ca.clientContext().getSocketFactory()
                .createSocket("127.0.10.237", ingress.localAddress().getPort())) {
            socket.setEnabledProtocols(new String[] {protocol});
            socket.startHandshake();
            RawHttpClient client = new RawHttpClient(socket);
            client.send(HEAD);
            writeBody(client.output(), 16);
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.headers()).containsEntry("connection", "close");
            assertThat(socket.getInputStream().read()).as("the answer's end (close_notify)").isEqualTo(-1);
        }
    }

    /**
     * A drain while the body of a request the proxy answered itself (kept alive) still comes: the connection is not
     * cut under the upload (the body is no request of its own), and closes at that body's end.
     */
    @Test
    void aDrainWhileAnAnsweredRequestsBodyIsDroppedClosesTheConnectionAtTheBodysEnd() throws Exception {
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.236", 0),
                noRules(), Map.<ServiceBackend, io.svcproxy.balancer.BackendSet>of()::get, IngressOptions.defaults(),
                IngressMetrics.NONE);
        try (RawHttpClient client = new RawHttpClient(ingress.localAddress())) {
            client.send("POST /upload HTTP/1.1\r\nHost: nowhere.example\r\nTransfer-Encoding: chunked\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(404);
            client.send("5\r\nhello\r\n");
            ingress.drain();
            Thread.sleep(300);
            client.send("5\r\nhello\r\n");
            assertThat(client.isClosedByPeer()).as("closed before the body's end").isFalse();
            client.send("0\r\n\r\n");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (ingress.connections() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(ingress.connections()).isZero();
            assertThat(client.isClosedByPeer()).isTrue();
        }
    }

    @Test
    void aClientThatStopsSendingGetsTheAnswerAndItsEndAtOnceAndIsClosedAfterTheQuietBound() throws Exception {
        ingress = HttpIngressServer.bind(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.10.236", 0),
                noRules(), Map.<ServiceBackend, io.svcproxy.balancer.BackendSet>of()::get, IngressOptions.defaults(),
                IngressMetrics.NONE);
        try (Socket s = new Socket()) {
            s.connect(ingress.localAddress(), 5000);
            s.setSoTimeout(2000);
            OutputStream out = s.getOutputStream();
            out.write((HEAD + "5\r\nhello\r\n").getBytes(StandardCharsets.US_ASCII)); // and no more for now
            out.flush();
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII); // up to the FIN, within 2 s
            assertThat(answer).startsWith("HTTP/1.1 404 ").endsWith("404 Not Found\n");
            // bytes sent after the FIN are read away while the linger lasts
            out.write("5\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(500);
            out.write("5\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // then nothing for longer than the quiet bound: the proxy closes, and the next writes are refused
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(LingeringClose.QUIET_NANOS) + 1500);
            IOException refused = null;
            try {
                for (int i = 0; i < 10 && refused == null; i++) {
                    out.write("5\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(100);
                }
            } catch (IOException e) {
                refused = e;
            }
            assertThat(refused).as("a write after the linger").isNotNull();
        }
    }
}
