package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An endpoint that sends bytes after its response's end: a body to HEAD (whole lines, or a part of a line), or more
 * than its {@code Content-Length}. The client gets the response as framed, and the endpoint's connection is not
 * pooled: left in the pool, the decoder read the surplus as the next response's start (a 502 or a hang for the next
 * client's request). nginx keeps no connection that sent more than it said. On 127.0.0.184 (listener) and
 * 127.0.0.185 (scripted endpoint), one event loop: one pool.
 */
@Timeout(60)
class SurplusResponseBytesTest {
    @RegisterExtension
    final ScriptedIngress fixture = new ScriptedIngress("127.0.0.184", "127.0.0.185", SurplusResponseBytesTest::answer);

    /** {@code /lines}: a body of whole lines behind a HEAD answer; {@code /part}: a part of a line; else "ok". */
    private static boolean answer(String requestLine, java.io.InputStream in, OutputStream out)
            throws java.io.IOException {
        String path = requestLine.split(" ")[1];
        String response = switch (path) {
            case "/lines" -> "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";
            case "/part" -> "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
            case "/more" -> "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokSURPLUS\r\n";
            default -> "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        };
        out.write(response.getBytes(StandardCharsets.US_ASCII));
        return true;
    }

    @Test
    void aBodyBehindAHeadAnswerIsNotReadAsTheNextResponse() throws Exception {
        for (String path : new String[] {"/lines", "/part"}) {
            try (RawHttpClient client = new RawHttpClient(fixture.address())) {
                client.send("HEAD " + path + " HTTP/1.1\r\nHost: any.example\r\n\r\n");
                RawHttpClient.Response head = client.readHead();
                assertThat(head.status()).isEqualTo(200);
                assertThat(head.headers()).containsKey("content-length");
                RawHttpClient.Response next = client.get("any.example", "/next");
                assertThat(next.status()).as(path).isEqualTo(200);
                assertThat(next.text()).isEqualTo("ok");
                // "N request-line", N the endpoint connection's number: not the one that answered the HEAD
                String headOn = fixture.scripted().requests.poll(5, TimeUnit.SECONDS).split(" ")[0];
                String nextOn = fixture.scripted().requests.poll(5, TimeUnit.SECONDS).split(" ")[0];
                assertThat(nextOn).as("a fresh endpoint connection for /next after " + path).isNotEqualTo(headOn);
            }
        }
    }

    @Test
    void moreThanTheContentLengthIsDroppedWithTheConnection() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            RawHttpClient.Response more = client.get("any.example", "/more");
            assertThat(more.text()).isEqualTo("ok");
            RawHttpClient.Response next = client.get("any.example", "/next");
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.text()).isEqualTo("ok");
            String moreOn = fixture.scripted().requests.poll(5, TimeUnit.SECONDS).split(" ")[0];
            assertThat(fixture.scripted().requests.poll(5, TimeUnit.SECONDS).split(" ")[0]).isNotEqualTo(moreOn);
        }
    }
}
