package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A stream's request head becomes the same HTTP/1.1 request as with Netty's {@link HttpConversionUtil} (method,
 * target, version, the same fields in the same order, no trailers), whether {@link Http2Requests#converted} makes
 * it or hands it to Netty's conversion (CONNECT, Cookie, Host, names Netty refuses).
 */
class Http2RequestsTest {

    static Stream<Http2Headers> heads() {
        return Stream.of(
                // h2load's request
                h2("GET", "/", "bench.example:8080", "user-agent", "h2load nghttp2/1.52.0"),
                // fields of any kind, the pseudo-header fields not first, a repeated name, a non-ASCII target byte
                h2("POST", "/a?b=c&d=%20", "a.example", "content-type", "text/plain", "content-length", "5",
                        "accept", "*/*", "accept", "text/html", "x-custom", "1", "te", "trailers")
                        .add(":protocol", "websocket").add("x-later", "2"),
                // what Netty's conversion removes or leaves out: Transfer-Encoding, Trailer, Connection, x-http2-*
                h2("PUT", "/caf\u00e9", "a.example", "transfer-encoding", "chunked", "trailer", "x-sum",
                        "connection", "keep-alive", "x-http2-scheme", "gopher", "X-HTTP2-Stream-Id", "99",
                        "x-http2-path", "/p", "x-http2-stream-weight", "3", "x-http2-other", "kept",
                        "x-http2-", "kept too"),
                // no :authority: no Host
                h2("GET", "/", null, "user-agent", "x"),
                // handed to Netty's conversion
                h2("GET", "/", "a.example", "cookie", "a=1", "cookie", "b=2"),
                h2("GET", "/", "a.example", "Cookie", "a=1"),
                h2("GET", "/", "a.example", "host", "A.example"),
                h2("GET", "/", null, "host", "a.example"),
                h2("CONNECT", null, "a.example:443"),
                h2("connect", "/", "a.example:443"));
    }

    @ParameterizedTest
    @MethodSource("heads")
    void theRequestIsNettysConversion(Http2Headers head) throws Http2Exception {
        for (boolean end : new boolean[] {true, false}) {
            HttpRequest ours = Http2Requests.toHttp1(3, head, end);
            HttpRequest netty = netty(head, end);
            assertThat(describe(ours)).isEqualTo(describe(netty));
            assertThat(ours instanceof FullHttpRequest).isEqualTo(end);
            if (ours instanceof FullHttpRequest full) {
                assertThat(full.trailingHeaders().isEmpty()).isTrue();
                assertThat(full.content().readableBytes()).isZero();
            }
        }
    }

    /** The common heads are made here, not by Netty's conversion; the others are left to it. */
    @ParameterizedTest
    @MethodSource("heads")
    void whichHeadsAreMadeHere(Http2Headers head) {
        boolean netty = false;
        for (Map.Entry<CharSequence, CharSequence> f : head) {
            String name = f.getKey().toString().toLowerCase(java.util.Locale.ROOT);
            netty |= name.equals("cookie") || name.equals("host");
        }
        netty |= head.method().toString().equalsIgnoreCase("CONNECT");
        assertThat(Http2Requests.converted(head, true) == null).isEqualTo(netty);
    }

    /** A name Netty's conversion refuses (an unknown pseudo-header, an empty one): no request, as before. */
    @ParameterizedTest
    @MethodSource("refused")
    void whatNettyRefusesIsNoRequest(Http2Headers head) {
        assertThat(Http2Requests.converted(head, true)).isNull();
        assertThat(Http2Requests.toHttp1(3, head, true)).isNull();
        assertThat(Http2Requests.toHttp1(3, head, false)).isNull();
    }

    static Stream<Http2Headers> refused() {
        return Stream.of(h2("GET", "/", "a.example", ":unknown", "1"),
                h2("GET", "/", "a.example", "", "1"),
                h2("G ET", "/", "a.example"));
    }

    /** Netty's conversion as {@link Http2Requests#toHttp1} used it: its {@code x-http2-*} fields removed after. */
    private static HttpRequest netty(Http2Headers head, boolean end) throws Http2Exception {
        HttpRequest req = end
                ? HttpConversionUtil.toFullHttpRequest(3, head, Unpooled.EMPTY_BUFFER, false)
                : HttpConversionUtil.toHttpRequest(3, head, false);
        req.headers().remove(HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text());
        req.headers().remove(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text());
        return req;
    }

    private static List<String> describe(HttpRequest req) {
        List<String> out = new ArrayList<>();
        out.add(req.method() + " " + req.uri() + " " + req.protocolVersion());
        HttpHeaders h = req.headers();
        h.iteratorCharSequence().forEachRemaining(e -> out.add(e.getKey() + ": " + e.getValue()));
        return out;
    }

    /** A head of {@code :method}, {@code :scheme}, {@code :path}, {@code :authority} (each unless null), fields. */
    private static Http2Headers h2(String method, String path, String authority, String... fields) {
        Http2Headers h = new DefaultHttp2Headers(false);
        h.method(method).scheme("https");
        if (path != null) {
            h.path(path);
        }
        if (authority != null) {
            h.authority(authority);
        }
        for (int i = 0; i < fields.length; i += 2) {
            h.add(fields[i], fields[i + 1]);
        }
        return h;
    }
}
