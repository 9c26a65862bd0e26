package io.svcproxy.balancer;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The key of the maps of clients (ClientIP affinity, connections per client): a client cannot choose its bin. From
 * helper-131's report: an IPv6 address's own hash code is the sum of its four words, so addresses of one /64 that
 * share it are free to pick, and InetAddress is not Comparable: a map's bin of them is searched whole.
 */
class ClientAddressTest {
    /** 10,000 addresses of one /64 whose InetAddress hash codes are all the same. */
    private static List<InetAddress> forgedIpv6() throws Exception {
        List<InetAddress> out = new ArrayList<>();
        for (int k = 0; k < 10_000; k++) {
            ByteBuffer b = ByteBuffer.allocate(16);
            b.putLong(0x2001_0db8_0000_0001L); // the /64
            // the last two words sum to one value for every k (bytes below 128: Inet6Address adds them signed)
            b.putInt((k / 128) << 8 | k % 128).putInt((100 - k / 128) << 8 | (127 - k % 128));
            out.add(InetAddress.getByAddress(b.array()));
        }
        return out;
    }

    @Test
    void forgedIpv6AddressesOfOneHashCodeGetDistinctKeys() throws Exception {
        List<InetAddress> forged = forgedIpv6();
        assertThat(forged.stream().map(InetAddress::hashCode).distinct()).as("the attack: one hash code").hasSize(1);
        Set<Integer> hashes = new HashSet<>();
        for (InetAddress a : forged) {
            hashes.add(ClientAddress.of(a).hashCode());
        }
        assertThat(hashes.size()).as("distinct key hashes of 10,000 forged clients").isGreaterThan(9_990);
    }

    @Test
    void keysAreEqualAndOrderedByTheAddressAlone() throws Exception {
        InetAddress a = InetAddress.getByName("fd00::1");
        InetAddress same = InetAddress.getByName("fd00:0::1");
        InetAddress v4 = InetAddress.getByName("127.0.0.1");
        InetAddress v4b = InetAddress.getByName("200.0.0.1");
        assertThat(ClientAddress.of(a)).isEqualTo(ClientAddress.of(same)).hasSameHashCodeAs(ClientAddress.of(same));
        assertThat(ClientAddress.of(a).compareTo(ClientAddress.of(same))).isZero();
        assertThat(ClientAddress.of(v4)).isNotEqualTo(ClientAddress.of(v4b));
        assertThat(ClientAddress.of(v4).compareTo(ClientAddress.of(v4b))).as("unsigned bytes").isNegative();
        assertThat(ClientAddress.of(v4).compareTo(ClientAddress.of(a))).as("IPv4 first").isNegative();
        assertThat(ClientAddress.of(a).address()).isSameAs(a);
    }
}
