package io.svcproxy.ingress.routing;

import java.util.Locale;

/** Host names as rules write them and as requests carry them. */
final class Hosts {
    private Hosts() {
    }

    /** A rule host is a DNS name, optionally with a leading {@code *.} wildcard of one label; no port, no IP. */
    static void checkRuleHost(String host) {
        String name = host.startsWith("*.") ? host.substring(2) : host;
        if (name.isEmpty() || name.contains("*")) {
            throw new IllegalArgumentException("host: " + host
                    + " (expected: a DNS name, or *. followed by a DNS name for a wildcard of one label)");
        }
        for (String label : name.split("\\.", -1)) {
            if (!label.matches("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")) {
                throw new IllegalArgumentException("host: " + host
                        + " (expected: a DNS name of labels [a-z0-9-], 1 to 63 characters, not starting or ending in -)");
            }
        }
        if (name.chars().allMatch(c -> c == '.' || Character.isDigit(c))) {
            throw new IllegalArgumentException("host: " + host + " (expected: a DNS name, not an IP address)");
        }
    }

    /**
     * The request's host as the table keys it: lower case, port removed (an IPv6 literal keeps its brackets),
     * one trailing dot removed. {@code null} or empty stays empty. The host ends at the first colon, as nginx's
     * {@code ngx_http_validate_host} (ingress-nginx's nginx) and the proxy's own Host check and redirect read it:
     * {@code Host: shop.example:80:443} is routed as {@code shop.example}, not as a host {@code shop.example:80}
     * that no rule names.
     */
    static String normalize(String hostHeader) {
        if (hostHeader == null || hostHeader.isEmpty()) {
            return "";
        }
        String h = hostHeader;
        if (h.charAt(0) == '[') {
            int close = h.indexOf(']');
            h = close < 0 ? h : h.substring(0, close + 1);
        } else {
            int colon = h.indexOf(':');
            if (colon >= 0) {
                h = h.substring(0, colon);
            }
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h.toLowerCase(Locale.ROOT);
    }
}
