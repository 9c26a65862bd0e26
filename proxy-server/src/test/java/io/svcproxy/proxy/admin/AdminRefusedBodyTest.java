package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The admin server's answers to a request body it refuses before its handler sees the request: Netty's
 * {@code HttpObjectAggregator} answered them itself, a bare {@code 413} or {@code 417} with {@code content-length: 0}
 * and none of the fields every other admin answer carries (SPEC-documented in {@link AdminServer}: nosniff, the
 * Content-Security-Policy, no-store, a text/plain body), and, to a request waiting with {@code Expect:
 * 100-continue}, kept the connection open without saying whether it closes: a client that then skips its body (RFC
 * 9110 10.1.1) had its next request taken as that body. Now the answers are the admin server's own, and one to a
 * request waiting for its 100 says {@code Connection: close} and closes (helper-146).
 */
@Timeout(20)
class AdminRefusedBodyTest {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private AdminServer server;

    @BeforeEach
    void start() throws Exception {
        server = new AdminServer(new InetSocketAddress("127.0.0.1", 0), new ServiceTable(), registry);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop();
        registry.close();
    }

    record Answer(String statusLine, Map<String, String> headers, String body) {
        int status() {
            return Integer.parseInt(statusLine.split(" ")[1]);
        }
    }

    private static void assertAdminAnswer(Answer a, int status) {
        assertThat(a.status()).as(a.toString()).isEqualTo(status);
        assertThat(a.headers()).as(a.toString())
                .containsEntry("x-content-type-options", "nosniff")
                .containsEntry("cache-control", "no-store")
                .containsEntry("content-type", AdminHandler.TEXT)
                .containsKey("content-security-policy")
                .containsEntry("x-frame-options", "DENY");
        assertThat(a.body()).as(a.toString()).isNotEmpty();
    }

    @Test
    void anOversizedBodyGetsTheServersOwn413() throws Exception {
        int size = AdminServer.MAX_CONTENT_LENGTH + 1;
        try (Conn c = new Conn()) {
            c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " + size
                    + "\r\n\r\n");
            Answer a = c.read();
            assertAdminAnswer(a, 413);
            assertThat(a.headers()).containsEntry("connection", "close");
        }
    }

    /** Kept alive, the body sent: dropped, and the next request answered (as Netty's aggregator keeps it). */
    @Test
    void anOversizedBodyOnAKeptConnectionIsDroppedAndTheNextRequestAnswered() throws Exception {
        int size = AdminServer.MAX_CONTENT_LENGTH + 1;
        try (Conn c = new Conn()) {
            c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + size + "\r\n\r\n" + "x".repeat(size));
            assertAdminAnswer(c.read(), 413);
            c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(200);
        }
    }

    @Test
    void anOversizedChunkedBodyGetsTheServersOwn413() throws Exception {
        try (Conn c = new Conn()) {
            String chunk = "x".repeat(16 * 1024);
            StringBuilder sb = new StringBuilder("POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < 5; i++) {
                sb.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk).append("\r\n");
            }
            c.send(sb.toString());
            Answer a = c.read();
            assertAdminAnswer(a, 413);
            assertThat(a.headers()).containsEntry("connection", "close");
        }
    }

    /**
     * A client waiting for its 100 with a body too large: a 413 of the server's own that says it closes, then the
     * close. Before: Netty's bare 413 on a connection kept open; the client, skipping its body (RFC 9110 10.1.1: it
     * was refused), sent its next request, which the server read as the refused body.
     */
    @Test
    void aTooLargeUploadWaitingForItsContinueIsRefusedAndTheConnectionClosed() throws Exception {
        try (Conn c = new Conn()) {
            c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
                    + (AdminServer.MAX_CONTENT_LENGTH + 1) + "\r\n\r\n");
            Answer a = c.read();
            assertAdminAnswer(a, 413);
            assertThat(a.headers()).containsEntry("connection", "close");
            assertThat(c.closedAfter("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")).as("the connection closes").isTrue();
        }
    }

    /**
     * The same client sending its body without waiting for the 100 (RFC 9110 10.1.1 lets it), then its next request
     * if told the connection goes on. Before: Netty's 413 kept the connection and its decoder took what followed as
     * the next request (it assumes a refused client skips its body), so a request inside the body was answered (a
     * smuggled request), and the client's next request met a reset.
     */
    @Test
    void anUploadSentWithoutWaitingForItsContinueDoesNotBecomeARequest() throws Exception {
        int size = AdminServer.MAX_CONTENT_LENGTH + 1;
        try (Conn c = new Conn()) {
            c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " + size
                    + "\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n" + "x".repeat(size - 31));
            Answer a = c.read();
            assertThat(a.status()).isEqualTo(413);
            if (!"close".equals(a.headers().get("connection"))) {
                String next;
                try {
                    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
                    next = c.read().statusLine();
                } catch (IOException e) {
                    next = e.toString();
                }
                // before: the GET /nope inside the body was answered (404), the rest of the body refused as a
                // request line too long and the connection closed: the next request met a reset
                assertThat(next).as("the answer after the 413 (to the next request)").isEqualTo("HTTP/1.1 200 OK");
            }
        }
    }

    /** An expectation the server does not know: 417 of the server's own, and the connection closed. */
    @Test
    void anUnknownExpectationGets417OfTheServersOwn() throws Exception {
        try (Conn c = new Conn()) {
            c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 5\r\n\r\n");
            Answer a = c.read();
            assertAdminAnswer(a, 417);
            assertThat(a.headers()).containsEntry("connection", "close");
            assertThat(c.closedAfter("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")).as("the connection closes").isTrue();
        }
    }

    /** A small upload waiting for its 100 gets it, then the handler's 405, on a connection kept alive. */
    @Test
    void aSmallUploadWaitingForItsContinueGetsItThen405() throws Exception {
        try (Conn c = new Conn()) {
            c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(100);
            c.send("hello");
            assertAdminAnswer(c.read(), 405);
            c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(200);
        }
    }

    private final class Conn implements AutoCloseable {
        private final Socket socket = new Socket("127.0.0.1", server.boundAddress().getPort());
        private final InputStream in;
        private final OutputStream out;

        Conn() throws IOException {
            socket.setSoTimeout(5000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        void send(String raw) throws IOException {
            out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        Answer read() throws IOException {
            String status = line();
            Map<String, String> headers = new LinkedHashMap<>();
            for (String l = line(); !l.isEmpty(); l = line()) {
                int colon = l.indexOf(':');
                headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
            }
            int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
            return new Answer(status, headers, new String(in.readNBytes(length), StandardCharsets.ISO_8859_1));
        }

        /** Sends {@code raw} (if the connection still takes it) and reads: whether the server closed, answering nothing. */
        boolean closedAfter(String raw) throws IOException {
            try {
                send(raw);
            } catch (IOException e) {
                return true;
            }
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            try {
                for (int b; (b = in.read()) >= 0; ) {
                    got.write(b);
                }
            } catch (java.net.SocketTimeoutException e) {
                return false; // open, and silent: waits for more (the next request taken as the body)
            } catch (IOException e) {
                return got.size() == 0; // reset
            }
            return got.size() == 0;
        }

        private String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) {
                    throw new IOException("connection closed; read so far: " + sb);
                }
                if (c != '\r') {
                    sb.append((char) c);
                }
            }
            return sb.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
