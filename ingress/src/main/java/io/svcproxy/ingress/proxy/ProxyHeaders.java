package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The header rewriting of a reverse proxy: hop-by-hop fields (RFC 9110 7.6.1) and X-Forwarded-*. */
final class ProxyHeaders {
    /**
     * The fields that describe one connection, not the message (RFC 9110 7.6.1 and RFC 2616 13.5.1's list):
     * never forwarded. {@code Transfer-Encoding} is handled by the codecs (see {@link #removeHopByHop}).
     */
    private static final List<CharSequence> HOP_BY_HOP = List.of(HttpHeaderNames.CONNECTION, "proxy-connection",
            HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.TE, HttpHeaderNames.UPGRADE, HttpHeaderNames.TRAILER,
            HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION);

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
        for (String connection : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : connection.split(",")) {
                String name = token.trim();
                if (!name.isEmpty() && !name.equalsIgnoreCase(HttpHeaderNames.TRANSFER_ENCODING.toString())) {
                    headers.remove(name);
                }
            }
        }
        for (CharSequence name : HOP_BY_HOP) {
            headers.remove(name);
        }
        if (upgrade != null) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            headers.set(HttpHeaderNames.UPGRADE, upgrade);
        }
    }

    /** Whether the request asks to switch to WebSocket ({@code Connection: upgrade} and {@code Upgrade: websocket}). */
    static boolean isWebSocketUpgrade(HttpRequest request) {
        HttpHeaders h = request.headers();
        return h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                && h.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    /** Removes the {@code x-http2-*} fields Netty adds when it turns an HTTP/2 stream into an HTTP/1.1 message. */
    static void removeHttp2Extensions(HttpHeaders headers) {
        List<String> names = null;
        for (Map.Entry<String, String> e : headers) {
            if (e.getKey().regionMatches(true, 0, "x-http2-", 0, 8)) {
                if (names == null) {
                    names = new ArrayList<>();
                }
                names.add(e.getKey());
            }
        }
        if (names != null) {
            names.forEach(headers::remove);
        }
    }

    /**
     * Whether the body's framing is one a proxy may forward (RFC 9112 6.1, 6.3): a {@code Transfer-Encoding} must
     * end in {@code chunked}, and a {@code Content-Length} list must agree (Netty's decoder already drops a
     * {@code Content-Length} beside {@code Transfer-Encoding}).
     */
    static boolean hasValidFraming(HttpRequest request) {
        List<String> te = request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!te.isEmpty()) {
            String all = String.join(",", te).trim();
            int comma = all.lastIndexOf(',');
            String lastCoding = (comma < 0 ? all : all.substring(comma + 1)).trim();
            if (!lastCoding.equalsIgnoreCase("chunked")) {
                return false;
            }
        }
        List<String> cl = request.headers().getAll(HttpHeaderNames.CONTENT_LENGTH);
        if (cl.size() > 1 && cl.stream().distinct().count() > 1) {
            return false;
        }
        return true;
    }

    /**
     * Adds X-Forwarded-For (appended: a client's own value is kept before the client's address),
     * X-Forwarded-Proto and X-Forwarded-Host (the Host header as received, port included).
     */
    static void addForwarded(HttpHeaders headers, InetSocketAddress client, String proto) {
        String clientAddress = client.getAddress().getHostAddress();
        List<String> earlier = headers.getAll("x-forwarded-for");
        String xff = earlier.isEmpty() ? clientAddress : String.join(", ", earlier) + ", " + clientAddress;
        headers.set("x-forwarded-for", xff);
        headers.set("x-forwarded-proto", proto);
        String host = headers.get(HttpHeaderNames.HOST);
        if (host != null) {
            headers.set("x-forwarded-host", host);
        } else {
            headers.remove("x-forwarded-host");
        }
    }
}
