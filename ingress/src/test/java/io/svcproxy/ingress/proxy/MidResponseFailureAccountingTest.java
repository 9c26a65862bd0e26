package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.svcproxy.ingress.ServiceBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A request whose response started and then failed (the endpoint closed short of the body's end, sent a malformed
 * chunk, or the client sent one) is still an answered request: counted in the request metrics with the status the
 * client got, and written to the access log, before the client's connection closes. So is one whose client gives up
 * (resets its connection): with the status it got, or 499 when no response had started. (A client's FIN alone is a
 * half-close, not an abort: such a client still gets its response, as with HAProxy.) On 127.0.0.182 (listener) and
 * 127.0.0.183 (scripted endpoint).
 */
@Timeout(60)
class MidResponseFailureAccountingTest {
    private static final ServiceBackend SCRIPTED = AccountingIngress.SCRIPTED;

    private AccountingIngress fixture;

    @BeforeEach
    void setUp() throws Exception {
        fixture = new AccountingIngress("127.0.0.182", "127.0.0.183", MidResponseFailureAccountingTest::answer);
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    /**
     * {@code /cut}: 206 with a length of 10, 5 bytes, then the close; {@code /malformed}: a chunked 200, a chunk,
     * then a chunk size that is not hex; {@code /early}: a chunked 202 and a chunk before the request's body has
     * ended, then the body is read until the proxy closes the connection; {@code /hold}: a chunked 200 and a chunk,
     * then nothing more; {@code /never}: no answer.
     */
    private static boolean answer(String requestLine, InputStream in, OutputStream out)
            throws IOException, InterruptedException {
        String path = requestLine.split(" ")[1];
        switch (path) {
            case "/cut" -> {
                out.write("HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n\r\nhello"
                        .getBytes(StandardCharsets.US_ASCII));
                return false;
            }
            case "/malformed" -> {
                out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Thread.sleep(200); // the head and first chunk reach the client before the failure
                out.write("zz\r\nworld\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                return true;
            }
            case "/hold" -> {
                out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                while (in.read() >= 0) {
                    // the rest of the response never comes: held until the proxy closes the connection
                }
                return false;
            }
            case "/never" -> {
                while (in.read() >= 0) {
                    // no answer at all, until the proxy closes the connection
                }
                return false;
            }
            default -> {
                out.write("HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nearly\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                while (in.read() >= 0) {
                    // the request's body, as far as the proxy sends it
                }
                return false;
            }
        }
    }

    /** Reads a response's head and one body line, then expects the connection's close short of the body's end. */
    private static void readHeadAndCut(RawHttpClient client, String status, String... bodyLines) throws IOException {
        assertThat(client.line()).isEqualTo(status);
        while (!client.line().isEmpty()) {
            // the response's head
        }
        for (String line : bodyLines) {
            assertThat(client.line()).isEqualTo(line);
        }
        assertThatThrownBy(() -> {
            while (true) {
                client.readByte();
            }
        }).isInstanceOf(IOException.class).hasMessage("Connection reset");
    }

    @Test
    void anEndpointClosingShortOfTheBodysEndIsCountedWithItsStatus() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET /cut HTTP/1.1\r\nHost: any\r\n\r\n");
            assertThat(client.line()).isEqualTo("HTTP/1.1 206 Partial Content");
            while (!client.line().isEmpty()) {
                // the response's head
            }
            assertThat(new String(new byte[] {(byte) client.readByte(), (byte) client.readByte(),
                    (byte) client.readByte(), (byte) client.readByte(), (byte) client.readByte()},
                    StandardCharsets.US_ASCII)).isEqualTo("hello");
            assertThatThrownBy(client::readByte).isInstanceOf(IOException.class).hasMessage("Connection reset");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
        assertThat(fixture.calls.get(0).status()).isEqualTo(206);
        assertThat(fixture.calls.get(0).route().backend()).isEqualTo(SCRIPTED);
        assertThat(fixture.accessLines()).singleElement().asString().contains("uri=/cut status=206 ");
    }

    @Test
    void anEndpointsMalformedChunkAfterTheHeadIsCountedWithTheStatusTheClientGot() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET /malformed HTTP/1.1\r\nHost: any\r\n\r\n");
            readHeadAndCut(client, "HTTP/1.1 200 OK", "5", "hello");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
        assertThat(fixture.calls.get(0).status()).isEqualTo(200);
        assertThat(fixture.accessLines()).singleElement().asString().contains("uri=/malformed status=200 ");
    }

