package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetSocketAddress;
import java.util.List;

/** The header rewriting of a reverse proxy: hop-by-hop fields (RFC 9110 7.6.1) and X-Forwarded-*. */
final class ProxyHeaders {
    private static final List<CharSequence> HOP_BY_HOP = List.of(HttpHeaderNames.CONNECTION, "proxy-connection",
            HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.TE, HttpHeaderNames.UPGRADE, HttpHeaderNames.TRAILER,
            HttpHeaderNames.PROXY_AUTHENTICATE);

    private ProxyHeaders() {
    }

    /**
     * Removes the fields named by {@code Connection} and the hop-by-hop fields. {@code Transfer-Encoding} stays:
     * the codec re-frames the body on the next hop with the same (chunked) coding.
     */
    static void removeHopByHop(HttpHeaders headers) {
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
