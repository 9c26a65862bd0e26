package io.svcproxy.ingress.proxy;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.util.Map;

/**
 * An HTTP/2 stream's request head as the Ingress takes it from a client ({@link Http2StreamFrontend}): the HTTP/1.1
 * request it becomes (Netty's {@link HttpConversionUtil}), refused when it may not be forwarded, and its fields as
 * they go to the endpoint. The HTTP/2 counterpart of {@link Http1Requests}. Static: nothing is made here beyond the
 * converted request. Called on the client connection's event loop.
 */
final class Http2Requests {
    private Http2Requests() {
    }

    /**
     * The HTTP/1.1 request of a stream's HEADERS, without Netty's {@code x-http2-*} fields of the conversion, or
     * {@code null} when they are no request (the stream's 400).
     */
    static HttpRequest toHttp1(int streamId, Http2Headers headers, boolean endOfStream) {
        HttpRequest req;
        if (headers.method() == null || headers.path() == null || headers.scheme() == null) {
            // RFC 9113 8.3.1: every request but CONNECT has all three (CONNECT is a 501 below, once converted);
            // Netty's conversion would throw a NullPointerException, which failed the whole connection
            if (headers.method() == null || !HttpMethod.CONNECT.asciiName().contentEquals(headers.method())) {
                return null;
            }
        }
        try {
            req = converted(headers, endOfStream);
            if (req == null) {
                // a request converted as Netty converts it: a request without a body goes as one message, its end
                // included (see Exchange.send)
                req = endOfStream
                        ? HttpConversionUtil.toFullHttpRequest(streamId, headers, Unpooled.EMPTY_BUFFER, false)
                        : HttpConversionUtil.toHttpRequest(streamId, headers, false);
            }
        } catch (Http2Exception | IllegalArgumentException e) {
            // not a request (a method that is not a token is Netty's IllegalArgumentException): this stream's 400
            return null;
        }
        HttpHeaders h = req.headers();
        // Netty's x-http2-* fields of the conversion: neither counted against the limit nor forwarded
        h.remove(HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text());
        h.remove(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text());
        return req;
    }

