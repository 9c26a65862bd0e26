package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.spi.ILoggingEvent;
import io.netty.handler.codec.http2.Http2Error;
import io.svcproxy.ingress.proxy.RawH2Client.Data;
import io.svcproxy.ingress.proxy.RawH2Client.Frame;
import io.svcproxy.ingress.proxy.RawH2Client.Headers;
import io.svcproxy.ingress.proxy.RawH2Client.Reset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * HTTP/2 streams the proxy or Netty's codec answers early or refuses: each is answered on its stream, counted and
 * logged with the status the client got, and no stream's answer waits for another's flow-control window.
 * From helper-134's review: an h2c upgrade request Netty could not convert reached the pipeline's tail as a WARN and
 * stream 1 was never answered; a stream's response head waited unread behind another stream's exhausted connection
 * window, then a 504; Netty's own 431 for a header block past the advertised list size was neither counted nor
 * logged; a body short of its content-length was counted as 499.
 * Listener on 127.0.134.1, endpoints on 127.0.0.142.
 */
@Timeout(180)
class Http2StreamAnswersTest extends Http2IngressTestBase {

    /**
     * The request that carried {@code Upgrade: h2c} becomes stream 1 through Netty's
     * {@code HttpConversionUtil.toHttp2Headers}, which throws for a Host whose authority is empty after its userinfo
     * ({@code Host: a@}). It is the client's malformed request: stream 1 is answered 400 (counted and logged), not left
     * unanswered while the exception reaches the pipeline's tail as a WARN and the graceful close waits 30 s for the
     * stream. An HTTP/1.1 400 instead of the upgrade would do too.
     */
    @Test
    void anH2cUpgradeRequestNettyCannotConvertIsAnsweredNotAWarnAndADroppedConnection() throws Exception {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(ingress.localAddress(), 10_000);
            s.setSoTimeout(10_000);
            java.io.OutputStream out = s.getOutputStream();
            out.write(("GET /x HTTP/1.1\r\nHost: a@\r\n"
                    + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream());
            StringBuilder head = new StringBuilder();
            while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
                head.append((char) in.readUnsignedByte());
            }
            if (!head.toString().startsWith("HTTP/1.1 101")) {
                assertThat(head.toString()).startsWith("HTTP/1.1 400"); // refused over HTTP/1.1: fine too
                return;
            }
            // the client's preface and SETTINGS, then the server's frames until stream 1's HEADERS or the close
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
            out.flush();
            String stream1 = null;
            try {
                for (int frames = 0; frames < 100 && stream1 == null; frames++) {
                    int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
                    int type = in.readUnsignedByte();
                    in.readUnsignedByte(); // flags
                    int stream = in.readInt() & 0x7fffffff;
                    in.skipNBytes(length);
                    if (stream == 1 && (type == 1 || type == 3)) {
                        stream1 = type == 1 ? "HEADERS" : "RST_STREAM";
                    }
                }
            } catch (java.io.EOFException | java.net.SocketException | java.net.SocketTimeoutException e) {
                // the connection ended, or nothing more came within 10 s
            }
            assertThat(stream1).as("the upgraded request's answer on stream 1 (null: none within 10 s)")
                    .isEqualTo("HEADERS");
        }
    }

    /**
     * A stream's response HEADERS are not flow-controlled (RFC 9113 6.9), and the response timeout runs until the
     * endpoint's response head is read. While another stream's response has used up the connection's window (a client
     * that stopped consuming one download), a new stream's endpoint is still read until its head: its prompt 200 is
     * sent (its DATA waits for the window, as it must), not held unread until the response timeout's 504.
     */
    @Test
    void aStreamsResponseHeadersAreNotHeldBackByAnotherStreamsExhaustedConnectionWindow() throws Exception {
        listen(IngressOptions.defaults().withResponseTimeout(Duration.ofSeconds(3)));
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.stopReading(); // no WINDOW_UPDATE from here on: the client's windows stay at 65,535 bytes
            client.headers(1, request("GET", "api.example", "/bytes/1000000"), true);
            long received = 0;
            assertThat(((Headers) client.next(1)).headers().status()).hasToString("200");
            while (received < 65_535) { // the whole connection window went to stream 1
                received += ((Data) client.next(1)).bytes().length;
            }
            client.headers(3, request("GET", "api.example", "/small"), true);
            Frame first = client.next(3);
            assertThat(first).isInstanceOf(Headers.class);
            assertThat(((Headers) first).headers().status())
                    .as("status of stream 3, whose endpoint answered at once").hasToString("200");
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(calls).hasSize(2));
        assertThat(calls).extracting(Call::status).as("statuses counted").containsOnly(200);
    }

    /**
     * The proxy advertises SETTINGS_MAX_HEADER_LIST_SIZE 64 KiB and answers a block over its 16 KiB limit with the
     * stream's 431 itself (Http2Requests.refusal). A block past 64 KiB is refused by Netty's decoder
     * (HeaderListSizeException, handleServerHeaderDecodeSizeError): its 431 is counted and logged all the same.
     */
    @Test
    void aHeaderBlockPastTheAdvertisedListSizeIsCountedAndLoggedAs431LikeOneBelowIt() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, request("GET", "api.example", "/big").set("x-big", "~".repeat(30 * 1024)), true);
            assertThat(((Headers) client.next(1)).headers().status()).hasToString("431");
            client.headers(3, request("GET", "api.example", "/bigger").set("x-big", "~".repeat(70 * 1024)), true);
            assertThat(((Headers) client.next(3)).headers().status()).hasToString("431");
            assertThat(client.isActive()).isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(calls).extracting(Call::status)
                .as("statuses counted in svcproxy_http_requests_total").containsExactly(431, 431));
        assertThat(accessLog.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("client=") && m.contains("status=431"))).hasSize(2);
    }

    /**
     * A request whose DATA ends short of its {@code content-length} is malformed (RFC 9113 8.1.1): Netty's decoder
     * resets the stream (PROTOCOL_ERROR) before svcproxy sees the frame, and the request is counted and logged as the
     * 400 it is, as nginx logs it, not as 499, "client closed request": the client did not go away.
     */
    @Test
    void aBodyShortOfItsContentLengthIsCountedAsTheMalformedRequestItIsNotAs499() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, request("POST", "api.example", "/sha256").set("content-length", "10"), false);
            client.data(1, "hello".getBytes(StandardCharsets.US_ASCII), true);
            List<Frame> frames = untilReset(client, 1);
            assertThat(frames).isNotNull();
            assertThat(((Reset) frames.get(frames.size() - 1)).errorCode())
                    .isEqualTo(Http2Error.PROTOCOL_ERROR.code());
            assertThat(client.isActive()).isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !calls.isEmpty());
        assertThat(calls).extracting(Call::status).as("the status counted for the malformed request")
                .containsExactly(400);
    }

    /**
     * When the proxy answers a stream before its request body ended (here its own 404; an endpoint's early 413 is
     * the same), it sends RST_STREAM NO_ERROR behind the answer (RFC 9113 8.1), and the client's DATA frames already
     * on the wire arrive after it: RFC 9113 5.1 says an endpoint "MUST ignore frames that it receives on closed
     * streams after it has sent a RST_STREAM frame" (nginx skips them: "unknown http2 stream"). Netty's decoder
     * answers each with RST_STREAM STREAM_CLOSED instead, and its Http2MaxRstFrameLimitEncoder, on by default for
     * a server (200 such resets in 30 s), then ends the whole connection with GOAWAY ENHANCE_YOUR_CALM: a client
     * whose uploads are refused 13 times in 30 s (one stream window of 16 KiB frames in flight each) loses its
     * connection and every stream on it. Here the frames "in flight" are sent once the reset has arrived, which is
     * what the proxy sees of frames that crossed it.
     */
    @Test
    void dataFramesInFlightBehindTheProxysEarlyAnswerDoNotCostTheClientItsConnection() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            // the connection window the proxy opens after its preface (32 MiB), before sending more than 64 KiB
            assertThat(client.awaitWindowIncrements(0, 1, 10_000)).isTrue();
            byte[] frame = new byte[16 * 1024];
            List<Long> closedResets = new ArrayList<>();
            int stream = 1;
            for (int i = 0; i < 14 && client.isActive(); i++, stream += 2) {
                client.headers(stream, request("POST", "nowhere.example", "/upload"), false);
                List<Frame> frames = untilReset(client, stream);
                if (frames == null) {
                    break;
                }
                assertThat(((Headers) frames.get(0)).headers().status()).hasToString("404");
                assertThat(((Reset) frames.get(frames.size() - 1)).errorCode()).isEqualTo(Http2Error.NO_ERROR.code());
                for (int k = 0; k < 16; k++) { // the stream's 256 KiB window, sent before the reset reached the client
                    client.data(stream, frame, false);
                }
            }
            int last = stream;
            client.headers(last, request("GET", "nowhere.example", "/after"), true);
            await().atMost(Duration.ofSeconds(20)).until(() -> client.hasFrame(last) || !client.isActive());
            for (int s = 1; s < stream; s += 2) {
                while (client.hasFrame(s)) {
                    Frame f = client.next(s);
                    if (f instanceof Reset r) {
                        closedResets.add(r.errorCode());
                    }
                }
            }
            assertThat(goAwayCode(client))
                    .as("GOAWAY code after %d refused uploads (ENHANCE_YOUR_CALM is %d); the proxy answered their "
                            + "frames in flight with %d RST_STREAM(STREAM_CLOSED)", (stream - 1) / 2,
                            Http2Error.ENHANCE_YOUR_CALM.code(), closedResets.stream()
                                    .filter(c -> c == Http2Error.STREAM_CLOSED.code()).count())
                    .isNull();
            assertThat(((Headers) client.next(stream)).headers().status()).hasToString("404");
        }
    }
}
