package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ServiceExposure#admitsOnLoadBalancer}: kube-proxy's source ranges, taken per address family. */
class ServiceExposureTest {
    private static ServiceExposure ranges(String... cidrs) {
        return new ServiceExposure(ServiceType.LOAD_BALANCER, List.of(), List.of(),
                java.util.Arrays.stream(cidrs).map(Cidr::parse).toList(), TrafficPolicy.CLUSTER);
    }

    private static InetAddress ip(String text) {
        return Addresses.parseIp(text);
    }

    @Test
    void theRangesOfTheClientsFamilyApplyAndNoneOfItAdmitsAll() {
        ServiceExposure v4 = ranges("127.0.50.0/24");
        assertThat(v4.admitsOnLoadBalancer(ip("127.0.50.9"))).isTrue();
        assertThat(v4.admitsOnLoadBalancer(ip("127.0.51.9"))).isFalse();
        // an IPv6 client is served by the Service's IPv6 half, which has no range of its family: all admitted
        assertThat(v4.admitsOnLoadBalancer(ip("::1"))).isTrue();
        ServiceExposure both = ranges("127.0.50.0/24", "fd00:50::/64");
        assertThat(both.admitsOnLoadBalancer(ip("fd00:50::9"))).isTrue();
        assertThat(both.admitsOnLoadBalancer(ip("::1"))).isFalse();
    }

    @Test
    void aZeroLengthRangeAdmitsItsWholeFamilyAndUnreadableRangesNoOne() {
        ServiceExposure any4 = ranges("127.0.50.0/24", "0.0.0.0/0", "fd00:50::/64");
        assertThat(any4.admitsOnLoadBalancer(ip("127.0.99.1"))).isTrue();
        assertThat(any4.admitsOnLoadBalancer(ip("::1"))).isFalse();
        assertThat(ranges("::/0").admitsOnLoadBalancer(ip("::1"))).isTrue();
        assertThat(ranges().admitsOnLoadBalancer(ip("127.0.99.1"))).isTrue();
        ServiceExposure none = new ServiceExposure(ServiceType.LOAD_BALANCER, List.of(), List.of(), Cidr.NONE,
                TrafficPolicy.CLUSTER);
        assertThat(none.admitsOnLoadBalancer(ip("127.0.0.1"))).isFalse();
        assertThat(none.admitsOnLoadBalancer(ip("::1"))).isFalse();
    }
}
