package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An endpoint's response head becomes the same HTTP/2 fields as with Netty's {@link HttpConversionUtil} (same
 * names, values, order; the same fields left out), each response decoded by the endpoint codec as the Ingress
 * decodes it, so the cached names are in it; the cached names' lower-case forms are constants.
 */
class Http2ResponseHeadersTest {

    @ParameterizedTest
    @ValueSource(strings = {
        // nginx's usual head, every name cached
        "Server: nginx\r\nDate: Sat, 05 Dec 2026 07:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n",
        // cached names among others, in other spellings and cases
        "content-type: a\r\nCONTENT-LENGTH: 5\r\nX-Custom: b\r\nx-lower: c\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
                + "Vary: Accept\r\nETag: \"x\"\r\nCache-Control: no-cache\r\nStrict-Transport-Security: max-age=1\r\n",
        // fields HTTP/2 does not carry, without a Connection field naming them
        "Content-Length: 5\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\n"
                + "Host: a.example\r\nTrailer: X-Sum\r\nx-http2-stream-id: 3\r\nx-http2-scheme: https\r\n"
                + "x-http2-path: /p\r\n",
        // the fields Netty's own conversion does: Connection and the fields it names, TE, Cookie
        "Content-Length: 5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Kept: 2\r\n",
        "Content-Length: 5\r\nTE: trailers, gzip\r\nX-Kept: 2\r\n",
        "Content-Length: 5\r\nCookie: a=1; b=2\r\nX-Kept: 2\r\n",
    })
    void theFieldsAreNettysConversions(String fields) {
        HttpResponse response = decoded("HTTP/1.1 200 OK\r\n" + fields + "\r\nhello");
        assertThat(fields(Http2ResponseHeaders.of(response)))
                .isEqualTo(fields(HttpConversionUtil.toHttp2Headers(response, false)))
                .contains(":status: 200");
    }

    /** A 204 has no content: its Content-Length is not relayed (HTTP/2 clients refuse one that is not 0). */
    @Test
    void a204LosesItsContentLength() {
        HttpResponse response = decoded("HTTP/1.1 204 No Content\r\nContent-Length: 12\r\nX-Kept: 1\r\n\r\n");
        assertThat(fields(Http2ResponseHeaders.of(response))).doesNotContain("content-length: 12")
                .contains(":status: 204", "x-kept: 1");
        HttpResponse viaNetty = decoded("HTTP/1.1 204 No Content\r\nContent-Length: 12\r\nConnection: x\r\n\r\n");
        assertThat(fields(Http2ResponseHeaders.of(viaNetty))).doesNotContain("content-length: 12");
    }

    @Test
    void trailersAreNettysConversionsToo() {
        HttpHeaders trailers = new DefaultHttpHeaders();
        trailers.add("X-Sum", "1").add("Content-Type", "x").add("Connection", "close").add("X-Other", "2");
        for (HttpHeaders in : List.of(trailers, new DefaultHttpHeaders().add("X-Sum", "1").add("Server", "a"))) {
            Http2Headers ours = new DefaultHttp2Headers();
            Http2ResponseHeaders.trailers(in, ours);
            Http2Headers netty = new DefaultHttp2Headers();
            HttpConversionUtil.toHttp2Headers(in, netty);
            assertThat(fields(ours)).isEqualTo(fields(netty)).isNotEmpty();
        }
    }

    @Test
    void aCachedNamesLowerCaseIsOneConstantNotANewStringPerResponse() {
        HttpResponse first = decoded("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: a\r\n\r\n");
        HttpResponse second = decoded("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: a\r\n\r\n");
        List<CharSequence> a = names(Http2ResponseHeaders.of(first));
        List<CharSequence> b = names(Http2ResponseHeaders.of(second));
        assertThat(a).hasSize(3); // :status, server, content-type
        for (int i = 1; i < a.size(); i++) {
            assertThat(a.get(i)).isSameAs(b.get(i));
        }
        // Netty's makes a new one per response
        assertThat(names(HttpConversionUtil.toHttp2Headers(first, false)).get(1))
                .isNotSameAs(names(HttpConversionUtil.toHttp2Headers(second, false)).get(1));
    }

    @Test
    void aTypicalResponseHeadAllocatesLessThanWithNettysConversion() {
        // nginx's head as the bench's endpoints send it (Connection removed by the Ingress before this)
        HttpResponse response = decoded("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
                + "Date: Fri, 04 Dec 2026 23:30:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n");
        long ours = bytesPerCall(() -> Http2ResponseHeaders.of(response));
        long netty = bytesPerCall(() -> HttpConversionUtil.toHttp2Headers(response, false));
        System.out.println("Http2ResponseHeadersTest: " + ours + " bytes per response head, Netty's conversion "
                + netty);
        assertThat(ours).isLessThan(netty);
    }

    /** The least bytes one call allocated, over a few windows after a warm-up (exact per-thread counter). */
    private static long bytesPerCall(java.util.function.Supplier<Http2Headers> call) {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long sink = 0;
        for (int i = 0; i < 50_000; i++) {
            sink += call.get().size();
        }
        long least = Long.MAX_VALUE;
        for (int w = 0; w < 5; w++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 10_000; i++) {
                sink += call.get().size();
            }
            least = Math.min(least, (threads.getCurrentThreadAllocatedBytes() - before) / 10_000);
        }
        assertThat(sink).isPositive();
        return least;
    }

    /** The response decoded from these bytes by the endpoint codec (the names it knows come cached). */
    private static HttpResponse decoded(String bytes) {
        EmbeddedChannel ch = new EmbeddedChannel(new EndpointCodec(new HttpDecoderConfig()));
        ch.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/"));
        ((ByteBuf) ch.readOutbound()).release();
        ch.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.US_ASCII));
        HttpResponse response = ch.readInbound();
        for (Object o; (o = ch.readInbound()) != null; ) {
            ReferenceCountUtil.release(o);
        }
        ch.finishAndReleaseAll();
        return response;
    }

    private static List<String> fields(Http2Headers headers) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            out.add(e.getKey() + ": " + e.getValue());
        }
        return out;
    }

    private static List<CharSequence> names(Http2Headers headers) {
        List<CharSequence> out = new ArrayList<>();
        headers.forEach(e -> out.add(e.getKey()));
        return out;
    }
}
