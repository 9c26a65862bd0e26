package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * An endpoint's HTTP/1.1 response head as HTTP/2 fields, for the Ingress's HTTP/2 streams: what Netty's
 * {@link HttpConversionUtil#toHttp2Headers(io.netty.handler.codec.http.HttpMessage, boolean)} makes, without its
 * per-response work for fields that need none. Netty lower-cases every name into a new {@link AsciiString} and
 * builds a map of the {@code Connection} field's tokens for every response; here a name the endpoint codec returned
 * cached ({@link KnownHeaderNames}) maps to its lower-case constant, and a response with a {@code Connection},
 * {@code TE} or {@code Cookie} field (the Ingress removes hop-by-hop fields before this, so rarely) goes to Netty's
 * conversion whole. Either way the fields, their order and what is left out (RFC 9113 8.2.2: connection-specific
 * fields; Netty's extension names) are Netty's.
 */
final class Http2ResponseHeaders {
    /**
     * The lower-case names Netty's HTTP/1 to HTTP/2 conversion leaves out ({@code HttpConversionUtil}'s list in
     * 4.2.18: the connection-specific fields of RFC 9113 8.2.2, Host, and Netty's extension names).
     */
    private static final Set<AsciiString> NOT_FOR_HTTP2 = Set.of(HttpHeaderNames.CONNECTION,
            HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.PROXY_CONNECTION, HttpHeaderNames.TRANSFER_ENCODING,
            HttpHeaderNames.HOST, HttpHeaderNames.UPGRADE, HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text(),
            HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), HttpConversionUtil.ExtensionHeaderNames.PATH.text());

    private Http2ResponseHeaders() {
    }

    /** The HTTP/2 fields of {@code response}: {@code :status}, then its fields, as Netty's conversion. */
    static Http2Headers of(HttpResponse response) {
        HttpHeaders in = response.headers();
        Http2Headers out;
        if (needsNetty(in)) {
            out = HttpConversionUtil.toHttp2Headers(response, false);
        } else {
            out = new DefaultHttp2Headers(false, in.size());
            out.status(response.status().codeAsText());
            copy(in, out);
        }
        if (response.status().code() == 204) {
            // a 204 has no content (RFC 9110 8.6: no Content-Length); HTTP/2 clients refuse one that is not 0, as
            // nginx drops it
            out.remove(HttpHeaderNames.CONTENT_LENGTH);
        }
        return out;
    }

    /** Trailer fields as HTTP/2 fields, as {@link HttpConversionUtil#toHttp2Headers(HttpHeaders, Http2Headers)}. */
    static void trailers(HttpHeaders in, Http2Headers out) {
        if (needsNetty(in)) {
            HttpConversionUtil.toHttp2Headers(in, out);
        } else {
            copy(in, out);
        }
    }

    /** Fields whose conversion is more than a lower-cased copy: Netty's own code does them. */
    private static boolean needsNetty(HttpHeaders in) {
        return in.contains(HttpHeaderNames.CONNECTION) || in.contains(HttpHeaderNames.TE)
                || in.contains(HttpHeaderNames.COOKIE);
    }

    private static void copy(HttpHeaders in, Http2Headers out) {
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> field = it.next();
            AsciiString name = KnownHeaderNames.lowerCase(field.getKey());
            if (!NOT_FOR_HTTP2.contains(name)) {
                out.add(name, field.getValue());
            }
        }
    }
}