    /**
     * The request Netty's {@link HttpConversionUtil#toFullHttpRequest}/{@link HttpConversionUtil#toHttpRequest}
     * (4.2.18, without validation) make of {@code headers}, as {@link #toHttp1} leaves it once it removed their
     * {@code x-http2-*} fields, made without what those leave behind: the two extension fields added to be removed,
     * a 16-slot table, and a 16-slot trailers table for a request without a body (its trailers are
     * {@link EmptyHttpHeaders}, as those of {@link LastHttpContent#EMPTY_LAST_CONTENT}: nothing adds to a request's
     * trailers). The same fields in the same order: {@code :authority} as {@code Host} where it stands, the other
     * pseudo-header fields and any {@code x-http2-*} field left out, {@code Transfer-Encoding}, {@code Trailer} and
     * {@code Connection} removed. {@code null} for what Netty's own conversion does: {@code CONNECT} (its target is
     * the authority), a {@code Cookie} field (joined into one), a {@code Host} field (checked against
     * {@code :authority}), a name that is empty or an unknown pseudo-header (a stream error), a failure of any kind.
     */
    static HttpRequest converted(Http2Headers headers, boolean endOfStream) {
        CharSequence method = headers.method();
        CharSequence path = headers.path();
        if (method == null || path == null || HttpMethod.CONNECT.asciiName().contentEqualsIgnoreCase(method)) {
            return null;
        }
        HttpHeaders out = new Http1Codecs.SizedHeaders(UNVALIDATED.getNameValidator(),
                UNVALIDATED.getValueValidator(), Http1Codecs.HEADER_SLOTS);
        try {
            for (Map.Entry<CharSequence, CharSequence> field : headers) {
                CharSequence name = field.getKey();
                if (name.length() == 0 || AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.COOKIE)
                        || AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.HOST)) {
                    return null;
                }
                if (name.charAt(0) == ':') {
                    if (!Http2Headers.PseudoHeaderName.isPseudoHeader(name)) {
                        return null;
                    }
                    if (AUTHORITY.contentEquals(name)) {
                        out.add(HttpHeaderNames.HOST, AsciiString.of(field.getValue()));
                    }
                } else if (!isExtensionName(name)) {
                    out.add(name, field.getValue());
                }
            }
            for (AsciiString removed : REMOVED) {
                out.remove(removed);
            }
            HttpMethod m = HttpMethod.valueOf(method.toString());
            return endOfStream
                    ? new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, m, path.toString(), Unpooled.EMPTY_BUFFER,
                            out, EmptyHttpHeaders.INSTANCE)
                    : new DefaultHttpRequest(HttpVersion.HTTP_1_1, m, path.toString(), out);
        } catch (RuntimeException e) {
            return null; // Netty's conversion tells what is wrong
        }
    }

    /** One of Netty's {@code x-http2-*} names, in any case: its conversion drops a client's. */
    private static boolean isExtensionName(CharSequence name) {
        if (name.length() < EXTENSION_PREFIX.length()
                || !AsciiString.regionMatches(name, true, 0, EXTENSION_PREFIX, 0, EXTENSION_PREFIX.length())) {
            return false;
        }
        for (HttpConversionUtil.ExtensionHeaderNames n : EXTENSION_NAMES) {
            if (n.text().contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** Netty's conversion's headers, {@code validateHttpHeaders} false. */
    private static final DefaultHttpHeadersFactory UNVALIDATED =
            DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final AsciiString AUTHORITY = Http2Headers.PseudoHeaderName.AUTHORITY.value();
    private static final String EXTENSION_PREFIX = "x-http2-";
    private static final HttpConversionUtil.ExtensionHeaderNames[] EXTENSION_NAMES =
            HttpConversionUtil.ExtensionHeaderNames.values();
    /** What Netty's conversion removes: {@code Connection} as it makes the request keep-alive. */
    private static final AsciiString[] REMOVED = {HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.TRAILER,
            HttpHeaderNames.CONNECTION};

    /**
     * 431, 414 or 400 for a converted request the proxy refuses to forward, 501 for {@code CONNECT}, else
     * {@code null}. Each ends the stream only, never the connection.
     */
    static HttpResponseStatus refusal(HttpRequest req, IngressOptions options) {
        if (req.headers().size() > options.maxHeaders() || listSize(req.headers()) > options.maxHeaderSize()) {
            return HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
        }
        if (req.method().name().length() + req.uri().length() + " HTTP/1.1".length() + 1
                > options.maxInitialLine()) {
            // the request line it becomes towards the endpoint: held to HTTP/1.1's limit (414), not to the whole
            // header list's
            return HttpResponseStatus.REQUEST_URI_TOO_LONG;
        }
        if (!ProxyHeaders.hasValidFraming(req)) {
            return HttpResponseStatus.BAD_REQUEST;
        }
        if (HttpMethod.CONNECT.equals(req.method())) {
            // as on HTTP/1.1 (IngressFrontendHandler): a tunnel is no request an Ingress routes
            return HttpResponseStatus.NOT_IMPLEMENTED;
        }
        if (!req.uri().startsWith("/")) {
            // :path in origin form (RFC 9113 8.3.1): the host is :authority's, never a URI's in :path; "*" (OPTIONS)
            // as nginx refuses it ("client sent invalid :path header") and as the HTTP/1.1 request line's
            return HttpResponseStatus.BAD_REQUEST;
        }
        if (!ProxyHeaders.isValidTarget(req.uri())) {
            // a tab (HPACK carries it; Netty refuses the other controls) would stand in the endpoint's request line
            return HttpResponseStatus.BAD_REQUEST;
        }
        String host = req.headers().get(HttpHeaderNames.HOST);
        if (host == null || !ProxyHeaders.isValidHost(host)) {
            // neither :authority nor host (or an empty one, which RFC 9113 8.3.1 forbids): as an HTTP/1.1 request
            // without Host (and as nginx answers it); forwarded, it would be an HTTP/1.1 request without a host.
            // Or one nginx refuses, as on HTTP/1.1
            return HttpResponseStatus.BAD_REQUEST;
        }
        return null;
    }

    /**
     * The size of a request's header list as HPACK counts it (RFC 7541 4.1: each field's name and value and 32),
     * its pseudo-header fields left out. The connection advertises {@link #ADVERTISED_LIST_SIZE_FACTOR} times the
     * limit, so that a block over the limit reaches the stream's 431 here rather than Netty's connection-wide
     * GOAWAY, which it sends for a block whose encoded size passes 1.25 times what was advertised.
     */
    static long listSize(HttpHeaders headers) {
        long size = 0;
        for (java.util.Iterator<java.util.Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence();
                it.hasNext(); ) {
            java.util.Map.Entry<CharSequence, CharSequence> e = it.next();
            size += e.getKey().length() + e.getValue().length() + 32;
        }
        return size;
    }

    /** SETTINGS_MAX_HEADER_LIST_SIZE advertised, as a multiple of the limit of {@link #listSize} ({@code maxHeaderSize}). */
    static final int ADVERTISED_LIST_SIZE_FACTOR = 4;

    /**
     * Rewrites a routed request's fields for the endpoint's HTTP/1.1 hop, in place: hop-by-hop fields out (but
     * {@code TE: trailers}), chunked framing for a body of unknown length. X-Forwarded-* come after, from the caller.
     */
    static void toEndpointHop(HttpRequest req, boolean endOfStream) {
        HttpHeaders h = req.headers();
        // "te: trailers" (the one TE an HTTP/2 client may send, gRPC's): the proxy relays trailers, so it says so
        // on its own hop too, as a connection option (RFC 9110 10.1.4)
        boolean trailers = h.containsValue(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS, true);
        ProxyHeaders.removeHopByHop(h, false);
        if (trailers) {
            h.set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderNames.TE);
        }
        if (!endOfStream && !HttpUtil.isContentLengthSet(req)) {
            // a body of unknown length: HTTP/1.1 frames it by chunks (as Http2StreamFrameToHttpObjectCodec does)
            HttpUtil.setTransferEncodingChunked(req, true);
        }
    }
}
