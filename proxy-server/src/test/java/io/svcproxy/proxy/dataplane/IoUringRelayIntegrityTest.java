package io.svcproxy.proxy.dataplane;

import org.junit.jupiter.api.Disabled;

/**
 * The relay's integrity on the io_uring transport: disabled for the write stall described in {@link
 * IoUringRelayTortureTest} (a write toward a peer that already sent its FIN and reads slowly; Netty's, see {@link
 * IoUringHalfClosedPeerWriteTest}); two of its four tests (an upload held back by the endpoint, a client FIN during
 * backpressure) each stalled in about one run in six here, both that pattern. The slow-reader, reset and
 * half-close cases of {@link IoUringDataPlaneTest} pass on io_uring.
 */
@Disabled("Netty 4.2.18 io_uring: a write toward a half-closed slow reader stalls for good (IoUringRelayTortureTest)")
class IoUringRelayIntegrityTest extends RelayIntegrityTest {
    @Override
    Transport transport() {
        return Transport.IO_URING;
    }
}
