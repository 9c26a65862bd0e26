package io.svcproxy.balancer;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;

/**
 * A client's address as the key of a map of clients (ClientIP affinity, connections per client), hashed with a seed
 * drawn once per process. {@code InetAddress}'s own hash code is unseeded, and an IPv6 address's is the sum of its
 * four 32-bit words: anyone with a /64 can pick any number of addresses that share one, and since InetAddress is not
 * Comparable, a hash map's bin of them is searched whole at every lookup (a pick under ClientIP affinity, an admit
 * under {@code maxConnectionsPerClient}). Here every byte of the address is mixed with the seed, so a client cannot
 * choose its bin, as IPVS seeds its tables' hashes; and the keys are Comparable (by their bytes), so a crowded bin
 * is still searched in O(log n). An IPv4 address costs no allocation (its hash code is its 32 bits); an IPv6 one its
 * bytes' copy.
 */
public final class ClientAddress implements Comparable<ClientAddress> {
    private static final long SEED = new SecureRandom().nextLong();

    private final InetAddress address;
    private final int hash;

    private ClientAddress(InetAddress address, int hash) {
        this.address = address;
        this.hash = hash;
    }

    /** Returns the key of {@code address}. */
    public static ClientAddress of(InetAddress address) {
        Objects.requireNonNull(address, "address");
        long x;
        if (address instanceof Inet4Address) {
            x = mix((address.hashCode() & 0xFFFF_FFFFL) ^ SEED);
        } else {
            ByteBuffer bytes = ByteBuffer.wrap(address.getAddress());
            x = SEED;
            while (bytes.remaining() >= Long.BYTES) {
                x = mix(x ^ bytes.getLong());
            }
        }
        return new ClientAddress(address, (int) (x ^ (x >>> 32)));
    }

    /** MurmurHash3's fmix64: every bit of the input moves every bit of the output. */
    private static long mix(long x) {
        x = (x ^ (x >>> 33)) * 0xFF51_AFD7_ED55_8CCDL;
        x = (x ^ (x >>> 33)) * 0xC4CE_B9FE_1A85_EC53L;
        return x ^ (x >>> 33);
    }

    /** The address. */
    public InetAddress address() {
        return address;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClientAddress c && hash == c.hash && address.equals(c.address);
    }

    /** Orders by the address's bytes (IPv4 before IPv6): 0 exactly when {@link #equals}. */
    @Override
    public int compareTo(ClientAddress o) {
        boolean v4 = address instanceof Inet4Address;
        if (v4 != (o.address instanceof Inet4Address)) {
            return v4 ? -1 : 1;
        }
        if (v4) {
            return Integer.compareUnsigned(address.hashCode(), o.address.hashCode());
        }
        return Arrays.compareUnsigned(address.getAddress(), o.address.getAddress());
    }

    @Override
    public String toString() {
        return address.getHostAddress();
    }
}
