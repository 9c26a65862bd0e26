package io.svcproxy.ingress.proxy;

import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.RoutingTable;

/**
 * The {@code 308} that sends a plain-HTTP request to HTTPS, as ingress-nginx's {@code ssl-redirect} does: the
 * decision is the routing table's ({@link RoutingTable#redirectsToHttps}); this builds the {@code Location}. It
 * names the request's host without its port, the HTTPS listener's port unless it is 443, and the request target as
 * received (query and trailing slash kept; ingress-nginx drops a trailing slash unless told to keep it).
 */
final class HttpsRedirects {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private HttpsRedirects() {
    }

    /**
     * The {@code Location} to answer a request of a plain-HTTP listener with, or {@code null} when it is routed as
     * usual: an HTTPS listener, no redirect wanted, no host to name (HTTP/1.0 without {@code Host}), or no HTTPS port
     * to name ({@link IngressServer#setHttpsPort}: 0). {@code target} is in origin form (an absolute form is made one,
     * and {@code OPTIONS *} refused, before routing); one that is not is not redirected.
     */
    static String location(ListenerSettings settings, RoutingTable<ServiceBackend> table,
                           Route<ServiceBackend> route, String hostHeader, String target) {
        int port = settings.httpsPort().get(); // 0 on the HTTPS listener, and without one: the common case ends here
        if (port == 0 || !"http".equals(settings.proto()) || !table.redirectsToHttps(route, hostHeader)) {
            return null;
        }
        String host = hostOf(hostHeader);
        if (host == null || !target.startsWith("/")) {
            return null;
        }
        String path = escapeControls(target);
        return port == 443 ? "https://" + host + path : "https://" + host + ":" + port + path;
    }

    /**
     * The target with what may not stand in a header value, or is no URI character, percent-encoded: controls,
     * space, DEL and bytes above 0x7F (the decoders pass them on in a target; a {@code Location} with one would
     * fail to be written). {@code target} itself when it has none.
     */
    static String escapeControls(String target) {
        StringBuilder out = null;
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            boolean escape = c <= 0x20 || c >= 0x7F;
            if (escape && out == null) {
                out = new StringBuilder(target.length() + 16).append(target, 0, i);
            }
            if (escape) {
                // a decoder's char is a byte (ISO-8859-1); anything wider goes as its UTF-8 bytes
                byte[] bytes = c <= 0xFF ? new byte[] {(byte) c}
                        : String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                for (byte b : bytes) {
                    out.append('%').append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
                }
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? target : out.toString();
    }

    /**
     * The host of a Host header without its port: a registered name or an IPv4 address (RFC 3986 reg-name
     * characters), or an IPv6 literal in brackets; {@code null} when empty or anything else.
     */
    static String hostOf(String hostHeader) {
        if (hostHeader == null || hostHeader.isEmpty()) {
            return null;
        }
        String host;
        if (hostHeader.charAt(0) == '[') {
            int close = hostHeader.indexOf(']');
            if (close < 0) {
                return null;
            }
            host = hostHeader.substring(0, close + 1);
            for (int i = 1; i < close; i++) {
                char c = host.charAt(i);
                if (!(c == ':' || c == '.' || Character.digit(c, 16) >= 0)) {
                    return null;
                }
            }
            return host;
        }
        int colon = hostHeader.indexOf(':');
        host = colon < 0 ? hostHeader : hostHeader.substring(0, colon);
        if (host.isEmpty()) {
            return null;
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || "-._~!$&'()*+,;=".indexOf(c) >= 0;
            if (!ok) {
                return null;
            }
        }
        return host;
    }
}
