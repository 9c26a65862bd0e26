package io.svcproxy.balancer;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/** Ordering and formatting of endpoints, shared by the schedulers, the config and the data plane. */
public final class Backends {
    /**
     * The SPEC's list order: by IP address (IPv4 before IPv6, then the address bytes as unsigned numbers),
     * then by port.
     */
    public static final Comparator<Backend> ORDER =
            Comparator.comparing(Backend::address, Backends::compareAddresses).thenComparingInt(Backend::port);

    private Backends() {
    }

    /** Compares two addresses numerically, IPv4 (4 bytes) before IPv6 (16 bytes). */
    public static int compareAddresses(InetAddress a, InetAddress b) {
        byte[] x = a.getAddress();
        byte[] y = b.getAddress();
        if (x.length != y.length) {
            return Integer.compare(x.length, y.length);
        }
        return Arrays.compareUnsigned(x, y);
    }

    /**
     * Returns {@code ip:port}, with the IPv6 address in brackets and in its RFC 5952 form ({@code [fd00::1]:80}), as
     * Kubernetes writes addresses: the text of endpoint labels, the admin API and the logs.
     */
    public static String format(InetAddress address, int port) {
        String host = formatIp(address);
        return (address instanceof Inet6Address ? "[" + host + "]" : host) + ":" + port;
    }

    /**
     * Returns the address in its canonical text: dotted quad, or RFC 5952 IPv6 ({@code fd00::1}, lowercase; no
     * scope), where {@link InetAddress#getHostAddress} writes every group ({@code fd00:0:0:0:0:0:0:1}).
     */
    public static String formatIp(InetAddress ip) {
        byte[] b = ip.getAddress();
        if (b.length == 4) {
            return ip.getHostAddress();
        }
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        // the longest run of two or more zero groups, the first of equals, becomes "::" (RFC 5952 §4.2)
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8;) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLength - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        return sb.toString();
    }

    /** Returns whether both lists hold the very same objects in the same order. */
    public static boolean sameElements(List<? extends Backend> a, List<? extends Backend> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i) != b.get(i)) {
                return false;
            }
        }
        return true;
    }
}