    @Test
    void aClientsMalformedChunkAfterTheResponseStartedIsCountedWithTheResponsesStatus() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("POST /early HTTP/1.1\r\nHost: any\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            assertThat(client.line()).isEqualTo("HTTP/1.1 202 Accepted");
            while (!client.line().isEmpty()) {
                // the response's head
            }
            assertThat(client.line()).isEqualTo("5");
            assertThat(client.line()).isEqualTo("early");
            client.send("zz\r\nworld\r\n0\r\n\r\n");
            assertThatThrownBy(() -> {
                while (true) {
                    client.readByte();
                }
            }).isInstanceOf(IOException.class).hasMessage("Connection reset");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
        assertThat(fixture.calls.get(0).status()).isEqualTo(202);
        assertThat(fixture.accessLines()).singleElement().asString().contains("uri=/early status=202 ");
    }

    @Test
    void aClientThatClosesMidResponseIsCountedWithTheStatusItGot() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET /hold HTTP/1.1\r\nHost: any\r\n\r\n");
            assertThat(client.line()).isEqualTo("HTTP/1.1 200 OK");
            while (!client.line().isEmpty()) {
                // the response's head
            }
            assertThat(client.line()).isEqualTo("5");
            assertThat(client.line()).isEqualTo("hello");
            client.abort(); // the client gives up with the response unfinished
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
        assertThat(fixture.calls.get(0).status()).isEqualTo(200);
        assertThat(fixture.calls.get(0).route().backend()).isEqualTo(SCRIPTED);
        assertThat(fixture.accessLines()).singleElement().asString().contains("uri=/hold status=200 ");
    }

    @Test
    void aClientThatClosesBeforeAnyResponseIsCountedAs499() throws Exception {
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            client.send("GET /never HTTP/1.1\r\nHost: any\r\n\r\n");
            assertThat(fixture.endpointRequests().poll(10, TimeUnit.SECONDS)).endsWith("GET /never HTTP/1.1");
            client.abort(); // the client gives up while the endpoint holds the request
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
        assertThat(fixture.calls.get(0).status()).isEqualTo(499);
        assertThat(fixture.accessLines()).singleElement().asString().contains("uri=/never status=499 ");
    }

    @Test
    void anUploadThatStallsUntilTheIdleTimeoutIsCountedAs408NotAsTheClients499() throws Exception {
        fixture.close();
        fixture = new AccountingIngress("127.0.0.182", "127.0.0.183", MidResponseFailureAccountingTest::answer,
                IngressOptions.defaults().withIdleTimeout(Duration.ofMillis(600)));
        try (RawHttpClient client = new RawHttpClient(fixture.address())) {
            // the body's first chunk, then nothing: the endpoint waits for the rest, the client for the response
            client.send("POST /never HTTP/1.1\r\nHost: any\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            assertThat(fixture.endpointRequests().poll(10, TimeUnit.SECONDS)).endsWith("POST /never HTTP/1.1");
            assertThatThrownBy(() -> {
                while (true) {
                    client.readByte();
                }
            }).isInstanceOf(IOException.class).hasMessage("connection closed");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
        assertThat(fixture.calls.get(0).status()).isEqualTo(408);
        assertThat(fixture.accessLines()).singleElement().asString().contains("uri=/never status=408 ");
    }
}
