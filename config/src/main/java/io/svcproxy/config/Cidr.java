package io.svcproxy.config;

import java.net.InetAddress;

/**
 * An address range in CIDR notation, as in {@code loadBalancerSourceRanges}: {@code 10.0.0.0/8},
 * {@code 2001:db8::/32}. An IPv4 range never contains an IPv6 address and the reverse (an IPv4-mapped IPv6 client
 * is compared as the IPv4 address it maps, since Java hands those out as {@link java.net.Inet4Address}).
 *
 * @param network the range's first address (host bits zero)
 * @param prefix the number of leading bits that must match, 0..32 or 0..128
 */
public record Cidr(InetAddress network, int prefix) {
    public Cidr {
        int bits = network.getAddress().length * 8;
        if (prefix < 0 || prefix > bits) {
            throw new IllegalArgumentException("prefix " + prefix + " outside 0.." + bits);
        }
        byte[] b = network.getAddress();
        if (!equalPrefix(b, masked(b, prefix), bits)) {
            throw new IllegalArgumentException("host bits set in " + network.getHostAddress() + "/" + prefix);
        }
    }

    /**
     * Parses {@code ADDRESS/PREFIX}. As Kubernetes' validation of {@code loadBalancerSourceRanges}, host bits must be
     * zero ({@code 10.0.0.1/8} is refused, to catch a mistyped range rather than widen it silently).
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static Cidr parse(String text) {
        return parse(text, false);
    }

    /**
     * Ranges that no client is inside (the unspecified addresses, which no peer has): source ranges that admit no
     * one, where ranges were asked for and none could be read.
     */
    public static final java.util.List<Cidr> NONE = java.util.List.of(parse("0.0.0.0/32"), parse("::/128"));

    /**
     * Parses {@code ADDRESS/PREFIX} as the network it names, host bits cleared ({@code 192.0.2.7/24} is
     * {@code 192.0.2.0/24}), as Go's {@code net.ParseCIDR} reads it: for ranges the Kubernetes API server has
     * accepted (its validation does not require the host bits to be zero), which kube-proxy applies as that
     * network.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static Cidr parseNetwork(String text) {
        return parse(text, true, false);
    }

    /**
     * As {@link #parseNetwork}, read as kube-proxy reads a range from the Kubernetes API ({@code
     * netutils.ParseCIDRSloppy}): IPv4 octets and the prefix may have leading zeros, read as decimal.
     */
    public static Cidr parseNetworkSloppy(String text) {
        return parse(text, true, true);
    }

    private static Cidr parse(String text, boolean clearHostBits) {
        return parse(text, clearHostBits, false);
    }

    private static Cidr parse(String text, boolean clearHostBits, boolean sloppy) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("no /PREFIX");
        }
        String address = text.substring(0, slash);
        InetAddress ip = sloppy ? Addresses.parseIpSloppy(address) : Addresses.parseIp(address);
        if (address.indexOf(':') >= 0 && ip instanceof java.net.Inet4Address) {
            // ::ffff:10.0.0.0/8 reads as 10.0.0.0/8 here and as ::/8 to Go's ParseCIDR: neither is meant
            throw new IllegalArgumentException("an IPv4-mapped IPv6 network; write the IPv4 network itself");
        }
        String p = text.substring(slash + 1);
        if (sloppy) {
            p = Addresses.withoutLeadingZeros(p);
        }
        if (!p.matches("0|[1-9][0-9]{0,2}")) {
            throw new IllegalArgumentException("prefix " + p + " is not a number without a leading zero");
        }
        int prefix = Integer.parseInt(p);
        if (clearHostBits && prefix <= ip.getAddress().length * 8) {
            try {
                ip = InetAddress.getByAddress(masked(ip.getAddress(), prefix));
            } catch (java.net.UnknownHostException e) {
                throw new IllegalStateException(e); // cannot happen: an address of 4 or 16 bytes
            }
        }
        return new Cidr(ip, prefix);
    }

    /** Returns whether the address lies inside the range. */
    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        byte[] n = network.getAddress();
        if (a.length != n.length) {
            return false;
        }
        return equalPrefix(masked(a, prefix), n, prefix);
    }

    private static byte[] masked(byte[] b, int prefix) {
        byte[] out = b.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            out[i] &= (byte) (0xff << (8 - keep));
        }
        return out;
    }

    private static boolean equalPrefix(byte[] a, byte[] b, int bits) {
        for (int i = 0; i < a.length && i * 8 < bits; i++) {
            if (a[i] != b[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefix;
    }

}
