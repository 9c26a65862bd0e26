package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An endpoint's response with both {@code Content-Length} and {@code Transfer-Encoding} (RFC 9112 6.3: the
 * Transfer-Encoding would win, and such a message "ought to be handled as an error", a sign of response splitting):
 * the client gets a 502, its connection stays open, and the endpoint's connection is closed, never reused. Netty's
 * decoder (4.2.18) fails such a response itself when its coding is chunked, and any Transfer-Encoding of an HTTP/1.0
 * response; another coding ({@code gzip}) it frames by the length, so the proxy refuses that one. On 127.0.0.180
 * (listener) and 127.0.0.181 (scripted endpoint).
 */
@Timeout(60)
class AmbiguousResponseFramingTest {
    @RegisterExtension
    final ScriptedIngress fixture = new ScriptedIngress("127.0.0.180", "127.0.0.181", AmbiguousResponseFramingTest::answer);

    /**
     * {@code /both}: HTTP/1.1, a length of 3 and a chunked body "hello"; {@code /both-1.0}: the same as HTTP/1.0
     * with {@code Connection: keep-alive}; {@code /gzip}: a length of 5 and {@code Transfer-Encoding: gzip} (its
     * 5 bytes stand for a gzip body); else 200 "ok" with a length. The connection stays open after each.
     */
    private static boolean answer(String requestLine, java.io.InputStream in, OutputStream out)
            throws java.io.IOException {
        String path = requestLine.split(" ")[1];
        String response = switch (path) {
            case "/both" -> "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n0\r\n\r\n";
            case "/both-1.0" -> "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
            case "/gzip" -> "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\nhello";
            default -> "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        };
        out.write(response.getBytes(StandardCharsets.US_ASCII));
        return true;
    }

    /** The client's request gets a 502, the next one goes to a fresh endpoint connection (the endpoint's 2nd). */
    private void isA502AndTheEndpointConnectionIsNotReused(String path) throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            RawHttpClient.Response r = client.get("any", path);
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.text()).doesNotContain("hello");
            assertThat(fixture.scripted().requests.poll(10, TimeUnit.SECONDS)).isEqualTo("1 GET " + path + " HTTP/1.1");
            // the proxy's own status keeps the client's connection; the endpoint's is closed
            RawHttpClient.Response next = client.get("any", "/next");
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.text()).isEqualTo("ok");
            assertThat(fixture.scripted().requests.poll(10, TimeUnit.SECONDS)).isEqualTo("2 GET /next HTTP/1.1");
        }
    }

    @Test
    void aChunkedResponseWithALengthIsA502AndItsConnectionIsNotReused() throws Exception {
        isA502AndTheEndpointConnectionIsNotReused("/both");
    }

    @Test
    void anHttp10ResponseWithBothIsA502AndItsConnectionIsNotReused() throws Exception {
        isA502AndTheEndpointConnectionIsNotReused("/both-1.0");
    }

    @Test
    void anotherCodingWithALengthIsA502AndItsConnectionIsNotReused() throws Exception {
        isA502AndTheEndpointConnectionIsNotReused("/gzip");
    }

    @Test
    void aResponseWithALengthOnlyKeepsItsConnection() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            assertThat(client.get("any", "/one").text()).isEqualTo("ok");
            assertThat(client.get("any", "/two").text()).isEqualTo("ok");
            assertThat(fixture.scripted().requests.poll(10, TimeUnit.SECONDS)).isEqualTo("1 GET /one HTTP/1.1");
            assertThat(fixture.scripted().requests.poll(10, TimeUnit.SECONDS)).isEqualTo("1 GET /two HTTP/1.1");
        }
    }
}
