package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import org.junit.jupiter.api.Test;

/**
 * {@link UdpListener#refused}: which failures of a flow socket say the endpoint cannot be reached (counted as
 * {@code unreachable} and for outlier detection) rather than a failure of the proxy's own ({@code error}).
 */
class UdpRefusedTest {
    @Test
    void portHostAndNetworkUnreachableAreRefusalsAndOtherFailuresAreNot() {
        assertThat(UdpListener.refused(new PortUnreachableException())).isTrue();
        assertThat(UdpListener.refused(new IOException("recvfrom(..) failed: Connection refused"))).isTrue();
        // EHOSTUNREACH, as Java names it and as Netty's native errors word it
        assertThat(UdpListener.refused(new NoRouteToHostException())).isTrue();
        assertThat(UdpListener.refused(new IOException("sendto(..) failed: No route to host"))).isTrue();
        // ENETUNREACH
        assertThat(UdpListener.refused(new IOException("sendto(..) failed: Network is unreachable"))).isTrue();
        assertThat(UdpListener.refused(new IOException("sendto(..) failed: Resource temporarily unavailable")))
                .isFalse();
        assertThat(UdpListener.refused(new IOException("newSocketDgram(..) failed: Too many open files"))).isFalse();
    }
}
