package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.Test;

/** The data plane on the native epoll transport, which Linux machines (and so CI) must have. */
class EpollDataPlaneTest extends DataPlaneTest {
    @Override
    Transport transport() {
        return Transport.EPOLL;
    }

    @Test
    void epollIsAvailableHere() {
        assertThat(Epoll.isAvailable()).as("epoll: %s", Epoll.unavailabilityCause()).isTrue();
    }
}
