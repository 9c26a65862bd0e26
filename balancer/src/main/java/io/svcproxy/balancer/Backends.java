package io.svcproxy.balancer;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.Comparator;

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

    /** Returns {@code ip:port}, with brackets around an IPv6 address. */
    public static String format(InetAddress address, int port) {
        String host = address.getHostAddress();
        return (address instanceof Inet6Address ? "[" + host + "]" : host) + ":" + port;
    }
}
