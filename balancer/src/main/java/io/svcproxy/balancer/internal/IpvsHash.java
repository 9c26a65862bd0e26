package io.svcproxy.balancer.internal;

import java.net.InetAddress;

/**
 * The address hashing of the IPVS {@code dh} and {@code sh} schedulers: the address fold and {@code hash_32} of
 * {@code include/linux/hash.h}.
 */
public final class IpvsHash {
    /** {@code GOLDEN_RATIO_32} of {@code include/linux/hash.h}. */
    public static final int GOLDEN_RATIO_32 = 0x61C88647;

    /** Bits of the dh and sh tables ({@code CONFIG_IP_VS_DH_TAB_BITS}, {@code CONFIG_IP_VS_SH_TAB_BITS}). */
    public static final int TAB_BITS = 8;

    /** Size of the dh and sh tables: 256 buckets. */
    public static final int TAB_SIZE = 1 << TAB_BITS;

    private static final int TAB_MASK = TAB_SIZE - 1;

    private IpvsHash() {
    }

    /**
     * Returns the address as the kernel folds it before hashing, in host order: an IPv4 address as its 32-bit
     * number, an IPv6 address as the xor of its four 32-bit words ({@code ntohl(ip6[0]^ip6[1]^ip6[2]^ip6[3])}).
     */
    public static int fold(InetAddress address) {
        byte[] a = address.getAddress();
        int fold = 0;
        for (int i = 0; i < a.length; i += 4) {
            fold ^= (a[i] & 0xFF) << 24 | (a[i + 1] & 0xFF) << 16 | (a[i + 2] & 0xFF) << 8 | (a[i + 3] & 0xFF);
        }
        return fold;
    }

    /** Returns {@code hash_32(val, bits)}: the top {@code bits} bits of {@code val * GOLDEN_RATIO_32 mod 2^32}. */
    public static int hash32(int val, int bits) {
        return (val * GOLDEN_RATIO_32) >>> (32 - bits);
    }

    /**
     * Returns the bucket of {@code ip_vs_sh_hashkey}: {@code (offset + hash_32(port + fold, 8)) & 255}, all in
     * unsigned 32-bit arithmetic. With port 0 and offset 0 it is also the bucket of {@code ip_vs_dh_hashkey}.
     */
    public static int bucket(int fold, int port, int offset) {
        return (offset + hash32(port + fold, TAB_BITS)) & TAB_MASK;
    }
}
