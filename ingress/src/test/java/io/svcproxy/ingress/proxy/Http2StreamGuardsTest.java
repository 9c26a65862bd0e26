package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.handler.codec.http2.Http2Error;
import io.svcproxy.ingress.proxy.RawH2Client.Data;
import io.svcproxy.ingress.proxy.RawH2Client.Frame;
import io.svcproxy.ingress.proxy.RawH2Client.Headers;
import io.svcproxy.ingress.proxy.RawH2Client.Reset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What bounds a client's HTTP/2 streams without cutting the streams of a client that means no harm: resets are
 * counted only for streams not answered yet (the rapid-reset guard, {@link RapidResets}), and a stream idle on its
 * own is ended on its own (408 for a stalled upload) whatever the connection's PINGs and other streams do. From
 * helper-134's review of the Ingress's HTTP/2 side (but the guard's own test and the stalled response's; its test of
 * the DATA in flight behind an early answer is Http2StreamAnswersTest's). Listener on 127.0.134.1, endpoints on
 * 127.0.0.142.
 */
@Timeout(180)
class Http2StreamGuardsTest extends Http2IngressTestBase {
    /**
     * A client that cancels streams it no longer wants (a map panning away from tiles, a player seeking, gRPC
     * deadlines, a search box cancelling the previous query) sends RST_STREAM CANCEL for streams the proxy is
     * answering. Netty's rapid-reset guard (Http2MaxRstFrameDecoder, on by default for a server) counts every
     * RST_STREAM read, whatever its code and whether the stream was answered, and past 200 in 30 s ends the
     * connection with GOAWAY ENHANCE_YOUR_CALM and a hard close: the response of another stream still in flight on it
     * is lost. nginx bounds rapid reset without that cliff (new streams per event-loop turn, keepalive_requests 1000
     * then a graceful GOAWAY), HAProxy by its glitch counters (off by default); neither cuts a stream already taken.
     */
    @Test
    void aClientCancellingManyAnsweredStreamsDoesNotLoseAnotherStreamInFlight() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, request("GET", "api.example", "/sleep/15000"), true);
            int stream = 3;
            for (int i = 0; i < 210 && client.isActive(); i++, stream += 2) {
                // a download the client gives up once its head arrived: its stream is still open when reset
                client.headers(stream, request("GET", "api.example", "/bytes/100000000"), true);
                Frame first;
                try {
                    first = client.next(stream);
                } catch (AssertionError e) {
                    break; // the connection went away
                }
                assertThat(first).isInstanceOf(Headers.class); // answered: the client now cancels the rest of it
                client.reset(stream, Http2Error.CANCEL.code());
            }
            Frame f;
            try {
                f = client.next(1);
            } catch (AssertionError e) {
                f = null;
            }
            assertThat(f).as("the response of stream 1, in flight while %d other streams were cancelled (GOAWAY "
                    + "code: %s)", (stream - 3) / 2, goAwayCode(client)).isInstanceOf(Headers.class);
            List<Frame> rest = client.untilEnd(1);
            StringBuilder body = new StringBuilder();
            for (Frame d : rest) {
                if (d instanceof Data data) {
                    body.append(new String(data.bytes(), StandardCharsets.US_ASCII));
                }
            }
            assertThat(body.toString()).isEqualTo("api slept");
        }
    }

    /**
     * An upload whose body stalls holds its endpoint connection (its head and first bytes sent, the endpoint waiting
     * for the rest). On HTTP/1.1 the idle timeout ends it (logged 408, Exchange.clientGoneStatus); README: on HTTP/2
     * "a stream whose request body stalls does not keep" the connection. But the idle check counts any frame read
     * (ClientTimeouts.channelRead): a PING every (idle timeout - 1 s) keeps up to 128 stalled streams per connection,
     * each with its endpoint connection, open for good, where nginx ends each stream after client_body_timeout with
     * no DATA on it (PINGs and other streams' frames do not count). Idle timeout 1 s here, a PING every 200 ms.
     */
    @Test
    void aStalledUploadStreamIsEndedEvenWhileTheClientPings() throws Exception {
        listen(IngressOptions.defaults().withIdleTimeout(Duration.ofSeconds(1)));
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, request("POST", "api.example", "/sha256"), false);
            client.data(1, "first bytes, then nothing".getBytes(StandardCharsets.US_ASCII), false);
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
                if (client.isActive()) {
                    client.ping(); // a client's keep-alive, nothing of the stalled stream
                }
                return client.hasFrame(1) || !client.isActive();
            });
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !calls.isEmpty());
        assertThat(calls).extracting(Call::status).containsExactly(408);
    }

    /**
     * The rapid reset (CVE-2023-44487) is still bounded: a client that opens streams and resets each before its
     * answer (every one a request routed and sent to an endpoint, at no cost of the client's) gets, past
     * {@link RapidResets#LIMIT} such resets, a GOAWAY NO_ERROR naming the last stream taken, and no new stream is
     * taken after it (REFUSED_STREAM: the client may send it again on a new connection); the stream that was in
     * flight meanwhile is still answered whole, then the connection closes.
     */
    @Test
    void aClientResettingStreamsBeforeTheirAnswerIsSentAwayGracefully() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, request("GET", "api.example", "/sleep/3000"), true);
            int stream = 3;
            for (int i = 0; i <= RapidResets.LIMIT; i++, stream += 2) {
                client.headers(stream, request("GET", "api.example", "/sleep/2000"), true);
                client.reset(stream, Http2Error.CANCEL.code());
            }
            long[] goAway = client.awaitGoAway();
            assertThat(goAway[1]).as("GOAWAY code").isEqualTo(Http2Error.NO_ERROR.code());
            assertThat(goAway[0]).as("the last stream taken").isEqualTo(stream - 2);
            int late = stream;
            client.headers(late, request("GET", "api.example", "/bytes/10"), true);
            List<Frame> first = client.untilEnd(1);
            assertThat(((Headers) first.get(0)).headers().status()).hasToString("200");
            StringBuilder body = new StringBuilder();
            for (Frame d : first) {
                if (d instanceof Data data) {
                    body.append(new String(data.bytes(), StandardCharsets.US_ASCII));
                }
            }
            assertThat(body.toString()).isEqualTo("api slept");
            assertThat(client.awaitClosed(10_000)).as("closed once stream 1 ended").isTrue();
            assertThat(client.next(late)).as("a stream opened after the GOAWAY: refused, the client may retry it")
                    .isEqualTo(new Reset(late, Http2Error.REFUSED_STREAM.code()));
        }
    }

    /**
     * A response the client stopped taking (its stream window shut, nothing read) is ended by the idle timeout on
     * its own, although the client PINGs: RST_STREAM CANCEL, counted with the status the client got.
     */
    @Test
    void aResponseTheClientStoppedReadingIsResetWhileTheClientPings() throws Exception {
        listen(IngressOptions.defaults().withIdleTimeout(Duration.ofSeconds(1)));
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.stopReading();
            client.headers(1, request("GET", "api.example", "/bytes/100000000"), true);
            List<Frame> frames = new ArrayList<>();
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
                if (client.isActive()) {
                    client.ping();
                }
                while (client.hasFrame(1)) {
                    frames.add(client.next(1));
                }
                return !frames.isEmpty() && frames.get(frames.size() - 1) instanceof Reset || !client.isActive();
            });
            assertThat(client.isActive()).as("the connection goes on").isTrue();
            assertThat(((Headers) frames.get(0)).headers().status()).hasToString("200");
            assertThat(((Reset) frames.get(frames.size() - 1)).errorCode()).isEqualTo(Http2Error.CANCEL.code());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !calls.isEmpty());
        assertThat(calls).extracting(Call::status).containsExactly(200);
    }

    /**
     * When the idle timeout does close an HTTP/2 connection whose only stream is an upload that stalled (README: such
     * a stream "does not keep" the connection), the request is counted and logged as 499, "client closed request"
     * (Http2StreamFrontend.streamClosed passes {@code clientGoneStatus(false)}, its comment says "no idle close on
     * HTTP/2 while a stream is open: never a 408 here"). The same stall on HTTP/1.1 is a 408 (Exchange's javadoc:
     * "408 when the proxy's idle timeout ended it (its body stalled, as nginx's client_body_timeout)"): the proxy
     * timed the request out, the client did not leave. (The close itself comes only after Netty's 30 s graceful
     * shutdown timeout, not at the idle timeout: ClientTimeouts closes with the GOAWAY's wait for open streams.)
     */
    @Test
    void aStalledUploadEndedByTheIdleTimeoutIsCounted408Not499() throws Exception {
        listen(IngressOptions.defaults().withIdleTimeout(Duration.ofSeconds(1)));
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            client.headers(1, request("POST", "api.example", "/sha256"), false);
            client.data(1, "first bytes, then nothing".getBytes(StandardCharsets.US_ASCII), false);
            // the idle close is HTTP/2's graceful one: GOAWAY, then Netty waits up to its 30 s for the stalled stream
            // (and logs "Client connection idle, closing" at every check meanwhile)
            assertThat(client.awaitClosed(90_000)).as("closed by the idle timeout").isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !calls.isEmpty());
        assertThat(calls).extracting(Call::status).as("the status counted for the timed-out upload")
                .containsExactly(408);
    }

    /**
     * A stream opened past SETTINGS_MAX_CONCURRENT_STREAMS is refused (REFUSED_STREAM), and a client that has not
     * read the refusal yet may go on with it: an upload's DATA, then its cancel (RST_STREAM). Netty's decoder refuses
     * the stream without creating it, so those frames found a stream that, by Netty's count, never existed: a
     * connection error (PROTOCOL_ERROR) that closed the connection and cut its 128 other streams. They are ignored
     * instead, as the frames of a closed stream are (RFC 9113 5.1). The 128 uploads wait for the rest of their body.
     */
    @Test
    void framesOfAStreamRefusedPastTheConcurrentStreamsLimitAreIgnored() throws Exception {
        try (RawH2Client client = RawH2Client.connect(group, ingress.localAddress())) {
            int stream = 1;
            for (int i = 0; i < ClientPipelines.MAX_CONCURRENT_STREAMS; i++, stream += 2) {
                client.headers(stream, request("POST", "api.example", "/sha256"), false);
            }
            client.headers(stream, request("POST", "api.example", "/sha256"), false);
            client.data(stream, "an upload".getBytes(StandardCharsets.US_ASCII), false);
            client.reset(stream, Http2Error.CANCEL.code());
            client.ping(); // the server read them all

            assertThat(client.next(stream)).isEqualTo(new Reset(stream, Http2Error.REFUSED_STREAM.code()));
            client.data(1, "abc".getBytes(StandardCharsets.US_ASCII), true);
            List<Frame> first = client.untilEnd(1);
            assertThat(((Headers) first.get(0)).headers().status()).hasToString("200");
            assertThat(((Data) first.get(first.size() - 1)).bytes()).asString(StandardCharsets.US_ASCII)
                    .endsWith(HexFormat.of().formatHex(TestEndpoints.sha256().digest(
                            "abc".getBytes(StandardCharsets.US_ASCII))));
            assertThat(client.isActive()).as("the connection goes on").isTrue();
        }
    }
}
