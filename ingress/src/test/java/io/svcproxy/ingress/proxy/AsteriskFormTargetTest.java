package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code OPTIONS *} (asterisk form, RFC 9112 3.2.4) is refused with 400 as nginx 1.22 refuses it: its request line
 * parser takes a target that starts with {@code /} or a scheme only ("client sent invalid request"), and its HTTP/2
 * {@code :path} check the same ("client sent invalid :path header"). It was routed as {@code /} (the default
 * backend here) and forwarded as {@code OPTIONS *}. An absolute target without a path is nginx's {@code /}, for
 * OPTIONS too ({@code OPTIONS http://a HTTP/1.1} is nginx's 200 with {@code $request_uri} {@code /}). Listener on
 * 127.0.148.1, endpoint on 127.0.148.2 (the default backend, answering 200).
 */
@Timeout(60)
class AsteriskFormTargetTest {
    private AccountingIngress fixture;

    @BeforeEach
    void setUp() throws Exception {
        fixture = new AccountingIngress("127.0.148.1", "127.0.148.2", AsteriskFormTargetTest::ok);
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    private static boolean ok(String requestLine, InputStream in, OutputStream out) throws IOException {
        out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
        return true;
    }

    @Test
    void optionsAsteriskIsA400WithTheIngresssOwnBodyAndCounted() throws Exception {
        RawHttpClient.Response refused;
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n");
            refused = client.read();
        }
        RawHttpClient.Response invalid;
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET /a\u0001b HTTP/1.1\r\nHost: a.example\r\n\r\n");
            invalid = client.read();
        }
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.text()).as("the Ingress's own 400 body").isEqualTo(invalid.text());
        assertThat(refused.headers().get("connection")).isEqualTo("close");
        assertThat(fixture.endpointRequests().poll(200, TimeUnit.MILLISECONDS)).as("requests the endpoint read")
                .isNull();
        assertThat(fixture.calls).extracting(AccountingIngress.Call::status).containsExactly(400, 400);
        assertThat(fixture.calls).extracting(AccountingIngress.Call::route).containsOnlyNulls();
    }

    @Test
    void optionsWithAnAbsoluteTargetWithoutPathGoesAsSlash() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("OPTIONS http://a.example HTTP/1.1\r\nHost: b.example\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(200);
        }
        assertThat(fixture.endpointRequests().poll(10, TimeUnit.SECONDS)).endsWith("OPTIONS / HTTP/1.1");
    }

    @Test
    void anHttp2AsteriskPathIsItsStreams400() throws Exception {
        try (RawH2Client client = RawH2Client.connect(fixture.group, fixture.address())) {
            client.headers(1, new DefaultHttp2Headers().method("OPTIONS").path("*").scheme("http")
                    .authority("a.example"), true);
            List<RawH2Client.Frame> frames = client.untilEnd(1);
            assertThat(((RawH2Client.Headers) frames.get(0)).headers().status()).hasToString("400");
        }
        assertThat(fixture.endpointRequests().poll(200, TimeUnit.MILLISECONDS)).isNull();
        assertThat(fixture.calls).extracting(AccountingIngress.Call::status).containsExactly(400);
    }
}
