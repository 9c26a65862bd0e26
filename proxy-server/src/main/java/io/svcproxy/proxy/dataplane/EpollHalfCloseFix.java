package io.svcproxy.proxy.dataplane;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;

/**
 * Netty 4.2.18's epoll handler with a fix for half-closed channels, the root cause of issue 11's lost bytes.
 *
 * <p>Since netty/netty#16689 an epoll registration whose interest set becomes empty is removed from the epoll set
 * ({@code EPOLL_CTL_DEL}), but it stays marked as added, so the next interest it registers is an {@code
 * EPOLL_CTL_MOD} of an fd that epoll no longer knows: {@code epoll_ctl(..) failed with error(-2): No such file or
 * directory}. A socket's interest set is empty exactly when its input is shut down (the peer's FIN: EPOLLIN and
 * EPOLLRDHUP cleared) and nothing waits to be written. The next write that the kernel cannot take at once then
 * fails (Netty shuts the output down and drops what was queued: the client received a FIN after a short stream),
 * and so does resuming reads. A half-closed connection that still carries bytes the other way is the relay's
 * ordinary case, so every registration here keeps its fd in the epoll set instead: an empty interest set is
 * registered as {@code EPOLLET} alone, which waits for nothing and reports a hang-up or an error at most once
 * (no wake-up storm, which is what #16689 was about). The newest Netty releases cannot be used here (their
 * native files are not served), so the fix lives in this wrapper; it goes with the upgrade that carries the fix.
 */
final class EpollHalfCloseFix implements IoHandlerFactory {
    private final IoHandlerFactory epoll = EpollIoHandler.newFactory();

    @Override
    public IoHandler newHandler(io.netty.util.concurrent.ThreadAwareExecutor executor) {
        return new Handler(epoll.newHandler(executor));
    }

    @Override
    public boolean isChangingThreadSupported() {
        return epoll.isChangingThreadSupported();
    }

    /** Delegates everything, wrapping each registration. */
    private record Handler(IoHandler delegate) implements IoHandler {
        @Override
        public void initialize() {
            delegate.initialize();
        }

        @Override
        public int run(IoHandlerContext context) {
            return delegate.run(context);
        }

        @Override
        public void prepareToDestroy() {
            delegate.prepareToDestroy();
        }

        @Override
        public void destroy() {
            delegate.destroy();
        }

        @Override
        public IoRegistration register(IoHandle handle) throws Exception {
            return new Registration(delegate.register(handle));
        }

        @Override
        public void wakeup() {
            delegate.wakeup();
        }

        @Override
        public boolean isCompatible(Class<? extends IoHandle> handleType) {
            return delegate.isCompatible(handleType);
        }
    }

    /**
     * Never lets an fd that was added leave the epoll set while the channel lives, and skips an {@code
     * EPOLL_CTL_MOD} to the interest set already registered: Netty submits the same set again when a connect
     * completes (the interest in EPOLLOUT was just cleared, then the whole set is submitted once more), a system
     * call per endpoint connection for nothing. Skipping it loses no event: the set in the kernel is the same, and
     * Netty's edge-triggered reads never rely on a modification to re-arm an fd (it reschedules reads itself).
     */
    static final class Registration implements IoRegistration {
        private final IoRegistration delegate;
        private boolean added; // plain: submit runs on the channel's event loop
        private int registered; // the interest set in the kernel once added

        Registration(IoRegistration delegate) {
            this.delegate = delegate;
        }

        @Override
        public <T> T attachment() {
            return delegate.attachment();
        }

        @Override
        public long submit(IoOps ops) {
            EpollIoOps epollOps = (EpollIoOps) ops;
            if (added && epollOps.value() == EpollIoOps.NONE.value()) {
                epollOps = EpollIoOps.EPOLLET;
            }
            if (added && epollOps.value() == registered && delegate.isValid()) {
                return registered;
            }
            long result = delegate.submit(epollOps);
            // 0: nothing was added (an empty set before the first add); -1: cancelled; else the set submitted
            // (negative for EPOLLET alone, the sign bit)
            if (result != 0 && result != -1) {
                added = true;
                registered = epollOps.value();
            }
            return result;
        }

        @Override
        public boolean isValid() {
            return delegate.isValid();
        }

        @Override
        public boolean cancel() {
            return delegate.cancel();
        }
    }
}
