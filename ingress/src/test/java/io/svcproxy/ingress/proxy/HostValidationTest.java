package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Host a request is routed by and forwarded with (and copied into {@code X-Forwarded-Host}) is checked as
 * nginx's {@code ngx_http_validate_host} checks it: no white space or control character, no {@code /}, no
 * {@code ..}, and a host before the port that is not empty once a trailing dot is dropped; else 400, on HTTP/1.1
 * ({@code Host}, or an absolute target's authority) and HTTP/2 ({@code :authority}) alike. Listener on 127.0.124.6,
 * endpoint on 127.0.0.88 (the default backend, answering 200).
 *
 * <p>From helper-124's review (suspected, proven here): such values were forwarded to the endpoint and copied into
 * {@code X-Forwarded-Host}, where nginx answers 400 ("client sent invalid host header").
 */
@Timeout(60)
class HostValidationTest {
    private AccountingIngress fixture;

    @BeforeEach
    void setUp() throws Exception {
        fixture = new AccountingIngress("127.0.124.6", "127.0.0.88", HostValidationTest::ok);
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    private static boolean ok(String requestLine, InputStream in, OutputStream out) throws IOException {
        out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
        return true;
    }

    @ParameterizedTest
    @ValueSource(strings = {"a b", "a/b", "a..b", "../etc", "a\\u0001b", "a\\tb", "a\\u007fb", "", ".", ":80",
            "a b:80", "x:8/0"})
    void anInvalidHostIsA400(String escaped) throws Exception {
        String host = unescape(escaped);
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
            assertThat(client.read().status()).as("Host: %s", escaped).isEqualTo(400);
        }
        assertThat(fixture.endpointRequests()).as("requests the endpoint read").isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"a b", "a/b", "a..b", "."})
    void anInvalidAuthorityIsA400OnHttp2(String authority) throws Exception {
        try (RawH2Client client = RawH2Client.connect(fixture.group, fixture.address())) {
            client.headers(1, new DefaultHttp2Headers().method("GET").path("/").scheme("http")
                    .authority(authority), true);
            List<RawH2Client.Frame> frames = client.untilEnd(1);
            assertThat(((RawH2Client.Headers) frames.get(0)).headers().status()).as(":authority %s", authority)
                    .hasToString("400");
        }
        assertThat(fixture.endpointRequests()).as("requests the endpoint read").isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"a.example", "a.example:8080", "a.example.", "A.Example", "127.0.124.1:80", "[::1]:80",
            "[::1]", "_x.example", "b\\u00e9.example"})
    void aValidHostIsForwarded(String escaped) throws Exception {
        String host = unescape(escaped);
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
            assertThat(client.read().status()).as("Host: %s", escaped).isEqualTo(200);
        }
    }

    @org.junit.jupiter.api.Test
    void anAbsoluteTargetsInvalidAuthorityIsA400() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET http://a..b/ HTTP/1.1\r\nHost: a.example\r\n\r\n");
            assertThat(client.read().status()).isEqualTo(400);
        }
    }

    private static String unescape(String s) {
        return s.replace("\\t", "\t").replace("\\u0001", "\u0001").replace("\\u007f", "\u007f")
                .replace("\\u00e9", "\u00e9");
    }
}
