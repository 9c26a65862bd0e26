package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.Test;

/** The data plane on Netty's io_uring transport ({@code proxy.transport: io_uring}), which this kernel must have. */
class IoUringDataPlaneTest extends DataPlaneTest {
    @Override
    Transport transport() {
        return Transport.IO_URING;
    }

    @Test
    void ioUringIsAvailableHere() {
        assertThat(IoUring.isAvailable()).as("io_uring: %s", IoUring.unavailabilityCause()).isTrue();
    }
}
