package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.util.Iterator;
import java.util.List;

/**
 * The header rewriting of a reverse proxy: hop-by-hop fields (RFC 9110 7.6.1) and X-Forwarded-*. The headers are
 * rewritten in place, in the message as decoded, which is then forwarded: no copy per message.
 */
final class ProxyHeaders {
    private static final AsciiString PROXY_CONNECTION = AsciiString.cached("proxy-connection");
    private static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
    private static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
    private static final AsciiString X_FORWARDED_HOST = AsciiString.cached("x-forwarded-host");
    private static final AsciiString X_REAL_IP = AsciiString.cached("x-real-ip");
    /** A request's {@code Proxy} field: CGI's HTTP_PROXY (httpoxy), never forwarded, as ingress-nginx clears it. */
    private static final AsciiString PROXY = AsciiString.cached("proxy");
    /**
     * The fields that describe one connection, not the message (RFC 9110 7.6.1 and RFC 2616 13.5.1's list):
     * never forwarded. {@code Transfer-Encoding} is handled by the codecs (see {@link #removeHopByHop}).
     * {@code Trailer} is not one: it announces the trailer fields of the message, which the proxy relays (RFC 9110
     * 6.6.2; RFC 2616 listed "Trailers", the TE token).
     */
    private static final AsciiString[] HOP_BY_HOP = {HttpHeaderNames.CONNECTION, PROXY_CONNECTION,
            HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.TE, HttpHeaderNames.UPGRADE,
            HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION};

    private ProxyHeaders() {
    }

