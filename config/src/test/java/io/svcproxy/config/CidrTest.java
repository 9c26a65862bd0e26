package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class CidrTest {

    private static InetAddress ip(String s) {
        return Addresses.parseIp(s);
    }

    @Test
    void containsTheAddressesOfItsPrefixOnly() {
        Cidr c = Cidr.parse("127.0.1.0/24");
        assertThat(c.contains(ip("127.0.1.0"))).isTrue();
        assertThat(c.contains(ip("127.0.1.255"))).isTrue();
        assertThat(c.contains(ip("127.0.2.0"))).isFalse();
        assertThat(c.contains(ip("127.0.0.255"))).isFalse();
    }

    @Test
    void handlesPrefixesThatDoNotEndOnAByte() {
        Cidr c = Cidr.parse("127.0.0.0/9");
        assertThat(c.contains(ip("127.127.255.255"))).isTrue();
        assertThat(c.contains(ip("127.128.0.0"))).isFalse();
        Cidr host = Cidr.parse("127.0.20.7/32");
        assertThat(host.contains(ip("127.0.20.7"))).isTrue();
        assertThat(host.contains(ip("127.0.20.6"))).isFalse();
    }

    @Test
    void zeroPrefixContainsEveryAddressOfItsFamilyOnly() {
        assertThat(Cidr.parse("0.0.0.0/0").contains(ip("203.0.113.9"))).isTrue();
        assertThat(Cidr.parse("0.0.0.0/0").contains(ip("2001:db8::1"))).isFalse();
        assertThat(Cidr.parse("::/0").contains(ip("2001:db8::1"))).isTrue();
        assertThat(Cidr.parse("::/0").contains(ip("127.0.0.1"))).isFalse();
    }

    @Test
    void ipv6() {
        Cidr c = Cidr.parse("2001:db8:0:8000::/49");
        assertThat(c.contains(ip("2001:db8:0:8000::1"))).isTrue();
        assertThat(c.contains(ip("2001:db8:0:ffff::1"))).isTrue();
        assertThat(c.contains(ip("2001:db8:0:7fff::1"))).isFalse();
        assertThat(c).hasToString("2001:db8:0:8000:0:0:0:0/49");
    }

    @Test
    void refusesWhatIsNotARange() {
        for (String bad : List.of("127.0.0.0", "127.0.0.0/33", "::/129", "127.0.0.1/8", "127.0.0.0/x", "127.0.0.0/-1",
                "host/8", "127.0.0.0/", "127.0.0.0/08", "::ffff:127.0.0.0/8", "::ffff:127.0.0.0/104")) {
            assertThatThrownBy(() -> Cidr.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void anIpv4MappedNetworkOrALeadingZeroSaysSo() {
        // ::ffff:127.0.0.0/8 read as 127.0.0.0/8 here and as ::/8 by Go: refused rather than taken either way
        assertThatThrownBy(() -> Cidr.parse("::ffff:127.0.0.0/8")).hasMessageContaining("IPv4-mapped");
        assertThatThrownBy(() -> Cidr.parse("127.0.0.0/08")).hasMessageContaining("leading zero");
    }

    @Test
    void parseNetworkClearsHostBitsAsGoDoesAndRefusesTheRest() {
        assertThat(Cidr.parseNetwork("192.0.2.7/24")).isEqualTo(Cidr.parse("192.0.2.0/24"));
        assertThat(Cidr.parseNetwork("127.0.0.1/9")).isEqualTo(Cidr.parse("127.0.0.0/9"));
        assertThat(Cidr.parseNetwork("2001:db8::1/32")).isEqualTo(Cidr.parse("2001:db8::/32"));
        assertThat(Cidr.parseNetwork("127.1.2.3/32")).isEqualTo(Cidr.parse("127.1.2.3/32"));
        assertThat(Cidr.parseNetwork("127.1.2.3/0")).isEqualTo(Cidr.parse("0.0.0.0/0"));
        for (String bad : List.of("127.0.0.0", "127.0.0.0/33", "::/129", "127.0.0.0/x", "host/8", "127.0.0.0/")) {
            assertThatThrownBy(() -> Cidr.parseNetwork(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void sourceRangesAdmitAnyClientWhenEmptyAndOnlyClientsInsideOtherwise() {
        ServiceExposure open = new ServiceExposure(ServiceType.LOAD_BALANCER, List.of(), List.of(ip("127.0.31.1")),
                List.of(), TrafficPolicy.CLUSTER);
        assertThat(open.admitsOnLoadBalancer(ip("192.0.2.1"))).isTrue();
        ServiceExposure ranged = new ServiceExposure(ServiceType.LOAD_BALANCER, List.of(),
                List.of(ip("127.0.31.1")), List.of(Cidr.parse("127.0.21.0/24"), Cidr.parse("127.0.22.5/32")),
                TrafficPolicy.CLUSTER);
        assertThat(ranged.admitsOnLoadBalancer(ip("127.0.21.200"))).isTrue();
        assertThat(ranged.admitsOnLoadBalancer(ip("127.0.22.5"))).isTrue();
        assertThat(ranged.admitsOnLoadBalancer(ip("127.0.22.6"))).isFalse();
        // an IPv6 client reaches the Service's IPv6 half, to which no range of its family applies: admitted, as
        // kube-proxy's IPv6 proxier admits it (ServiceExposureTest)
        assertThat(ranged.admitsOnLoadBalancer(ip("::1"))).isTrue();
    }
}
