package io.svcproxy.balancer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class IpvsHashTest {
    private static int bucket(String ip, int port) throws Exception {
        return IpvsHash.bucket(IpvsHash.fold(InetAddress.getByName(ip)), port, 0);
    }

    @Test
    void hashesClientAddressesToTheDocumentedBuckets() throws Exception {
        assertThat(bucket("10.0.0.1", 0)).isEqualTo(39);
        assertThat(bucket("10.0.0.2", 0)).isEqualTo(137);
        assertThat(bucket("10.244.1.7", 0)).isEqualTo(54);
        assertThat(bucket("192.168.1.10", 0)).isEqualTo(248);
        assertThat(bucket("10.0.0.1", 40000)).isEqualTo(203);
    }

    @Test
    void hash32TakesTheTopBitsOfTheGoldenRatioProduct() {
        assertThat(IpvsHash.hash32(0x0A000001, 8)).isEqualTo((int) ((0x0A000001L * 0x61C88647L & 0xFFFFFFFFL) >>> 24));
        assertThat(IpvsHash.hash32(-1, 32)).isEqualTo(-0x61C88647);
    }

    @Test
    void foldsIpv4AsHostOrderNumberAndIpv6AsXorOfWords() throws Exception {
        assertThat(IpvsHash.fold(InetAddress.getByName("10.0.0.1"))).isEqualTo(0x0A000001);
        assertThat(IpvsHash.fold(InetAddress.getByName("2001:db8::1:0:0:1")))
                .isEqualTo(0x20010db8 ^ 0 ^ 0x00010000 ^ 0x00000001);
    }

    @Test
    void addsTheOffsetModulo256() throws Exception {
        int fold = IpvsHash.fold(InetAddress.getByName("10.0.0.1"));
        assertThat(IpvsHash.bucket(fold, 0, 300)).isEqualTo((39 + 300) & 255);
    }
}
