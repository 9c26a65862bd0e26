package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.proxy.RawH2Client.Data;
import io.svcproxy.ingress.proxy.RawH2Client.Frame;
import io.svcproxy.ingress.proxy.RawH2Client.Headers;
import io.svcproxy.ingress.proxy.RawH2Client.Reset;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An HTTP/2 stream whose response started and then failed (the endpoint closed short of the body's end, or sent a
 * malformed chunk) is reset, and is still an answered request: counted in the request metrics with the status the
 * client got and written to the access log, as on HTTP/1.1 ({@link MidResponseFailureAccountingTest}). On
 * 127.0.0.184 (listener) and 127.0.0.185 (scripted endpoint).
 */
@Timeout(60)
class Http2MidResponseFailureAccountingTest {
    private static final ServiceBackend SCRIPTED = AccountingIngress.SCRIPTED;

    private AccountingIngress fixture;

    @BeforeEach
    void setUp() throws Exception {
        fixture = new AccountingIngress("127.0.0.184", "127.0.0.185", Http2MidResponseFailureAccountingTest::answer);
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    /**
     * {@code /cut}: 206 with a length of 10, 5 bytes, then the close; {@code /malformed}: a chunked 200, a chunk,
     * then (200 ms later, so that the head and the chunk reach the client first) a chunk size that is not hex;
     * {@code /hold}: a chunked 200 and a chunk, then nothing more; {@code /never}: no answer.
     */
    private static boolean answer(String requestLine, InputStream in, OutputStream out)
            throws IOException, InterruptedException {
        String path = requestLine.split(" ")[1];
        if (path.equals("/never")) {
            while (in.read() >= 0) {
                // no answer at all, until the proxy closes the connection
            }
            return false;
        }
        if (path.equals("/cut")) {
            out.write("HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n\r\nhello"
                    .getBytes(StandardCharsets.US_ASCII));
            return false;
        }
        out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        if (path.equals("/hold")) {
            while (in.read() >= 0) {
                // the rest of the response never comes: held until the proxy closes the connection
            }
            return false;
        }
        Thread.sleep(200);
        out.write("zz\r\nworld\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return true;
    }

    /** Sends a GET for {@code path} on stream 1 and returns the stream's frames up to its end or reset. */
    private List<Frame> get(RawH2Client client, String path) throws InterruptedException {
        client.headers(1, new DefaultHttp2Headers().method("GET").path(path).scheme("http").authority("any"), true);
        return client.untilEnd(1);
    }

    @Test
    void anEndpointClosingShortOfTheBodysEndResetsTheStreamAndIsCountedWithItsStatus() throws Exception {
        try (RawH2Client client = RawH2Client.connect(fixture.group, fixture.address())) {
            List<Frame> frames = get(client, "/cut");
            assertThat(((Headers) frames.get(0)).headers().status()).hasToString("206");
            assertThat(frames.get(frames.size() - 1)).isInstanceOf(Reset.class);
            assertThat(((Reset) frames.get(frames.size() - 1)).errorCode())
                    .isEqualTo(Http2Error.INTERNAL_ERROR.code());
            assertThat(client.isActive()).isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
        assertThat(fixture.calls.get(0).status()).isEqualTo(206);
        assertThat(fixture.calls.get(0).route().backend()).isEqualTo(SCRIPTED);
        assertThat(fixture.accessLines()).singleElement().asString().contains("proto=h2 method=GET")
                .contains("uri=/cut status=206 ");
    }

    @Test
    void anEndpointsMalformedChunkAfterTheHeadResetsTheStreamAndIsCountedWithTheStatusTheClientGot()
            throws Exception {
        try (RawH2Client client = RawH2Client.connect(fixture.group, fixture.address())) {
            List<Frame> frames = get(client, "/malformed");
            assertThat(((Headers) frames.get(0)).headers().status()).hasToString("200");
            assertThat(frames.get(frames.size() - 1)).isInstanceOf(Reset.class);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
        assertThat(fixture.calls.get(0).status()).isEqualTo(200);
        assertThat(fixture.accessLines()).singleElement().asString().contains("uri=/malformed status=200 ");
    }

    @Test
    void aStreamTheClientResetsMidResponseIsCountedWithTheStatusItGot() throws Exception {
        try (RawH2Client client = RawH2Client.connect(fixture.group, fixture.address())) {
            client.headers(1, new DefaultHttp2Headers().method("GET").path("/hold").scheme("http").authority("any"),
                    true);
            assertThat(((Headers) client.next(1)).headers().status()).hasToString("200");
            assertThat(client.next(1)).isInstanceOf(Data.class);
            client.reset(1, Http2Error.CANCEL.code());
            await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
            assertThat(client.isActive()).isTrue();
        }
        assertThat(fixture.calls.get(0).status()).isEqualTo(200);
        assertThat(fixture.calls.get(0).route().backend()).isEqualTo(SCRIPTED);
        assertThat(fixture.accessLines()).singleElement().asString().contains("uri=/hold status=200 ");
    }

    @Test
    void aConnectionTheClientClosesBeforeAnyResponseIsCountedAs499() throws Exception {
        try (RawH2Client client = RawH2Client.connect(fixture.group, fixture.address())) {
            client.headers(1, new DefaultHttp2Headers().method("GET").path("/never").scheme("http").authority("any"),
                    true);
            assertThat(fixture.endpointRequests().poll(10, TimeUnit.SECONDS)).endsWith("GET /never HTTP/1.1");
        } // the client's connection ends with the stream unanswered
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.calls.size() == 1);
        assertThat(fixture.calls.get(0).status()).isEqualTo(499);
        assertThat(fixture.accessLines()).singleElement().asString().contains("uri=/never status=499 ");
    }
}
