package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * From helper-109's review. RFC 9112 6.3, item 4 (responses): a Transfer-Encoding whose last coding is not chunked
 * frames the body by the connection's close. The endpoint sends {@code Transfer-Encoding: gzip} without a length and
 * closes after its body: a kept-alive client has no way to find that body's end but the close, so the proxy must close
 * the client connection after it (as for a response without any length) or re-frame it. On 127.0.10.231 (listener) and
 * 127.0.0.231 (endpoint).
 */
@Timeout(60)
class CloseDelimitedCodingTest {
    @RegisterExtension
    final ScriptedIngress ingress = new ScriptedIngress("127.0.10.231", "127.0.0.231",
            CloseDelimitedCodingTest::answer);

    private static boolean answer(String requestLine, InputStream in, OutputStream out) throws IOException {
        out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip\r\n\r\nGZIPBODY"
                .getBytes(StandardCharsets.US_ASCII));
        return false; // the body ends with the close
    }

    @Test
    void aBodyDelimitedByTheEndpointsCloseEndsTheClientsConnectionToo() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(ingress.address(), 5000);
            s.getOutputStream().write("GET /te HTTP/1.1\r\nHost: any\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String head = readHead(in).toLowerCase(Locale.ROOT);
            // the client reads this body until the close (no length, a coding not ending in chunked)
            assertThat(head).startsWith("http/1.1 200").doesNotContain("content-length:");
            // and the close comes, behind the body (bounded wait: a hang fails here)
            s.setSoTimeout(10_000);
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            String end;
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    body.write(buf, 0, n);
                }
                end = "closed";
            } catch (SocketTimeoutException e) {
                end = "no close within 10 s";
            }
            assertThat(end + " body=" + body.toString(StandardCharsets.US_ASCII)).isEqualTo("closed body=GZIPBODY");
            boolean chunkedLast = head.matches("(?s).*\r\ntransfer-encoding:[^\r]*chunked\r\n.*");
            assertThat(chunkedLast || head.contains("\r\nconnection: close\r\n"))
                    .as("a response framed by the close must say Connection: close (or be re-framed); head:%n%s", head)
                    .isTrue();
        }
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("closed in the head: " + sb);
            }
            sb.append((char) c);
        }
        return sb.toString();
    }
}
