package io.svcproxy.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * Strict parsers for IP literals and {@code IP:PORT}. They never resolve a host name: text that is not an
 * IPv4 dotted quad or an IPv6 literal (RFC 4291 §2.2, without a zone) is rejected.
 */
public final class Addresses {
    private Addresses() {
    }

    /**
     * Returns the address written in {@code text}: an IPv4 dotted quad without leading zeros ({@code 10.0.0.5}, as
     * Kubernetes has required since 1.20) or an IPv6 literal ({@code fd00::1}, {@code ::ffff:10.0.0.5}).
     *
     * @throws IllegalArgumentException if {@code text} is not such a literal
     */
    public static InetAddress parseIp(String text) {
        return parseIp(text, false);
    }

    /**
     * Returns the IP address as kube-proxy reads one from the Kubernetes API ({@code netutils.ParseIPSloppy}, Go
     * 1.16's {@code net.ParseIP}): an IPv4 octet may have leading zeros, read as decimal ({@code 10.0.0.010} is
     * 10.0.0.10). The API server took such addresses before its strict validation, so objects stored then hold them.
     *
     * @throws IllegalArgumentException if {@code text} is not an IP address
     */
    public static InetAddress parseIpSloppy(String text) {
        return parseIp(text, true);
    }

    private static InetAddress parseIp(String text, boolean sloppy) {
        byte[] bytes = text.indexOf(':') >= 0 ? parseIpv6(text) : parseIpv4(text, sloppy);
        if (bytes == null) {
            throw new IllegalArgumentException(text + " (expected: an IPv4 or IPv6 address)");
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(text + " (expected: an IPv4 or IPv6 address)", e);
        }
    }

    /**
     * Returns the socket address written as {@code IP:PORT} or {@code [IPv6]:PORT}, port 0..65535 (0: any free
     * port, for tests).
     *
     * @throws IllegalArgumentException if {@code text} is not of that form
     */
    public static InetSocketAddress parseSocketAddress(String text) {
        String expected = text + " (expected: IP:PORT, such as 127.0.0.1:9901 or [::1]:9901)";
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf("]:");
            if (close < 0) {
                throw new IllegalArgumentException(expected);
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
            if (host.indexOf(':') < 0) {
                throw new IllegalArgumentException(expected);
            }
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0 || text.indexOf(':') != colon) {
                throw new IllegalArgumentException(expected);
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
        }
        byte[] bytes = host.indexOf(':') >= 0 ? parseIpv6(host) : parseIpv4(host);
        if (bytes == null || !port.matches("[0-9]{1,5}") || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException(expected);
        }
        return new InetSocketAddress(parseIp(host), Integer.parseInt(port));
    }

    /** Returns {@code ip:port}, with the IPv6 address in brackets and in its RFC 5952 form ({@code [fd00::1]:80}). */
    public static String format(InetAddress ip, int port) {
        String host = format(ip);
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    /** Returns the address in its canonical text: dotted quad, or RFC 5952 IPv6 ({@code fd00::1}, lowercase). */
    public static String format(InetAddress ip) {
        return io.svcproxy.balancer.Backends.formatIp(ip);
    }

    private static byte[] parseIpv4(String s) {
        return parseIpv4(s, false);
    }

    private static byte[] parseIpv4(String s, boolean leadingZeros) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (leadingZeros) {
                p = withoutLeadingZeros(p); // "010" is 10, "000" is 0
            }
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                return null;
            }
            int v = 0;
            for (int k = 0; k < p.length(); k++) {
                char c = p.charAt(k);
                if (c < '0' || c > '9') {
                    return null;
                }
                v = v * 10 + (c - '0');
            }
            if (v > 255) {
                return null;
            }
            bytes[i] = (byte) v;
        }
        return bytes;
    }

    /**
     * {@code digits} without its leading zeros, keeping the last character ("010" is "10", "000" is "0"): how Go's
     * {@code dtoi} reads a decimal part. Per address of a mapping, so no regular expression.
     */
    static String withoutLeadingZeros(String digits) {
        int k = 0;
        while (k < digits.length() - 1 && digits.charAt(k) == '0') {
            k++;
        }
        return k == 0 ? digits : digits.substring(k);
    }

    private static byte[] parseIpv6(String s) {
        if (s.length() > 45) {
            return null;
        }
        int gap = s.indexOf("::");
        if (gap >= 0 && s.indexOf("::", gap + 1) >= 0) {
            return null;
        }
        String head = gap >= 0 ? s.substring(0, gap) : s;
        String tail = gap >= 0 ? s.substring(gap + 2) : "";
        int[] headGroups = groups(head, gap < 0);
        int[] tailGroups = gap >= 0 ? groups(tail, true) : new int[0];
        if (headGroups == null || tailGroups == null) {
            return null;
        }
        int total = headGroups.length + tailGroups.length;
        if (gap < 0 ? total != 8 : total > 7) {
            return null;
        }
        byte[] bytes = new byte[16];
        for (int i = 0; i < headGroups.length; i++) {
            bytes[2 * i] = (byte) (headGroups[i] >> 8);
            bytes[2 * i + 1] = (byte) headGroups[i];
        }
        int start = 8 - tailGroups.length;
        for (int i = 0; i < tailGroups.length; i++) {
            bytes[2 * (start + i)] = (byte) (tailGroups[i] >> 8);
            bytes[2 * (start + i) + 1] = (byte) tailGroups[i];
        }
        return bytes;
    }

    /** Parses colon-separated hex groups; the last one may be a dotted quad (two groups) when allowed. */
    private static int[] groups(String s, boolean ipv4Last) {
        if (s.isEmpty()) {
            return new int[0];
        }
        String[] parts = s.split(":", -1);
        int[] out = new int[parts.length + 1];
        int n = 0;
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (i == parts.length - 1 && ipv4Last && p.indexOf('.') >= 0) {
                byte[] v4 = parseIpv4(p);
                if (v4 == null) {
                    return null;
                }
                out[n++] = ((v4[0] & 0xff) << 8) | (v4[1] & 0xff);
                out[n++] = ((v4[2] & 0xff) << 8) | (v4[3] & 0xff);
                continue;
            }
            if (p.isEmpty() || p.length() > 4) {
                return null;
            }
            int v = 0;
            for (int k = 0; k < p.length(); k++) {
                int d = Character.digit(p.charAt(k), 16);
                if (d < 0) {
                    return null;
                }
                v = v * 16 + d;
            }
            out[n++] = v;
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /**
     * Whether a listener bound at {@code listener} takes the connections to {@code ip:port}: the same port, at that
     * address or at every address (a wildcard, or no address). Two listeners clash when either takes the other's.
     */
    static boolean takes(InetSocketAddress listener, InetAddress ip, int port) {
        InetAddress at = listener.getAddress();
        return listener.getPort() == port && (at == null || at.isAnyLocalAddress() || ip.isAnyLocalAddress()
                || at.equals(ip));
    }
}
