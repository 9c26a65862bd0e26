package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An {@code Upgrade: h2c} request with two {@code Host} fields is refused as the same request without the offer is
 * ({@link Http1Requests#refusal}, {@link ProxyHeaders#hasValidHost}: RFC 9112 3.2, nginx's "client sent duplicate
 * host header"): a 400, counted, reaching no endpoint. It was upgraded (101) and became stream 1, routed by its
 * first {@code Host}. Listener on 127.0.148.3, endpoint on 127.0.148.4 (the default backend, answering 200).
 */
@Timeout(30)
class H2cUpgradeHostFieldsTest {
    private static final String UPGRADE =
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";

    private AccountingIngress fixture;

    @BeforeEach
    void setUp() throws Exception {
        fixture = new AccountingIngress("127.0.148.3", "127.0.148.4", H2cUpgradeHostFieldsTest::ok);
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
    void anUpgradeRequestWithTwoHostFieldsIsA400NotUpgraded() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n"
                    + UPGRADE);
            RawHttpClient.Response r = client.read();
            assertThat(r.status()).as("%d %s", r.status(), r.headers()).isEqualTo(400);
        }
        assertThat(fixture.endpointRequests().poll(200, TimeUnit.MILLISECONDS)).as("requests the endpoint read")
                .isNull();
        assertThat(fixture.calls).extracting(AccountingIngress.Call::status).containsExactly(400);
    }

    @Test
    void anUpgradeRequestWithOneHostIsStillUpgraded() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET / HTTP/1.1\r\nHost: a.example\r\n"
                    + UPGRADE);
            assertThat(client.readHead().status()).isEqualTo(101);
        }
    }
}
