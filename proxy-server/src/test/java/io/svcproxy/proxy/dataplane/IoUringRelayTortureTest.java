package io.svcproxy.proxy.dataplane;

import org.junit.jupiter.api.Disabled;

/**
 * The relay torture on the io_uring transport: disabled, because with Netty 4.2.18's io_uring a write toward a peer
 * that has already sent its FIN and reads slowly stalls for good (about one torture run in three; case shapes such
 * as {@code order=ANSWER_FIRST down=0}: the endpoint answers, sends its FIN, then reads the upload slowly). The
 * cause is Netty's, reduced to Netty alone in {@link IoUringHalfClosedPeerWriteTest}: after a send's EAGAIN Netty
 * arms a POLLOUT poll and flushes nothing until it completes; the kernel adds POLLRDHUP to every io_uring poll, so
 * on a half-closed socket that poll completes with POLLRDHUP only, Netty's {@code pollAddComplete} (which tells its
 * polls apart by the result's bits) hands it to {@code pollRdHup}, and {@code POLL_OUT_SCHEDULED} stays set with
 * nothing armed. Not fixable through Netty's API, and unchanged in 4.2.21 (docs/performance.md, "Issue 15, round
 * 5"). That is why {@code proxy.transport: io_uring} is experimental and not what {@code auto} picks. To see it
 * fail: {@code -Dtest=IoUringRelayTortureTest -Djunit.jupiter.conditions.deactivate=org.junit.*DisabledCondition
 * -Dtorture.runs=3}.
 */
@Disabled("Netty 4.2.18 io_uring: a write toward a half-closed slow reader stalls for good (POLLOUT poll completed "
        + "by POLLRDHUP is lost; see IoUringHalfClosedPeerWriteTest)")
class IoUringRelayTortureTest extends RelayTortureTest {
    @Override
    Transport transport() {
        return Transport.IO_URING;
    }
}
