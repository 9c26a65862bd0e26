package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoOps;
import io.svcproxy.proxy.fault.LogGuard;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The epoll wrapper's bookkeeping against a recording stand-in for Netty's epoll handler: which sets reach the
 * kernel ({@code epoll_ctl}) and when. The relay suites (EpollDataPlaneTest, EpollRelayTortureTest, ...) run it
 * on real sockets.
 */
class EpollHalfCloseFixTest {
    private static final EpollIoOps IN_RDHUP = EpollIoOps.EPOLLIN.with(EpollIoOps.EPOLLRDHUP);
    private static final EpollIoOps OUT_RDHUP = EpollIoOps.EPOLLOUT.with(EpollIoOps.EPOLLRDHUP);

    /** What the stand-in handler saw, in order: "submit fd=N ops=V", "cancel fd=N", "wait". */
    private final List<String> calls = new ArrayList<>();
    /** The fd whose next submit fails as a broken epoll_ctl would (-1: none). */
    private int failingFd = -1;
    private final IoHandler handler = new EpollHalfCloseFix(executor -> new Recording()).newHandler(null);
    private final IoHandlerContext context = new IoHandlerContext() {
        @Override
        public boolean canBlock() {
            return false;
        }

        @Override
        public long delayNanos(long currentTimeNanos) {
            return 0;
        }

        @Override
        public long deadlineNanos() {
            return -1;
        }
    };

    @Test
    void theFirstSetIsAddedBeforeTheWaitAndChangesInOneTurnBecomeOne() throws Exception {
        IoRegistration endpoint = handler.register(new Handle(7));
        endpoint.submit(OUT_RDHUP); // the connect
        assertThat(calls).isEmpty();
        handler.run(context);
        assertThat(calls).containsExactly(submit(7, OUT_RDHUP), "wait");
        calls.clear();

        // the connect completes: EPOLLOUT cleared, then EPOLLIN set as the channel becomes active
        endpoint.submit(EpollIoOps.EPOLLRDHUP);
        endpoint.submit(IN_RDHUP);
        assertThat(calls).isEmpty();
        handler.run(context);
        assertThat(calls).containsExactly(submit(7, IN_RDHUP), "wait");
    }

    @Test
    void anAcceptedChannelsSetsOfItsFirstTurnGoAsOneAdd() throws Exception {
        IoRegistration client = handler.register(new Handle(15));
        client.submit(EpollIoOps.EPOLLRDHUP); // registered active
        client.submit(IN_RDHUP); // channelActive reads
        handler.run(context);
        assertThat(calls).containsExactly(submit(15, IN_RDHUP), "wait");
    }

    @Test
    void aRegistrationCancelledBeforeItsFirstAddIsNeverAdded() throws Exception {
        IoRegistration r = handler.register(new Handle(16));
        r.submit(IN_RDHUP);
        r.cancel(); // closed in the turn it was registered
        handler.run(context);
        assertThat(calls).containsExactly("cancel fd=16", "wait");
        assertThat(r.submit(IN_RDHUP)).isEqualTo(-1);
    }

    @Test
    void aChangeBackToTheKernelsSetIsNoCall() throws Exception {
        IoRegistration r = handler.register(new Handle(8));
        r.submit(IN_RDHUP);
        handler.run(context);
        calls.clear();
        r.submit(EpollIoOps.EPOLLIN);
        r.submit(IN_RDHUP);
        handler.run(context);
        assertThat(calls).containsExactly("wait");
    }

    @Test
    void anEmptySetKeepsTheFdAsEdgeTriggeredAlone() throws Exception {
        IoRegistration r = handler.register(new Handle(9));
        r.submit(IN_RDHUP);
        handler.run(context);
        calls.clear();
        r.submit(EpollIoOps.EPOLLIN); // the FIN: EPOLLRDHUP cleared, then EPOLLIN
        r.submit(EpollIoOps.NONE);
        handler.run(context);
        assertThat(calls).containsExactly(submit(9, EpollIoOps.EPOLLET), "wait");
    }