    /**
     * Removes the fields named by {@code Connection} and the hop-by-hop fields. {@code Transfer-Encoding} stays:
     * the codec re-frames the body on the next hop with the same (chunked) coding; HTTP/2 drops it.
     *
     * @param keepUpgrade a WebSocket upgrade: {@code Connection: upgrade} and {@code Upgrade} are forwarded
     */
    static void removeHopByHop(HttpHeaders headers, boolean keepUpgrade) {
        String upgrade = keepUpgrade ? headers.get(HttpHeaderNames.UPGRADE) : null;
        if (headers.contains(HttpHeaderNames.CONNECTION)) {
            Iterator<? extends CharSequence> connections =
                    headers.valueCharSequenceIterator(HttpHeaderNames.CONNECTION);
            CharSequence first = connections.next();
            if (!connections.hasNext()) {
                // one Connection field, the common case: read without getAll's list (its wrapper, list and
                // iterator); nothing is removed while the iterator is live
                removeNamedIn(headers, first.toString());
            } else {
                for (String connection : headers.getAll(HttpHeaderNames.CONNECTION)) {
                    removeNamedIn(headers, connection);
                }
            }
        }
        for (AsciiString name : HOP_BY_HOP) {
            headers.remove(name);
        }
        if (upgrade != null) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            headers.set(HttpHeaderNames.UPGRADE, upgrade);
        }
    }

    /**
     * Removes the fields a {@code Connection} value names (a comma-separated list of tokens, each with optional
     * white space around it). Tokens that are no field to remove here ({@code close}) or that {@link #HOP_BY_HOP}
     * removes anyway ({@code keep-alive}, {@code upgrade}) are skipped without a lookup; so are the message's
     * framing and target ({@code Transfer-Encoding}, {@code Content-Length}, {@code Host}), which describe the
     * message, not the connection: removing {@code Content-Length} would forward a body without its length, which
     * the next hop reads as further requests (request smuggling) or a response without an end. A value that is one
     * token is not copied.
     */
    private static void removeNamedIn(HttpHeaders headers, String value) {
        int n = value.length();
        int start = 0;
        while (start < n) {
            int comma = value.indexOf(',', start);
            int end = comma < 0 ? n : comma;
            int b = start;
            int e = end;
            while (b < e && isWhiteSpace(value.charAt(b))) {
                b++;
            }
            while (e > b && isWhiteSpace(value.charAt(e - 1))) {
                e--;
            }
            if (e > b) {
                String name = value.substring(b, e);
                if (!isKept(name)) {
                    headers.remove(name);
                }
            }
            start = end + 1;
        }
    }

    /** Tokens of a {@code Connection} value that name no field to remove (see {@link #removeNamedIn}). */
    private static final AsciiString[] NOT_REMOVED_BY_CONNECTION = {HttpHeaderValues.KEEP_ALIVE,
            HttpHeaderValues.CLOSE, HttpHeaderValues.UPGRADE, HttpHeaderNames.TRANSFER_ENCODING,
            HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.HOST};

    private static boolean isKept(String token) {
        for (AsciiString kept : NOT_REMOVED_BY_CONNECTION) {
            if (AsciiString.contentEqualsIgnoreCase(token, kept)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isWhiteSpace(char c) {
        return c == ' ' || c == '\t';
    }

    /** Whether the request asks to switch to WebSocket ({@code Connection: upgrade} and {@code Upgrade: websocket}). */
    static boolean isWebSocketUpgrade(HttpRequest request) {
        HttpHeaders h = request.headers();
        return h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                && h.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    /**
     * Whether the body's framing is one a proxy may forward (RFC 9112 6.1, 6.3): a {@code Transfer-Encoding} must
     * end in {@code chunked}, and a {@code Content-Length} list must agree (Netty's decoder already drops a
     * {@code Content-Length} beside {@code Transfer-Encoding}).
     */
    static boolean hasValidFraming(HttpRequest request) {
        HttpHeaders h = request.headers();
        // contains first: getAll makes its list (and a wrapper) even for a field that is not there, the usual case
        List<String> te = h.contains(HttpHeaderNames.TRANSFER_ENCODING)
                ? h.getAll(HttpHeaderNames.TRANSFER_ENCODING) : List.of();
        if (!te.isEmpty()) {
            String all = String.join(",", te).trim();
            int comma = all.lastIndexOf(',');
            String lastCoding = (comma < 0 ? all : all.substring(comma + 1)).trim();
            if (!lastCoding.equalsIgnoreCase("chunked")) {
                return false;
            }
        }
        if (!h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            return true;
        }
        List<String> cl = h.getAll(HttpHeaderNames.CONTENT_LENGTH);
        if (cl.size() > 1 && cl.stream().distinct().count() > 1) {
            return false;
        }
        return true;
    }

    /**
     * Whether a response's body is delimited by the close of its connection: one that has a body (not a 1xx, 204 or
     * 304 status, not the answer to HEAD) and a {@code Transfer-Encoding} without {@code chunked} (RFC 9112 6.3, item
     * 4: {@code Transfer-Encoding: gzip} alone, which Netty's decoder reads to the close, as the RFC asks), or neither
     * {@code Transfer-Encoding} nor {@code Content-Length} (item 8).
     */
    static boolean endsAtClose(HttpResponse response, HttpMethod requestMethod) {
        int code = response.status().code();
        if (code < 200 || code == 204 || code == 304 || HttpMethod.HEAD.equals(requestMethod)) {
            return false;
        }
        HttpHeaders h = response.headers();
        if (h.contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            return !HttpUtil.isTransferEncodingChunked(response);
        }
        return !h.contains(HttpHeaderNames.CONTENT_LENGTH);
    }

    /**
     * Turns a request whose target is in absolute form ({@code GET http://shop.example/api HTTP/1.1}) into origin
     * form: its target becomes the path and query, its {@code Host} the target's authority, which a server uses
     * instead of the received {@code Host} (RFC 9112 3.2.2), so that the request is routed, and seen by the
     * endpoint, as the host and path it names; one without a path gets {@code /}, for {@code OPTIONS} too, as nginx
     * reads it. A target in origin form is left as it is.
     *
     * @return {@code false} when the target is neither in origin form nor an absolute {@code http} or {@code https}
     *     URI with a host (a 400); the asterisk form ({@code OPTIONS *}) included, which nginx's request line parser
     *     refuses ("client sent invalid request") and ingress-nginx so answers 400
     */
    static boolean toOriginForm(HttpRequest request) {
        String target = request.uri();
        if (target.startsWith("/")) {
            return true;
        }
        // scheme "://" authority [ path ] [ "?" query ] (RFC 9112 3.2.2), split by hand: the path and query are
        // forwarded as sent, as an origin-form target is (java.net.URI would refuse characters the decoder took)
        int sep = target.indexOf("://");
        if (sep <= 0 || !(target.regionMatches(true, 0, "http", 0, sep) && sep == 4
                || target.regionMatches(true, 0, "https", 0, sep) && sep == 5)) {
            return false;
        }
        int start = sep + 3;
        int end = start;
        while (end < target.length() && target.charAt(end) != '/' && target.charAt(end) != '?') {
            end++;
        }
        String authority = target.substring(start, end);
        if (authority.isEmpty() || authority.indexOf('@') >= 0 || target.indexOf('#') >= 0) {
            return false; // no host, user information (RFC 9110 4.2.4) or a fragment: not a request target
        }
        String rest = target.substring(end);
        // no path is "/", OPTIONS too: nginx's, where RFC 9112 3.2.4 would forward "*" (which nginx refuses)
        request.setUri(rest.isEmpty() || rest.startsWith("?") ? "/" + rest : rest);
        request.headers().set(HttpHeaderNames.HOST, authority);
        return true;
    }

    /**
     * Whether the request has the {@code Host} field HTTP/1.1 requires (RFC 9112 3.2): exactly one in an HTTP/1.1
     * request, at most one in an HTTP/1.0 one. A second {@code Host} would let the proxy route by one name and the
     * endpoint serve another.
     */
    static boolean hasValidHost(HttpRequest request) {
        Iterator<? extends CharSequence> hosts = request.headers().valueCharSequenceIterator(HttpHeaderNames.HOST);
        if (!hosts.hasNext()) {
            return !HttpVersion.HTTP_1_1.equals(request.protocolVersion());
        }
        hosts.next();
        return !hosts.hasNext();
    }

    /**
     * Whether a request target (HTTP/1.1's, or HTTP/2's {@code :path}) has no control character, white space or DEL
     * in it, as nginx's parsers want it ({@code ch <= 0x20 || ch == 0x7f}: "client sent invalid request", "invalid
     * :path header"): the target is forwarded in the endpoint's HTTP/1.1 request line as received, where a tab
     * would split it for a recipient that splits at any white space (RFC 9112 3), read as another target than the
     * one routed, and a NUL or ESC would reach the endpoint's logs and parsers.
     */
    static boolean isValidTarget(String target) {
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c <= 0x20 || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code host} (a {@code Host} value, or HTTP/2's {@code :authority}) is one nginx takes
     * ({@code ngx_http_validate_host}; else its 400 "client sent invalid host header"): no white space, control
     * character or {@code /} anywhere, no {@code ..}, and the host before the port (an IPv6 literal in brackets
     * whole) not empty once a trailing dot is dropped. Such a value is routed by and forwarded, and copied into
     * {@code X-Forwarded-Host}: one with {@code /} or {@code ..} could reach an endpoint that builds paths or URLs
     * from it.
     */
    static boolean isValidHost(CharSequence host) {
        int n = host.length();
        int hostEnd = n;
        boolean literal = false;
        boolean port = false;
        int dot = -2;
        for (int i = 0; i < n; i++) {
            char c = host.charAt(i);
            switch (c) {
                case '.' -> {
                    if (dot == i - 1) {
                        return false;
                    }
                    dot = i;
                }
                case ':' -> {
                    if (!literal && !port) {
                        hostEnd = i;
                        port = true;
                    }
                }
                case '[' -> literal |= i == 0;
                case ']' -> {
                    if (literal && !port) {
                        hostEnd = i + 1;
                        port = true;
                        literal = false;
                    }
                }
                default -> {
                    if (c == '/' || c <= 0x20 || c == 0x7f) {
                        return false;
                    }
                }
            }
        }
        return (dot == hostEnd - 1 ? hostEnd - 1 : hostEnd) > 0;
    }

    /**
     * Adds X-Forwarded-For (appended: a client's own value is kept before the client's address),
     * X-Forwarded-Proto and X-Forwarded-Host (the Host header as received, port included), and X-Real-IP (the client's
     * address, replacing a value the client sent, as ingress-nginx sets it); drops a {@code Proxy} field (httpoxy).
     *
     * @param clientAddress the client's IP address as text
     */
    static void addForwarded(HttpHeaders headers, String clientAddress, String proto) {
        headers.set(X_REAL_IP, clientAddress);
        headers.remove(PROXY);
        if (headers.contains(X_FORWARDED_FOR)) {
            headers.set(X_FORWARDED_FOR, String.join(", ", headers.getAll(X_FORWARDED_FOR)) + ", " + clientAddress);
        } else {
            headers.add(X_FORWARDED_FOR, clientAddress);
        }
        headers.set(X_FORWARDED_PROTO, proto);
        String host = headers.get(HttpHeaderNames.HOST);
        if (host != null && !host.isEmpty()) { // empty: an HTTP/1.0 request without Host (Http1Requests.forwarded)
            headers.set(X_FORWARDED_HOST, host);
        } else {
            headers.remove(X_FORWARDED_HOST);
        }
    }
}
