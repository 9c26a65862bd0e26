package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An endpoint that answers an upload before reading its body (a 413, as nginx's client_max_body_size does), and
 * then reads the rest of the body away as a well-behaved server does: the client must get the 413. RFC 9112 9.6: a
 * server that closes at once with the client still sending has its TCP reset erase the response in the client's
 * buffers; nginx (lingering_close) and HAProxy read the request on for a while. On 127.0.10.230 (listener) and
 * 127.0.0.230 (endpoint). From helper-109's review.
 */
@Timeout(120)
class EarlyResponseLingerTest {
    @RegisterExtension
    final ScriptedIngress ingress = new ScriptedIngress("127.0.10.230", "127.0.0.230",
            EarlyResponseLingerTest::answer);

    private static boolean answer(String requestLine, InputStream in, OutputStream out) throws IOException {
        out.write(("HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n"
                + "too large\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        // reads the rest of the body away, until the proxy closes the connection (a bounded stream)
        byte[] buf = new byte[65536];
        while (in.read(buf) >= 0) {
            // discarded
        }
        return false;
    }

    @Test
    void clientGetsTheEarlyResponseWhileItIsStillUploading(@TempDir Path dir) throws Exception {
        Path body = dir.resolve("body");
        byte[] mb = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(body)) {
            for (int i = 0; i < 64; i++) {
                out.write(mb);
            }
        }
        String url = "http://" + ingress.address().getHostString() + ":" + ingress.address().getPort() + "/upload";
        int[] failures = new int[1];
        String lastErr = "";
        for (int round = 0; round < 20; round++) {
            // no Expect: the body goes at once, as from clients that do not wait for a 100
            Curl.Result r = Curl.curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:",
                    "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + body,
                    url);
            if (r.exitCode() != 0 || !r.out().equals("413")) {
                failures[0]++;
                lastErr = "exit " + r.exitCode() + " out=" + r.out() + " err=" + r.err();
            }
        }
        assertThat(failures[0]).as("rounds of 20 without the 413; last: %s", lastErr).isZero();
    }

    /**
     * A client that writes its whole body before it reads (HttpURLConnection in streaming mode, many scripts): the
     * proxy closes the connection at the early response with the rest of the body unread, the kernel answers the
     * client's next segments with a reset, and its write fails before it ever reads the 413.
     */
    @Test
    void aClientThatWritesItsWholeBodyFirstGetsTheEarlyResponse() throws Exception {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(ingress.address(), 5000);
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: any\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[65536];
            byte[] size = "10000\r\n".getBytes(StandardCharsets.US_ASCII);
            byte[] crlf = "\r\n".getBytes(StandardCharsets.US_ASCII);
            String writeFailure = null;
            try {
                for (int i = 0; i < 1024; i++) { // 64 MiB
                    out.write(size);
                    out.write(chunk);
                    out.write(crlf);
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                writeFailure = e.toString();
            }
            String status;
            try {
                status = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            } catch (IOException e) {
                status = e.toString();
            }
            assertThat(writeFailure).as("the upload's write (then the read gave: %s)", status).isNull();
            assertThat(status).isEqualTo("HTTP/1.1 413");
        }
    }
}