    @Test
    void aRegistrationCancelledInTheTurnDropsItsChange() throws Exception {
        IoRegistration a = handler.register(new Handle(10));
        IoRegistration b = handler.register(new Handle(11));
        a.submit(IN_RDHUP);
        b.submit(IN_RDHUP);
        handler.run(context);
        calls.clear();
        a.submit(EpollIoOps.EPOLLIN);
        b.submit(EpollIoOps.EPOLLIN);
        a.cancel(); // closed in the same turn
        handler.run(context);
        assertThat(calls).containsExactly("cancel fd=10", submit(11, EpollIoOps.EPOLLIN), "wait");
        calls.clear();
        handler.run(context);
        assertThat(calls).containsExactly("wait");
    }

    @Test
    void nothingIsAddedForAnEmptySetBeforeTheFirstAdd() throws Exception {
        IoRegistration r = handler.register(new Handle(12));
        assertThat(r.submit(EpollIoOps.NONE)).isZero();
        handler.run(context);
        assertThat(calls).containsExactly("wait");
        calls.clear();
        r.submit(EpollIoOps.EPOLLRDHUP);
        r.submit(EpollIoOps.NONE); // asked for nothing again before the wait: still nothing to add
        handler.run(context);
        assertThat(calls).containsExactly("wait");
        calls.clear();
        r.submit(EpollIoOps.EPOLLRDHUP);
        handler.run(context);
        assertThat(calls).containsExactly(submit(12, EpollIoOps.EPOLLRDHUP), "wait");
    }

    @Test
    void aChangeQueuedByACloseInTheTurnIsSubmittedInThatTurn() throws Exception {
        IoRegistration[] other = new IoRegistration[1];
        // closing fd 13 (its epoll_ctl failed) changes fd 14's set, as a close listener could
        IoRegistration a = handler.register(new ClosingHandle(13, () -> other[0].submit(EpollIoOps.EPOLLIN)));
        other[0] = handler.register(new Handle(14));
        a.submit(IN_RDHUP);
        other[0].submit(IN_RDHUP);
        handler.run(context);
        calls.clear();
        a.submit(EpollIoOps.EPOLLIN);
        failingFd = 13;
        handler.run(context);
        assertThat(calls).containsExactly(submit(13, EpollIoOps.EPOLLIN), submit(14, EpollIoOps.EPOLLIN), "wait");
        assertThat(LogGuard.drain()).singleElement().asString().contains("epoll_ctl failed");
        calls.clear();
        handler.run(context);
        assertThat(calls).containsExactly("wait");
    }

    private static String submit(int fd, EpollIoOps ops) {
        return "submit fd=" + fd + " ops=" + ops.value();
    }

    /** A handle that only names its fd. */
    private record Handle(int fd) implements IoHandle {
        @Override
        public void handle(IoRegistration registration, io.netty.channel.IoEvent ioEvent) {
        }

        @Override
        public void close() {
        }
    }

    /** A handle that runs something when it is closed. */
    private record ClosingHandle(int fd, Runnable onClose) implements IoHandle {
        @Override
        public void handle(IoRegistration registration, io.netty.channel.IoEvent ioEvent) {
        }

        @Override
        public void close() {
            onClose.run();
        }
    }

    /** Netty's epoll handler as far as the wrapper uses it: Pending, Added (ADD/MOD), Cancelled. */
    private final class Recording implements IoHandler {
        @Override
        public int run(IoHandlerContext context) {
            calls.add("wait");
            return 0;
        }

        @Override
        public IoRegistration register(IoHandle handle) {
            int fd = handle instanceof Handle h ? h.fd() : ((ClosingHandle) handle).fd();
            return new IoRegistration() {
                private boolean added;
                private boolean cancelled;

                @Override
                public <T> T attachment() {
                    return null;
                }

                @Override
                public long submit(IoOps ops) {
                    int value = ((EpollIoOps) ops).value();
                    calls.add("submit fd=" + fd + " ops=" + value);
                    if (fd == failingFd) {
                        failingFd = -1;
                        throw new UncheckedIOException(new IOException("epoll_ctl(..) failed with error(-9)"));
                    }
                    if (cancelled) {
                        return -1;
                    }
                    if (!added && value == 0) {
                        return 0;
                    }
                    added = true;
                    return value;
                }

                @Override
                public boolean isValid() {
                    return !cancelled;
                }

                @Override
                public boolean cancel() {
                    calls.add("cancel fd=" + fd);
                    cancelled = true;
                    return true;
                }
            };
        }

        @Override
        public void wakeup() {
        }

        @Override
        public boolean isCompatible(Class<? extends IoHandle> handleType) {
            return true;
        }
    }
}
