package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An endpoint that refuses an upload waiting for its {@code 100} without reading it (a 401 before the body, the
 * reason clients send {@code Expect: 100-continue}). The proxy closes the client's connection after such a response
 * (the body, if it comes, is dropped while lingering), so the response must say so: a client given a bare final
 * status may skip its body (RFC 9110 10.1.1) and send its next request on the connection, which the proxy dropped
 * unanswered. Listener on 127.0.146.3, endpoint on 127.0.146.4 (helper-146).
 *
 * <p>The same without {@code Expect} (helper-148): the proxy closes after the early response as well (its body still
 * coming, {@link LingeringClose}), and said nothing of it; RFC 9112 9.6: a server that closes after the response
 * says {@code close} in it.
 */
@Timeout(60)
class ExpectContinueEarlyEndpointAnswerTest {
    @RegisterExtension
    final ScriptedIngress ingress = new ScriptedIngress("127.0.146.3", "127.0.146.4",
            ExpectContinueEarlyEndpointAnswerTest::answer);

    /** 401 to the upload at its head (its chunked body unread), then closes; 200 to anything else. */
    private static boolean answer(String requestLine, InputStream in, OutputStream out) throws IOException {
        if (requestLine.startsWith("POST")) {
            out.write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return false;
        }
        out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
        return true;
    }

    @Test
    void aRefusalBeforeTheContinueSaysTheConnectionCloses() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.address())) {
            client.send("POST /up HTTP/1.1\r\nHost: any\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
            RawHttpClient.Response answer = client.read();
            assertThat(answer.status()).isEqualTo(401);
            if (!"close".equalsIgnoreCase(answer.headers().get("connection"))) {
                // a connection not said to close: the client skips its body and goes on with its next request
                RawHttpClient.Response next;
                try {
                    next = client.get("any", "/next");
                } catch (IOException e) {
                    throw new AssertionError("401 without Connection: close, then the next request: " + e, e);
                }
                assertThat(next.status()).isEqualTo(200);
            }
        }
        // and a new connection serves the next request
        try (RawHttpClient client = new RawHttpClient(ingress.address())) {
            assertThat(client.get("any", "/next").status()).isEqualTo(200);
        }
    }

    @Test
    void anEarlyAnswerWithoutExpectSaysTheConnectionCloses() throws Exception {
        try (RawHttpClient client = new RawHttpClient(ingress.address())) {
            client.send("POST /up HTTP/1.1\r\nHost: any\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            RawHttpClient.Response answer = client.read();
            assertThat(answer.status()).isEqualTo(401);
            assertThat(answer.headers()).as("the connection closes after it").containsEntry("connection", "close");
            assertThatThrownBy(client::readByte).as("and it does (end of stream)").hasMessage("connection closed");
        }
    }
}
