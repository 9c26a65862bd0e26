package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import org.junit.jupiter.api.Test;

/**
 * {@link FlowEnd#refused}: which failures of a flow socket say the endpoint cannot be reached (counted as
 * {@code unreachable} and for outlier detection) rather than a failure of the proxy's own ({@code error}).
 */
class UdpRefusedTest {
    @Test
    void portHostAndNetworkUnreachableAreRefusalsAndOtherFailuresAreNot() {
        assertThat(FlowEnd.refused(new PortUnreachableException())).isTrue();
        assertThat(FlowEnd.refused(new IOException("recvfrom(..) failed: Connection refused"))).isTrue();
        // EHOSTUNREACH, as Java names it and as Netty's native errors word it
        assertThat(FlowEnd.refused(new NoRouteToHostException())).isTrue();
        assertThat(FlowEnd.refused(new IOException("sendto(..) failed: No route to host"))).isTrue();
        // ENETUNREACH
        assertThat(FlowEnd.refused(new IOException("sendto(..) failed: Network is unreachable"))).isTrue();
        assertThat(FlowEnd.refused(new IOException("sendto(..) failed: Resource temporarily unavailable")))
                .isFalse();
        assertThat(FlowEnd.refused(new IOException("newSocketDgram(..) failed: Too many open files"))).isFalse();
    }
}
