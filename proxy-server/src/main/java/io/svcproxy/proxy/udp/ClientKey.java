package io.svcproxy.proxy.udp;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * A UDP client's address and port as the key of a listener's maps (its flows, its refused clients), hashed with a
 * seed drawn once per process. UDP sources cost nothing to forge, and {@code InetSocketAddress}'s own hash code is
 * the address's plus the port, unseeded: the clients {@code 10.0.0.0 + k} at port {@code 65535 - k} share one, and
 * since it is not Comparable, a HashMap bin of them is walked whole at every lookup (60,000 such flows took a
 * minute of an event loop's CPU). Here the address's hash code and the port are mixed with the seed, so a client
 * cannot choose its bin, as IPVS seeds its connection table's hash ({@code ip_vs_conn_rnd}) and conntrack its own.
 * An IPv6 address's hash code is the sum of its four words, which forged addresses can still share (reading its
 * bytes for the hash would allocate at every datagram); the keys are Comparable, so HashMap's tree bins find one of
 * those in O(log n), reading the bytes only then.
 *
 * <p>Mutable, so that a map's owner can look a datagram's client up without allocating: {@link #set} is for that
 * one probe of a single thread, never for a key held in a map ({@link #of}).
 */
final class ClientKey implements Comparable<ClientKey> {
    private static final long SEED = new SecureRandom().nextLong();

    private InetAddress address;
    private int port;
    private int hash;

    /** Returns a key of {@code client}, to be held in a map. */
    static ClientKey of(InetSocketAddress client) {
        return new ClientKey().set(client);
    }

    /** Makes this key {@code client}'s and returns it. */
    ClientKey set(InetSocketAddress client) {
        address = client.getAddress();
        port = client.getPort();
        // Inet4Address's hash code is its address: with the port, 48 bits that tell every IPv4 client apart
        long x = ((address.hashCode() & 0xFFFF_FFFFL) << 16 | port) ^ SEED;
        x = (x ^ (x >>> 33)) * 0xFF51_AFD7_ED55_8CCDL; // MurmurHash3's fmix64
        x = (x ^ (x >>> 33)) * 0xC4CE_B9FE_1A85_EC53L;
        hash = (int) (x ^ (x >>> 33));
        return this;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClientKey k && hash == k.hash && port == k.port && address.equals(k.address);
    }

    /** Orders by port, then address bytes: 0 exactly when {@link #equals} (InetAddress compares the bytes alone). */
    @Override
    public int compareTo(ClientKey o) {
        int c = Integer.compare(port, o.port);
        return c != 0 ? c : Arrays.compare(address.getAddress(), o.address.getAddress());
    }

    @Override
    public String toString() {
        return new InetSocketAddress(address, port).toString();
    }
}
