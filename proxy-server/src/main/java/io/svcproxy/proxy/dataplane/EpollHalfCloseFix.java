package io.svcproxy.proxy.dataplane;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;
import java.util.ArrayList;

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
 *
 * <p>The wrapper also merges the interest sets Netty submits within one turn of the event loop into one
 * {@code EPOLL_CTL_ADD} or {@code EPOLL_CTL_MOD} (three system calls less per proxied connection: {@link
 * Registration}).
 */
final class EpollHalfCloseFix implements IoHandlerFactory {
    private final IoHandlerFactory epoll;

    EpollHalfCloseFix() {
        this(EpollIoHandler.newFactory());
    }

    /** Wraps the handlers of {@code epoll} (tests pass a recording one). */
    EpollHalfCloseFix(IoHandlerFactory epoll) {
        this.epoll = epoll;
    }

    @Override
    public IoHandler newHandler(io.netty.util.concurrent.ThreadAwareExecutor executor) {
        return new Handler(epoll.newHandler(executor));
    }

    @Override
    public boolean isChangingThreadSupported() {
        return epoll.isChangingThreadSupported();
    }

    /**
     * Delegates everything, wrapping each registration, and submits the interest changes of its registrations
     * (below) to the kernel just before each wait for events.
     */
    private static final class Handler implements IoHandler {
        private final IoHandler delegate;
        /** Registrations with an interest change not yet submitted; only touched on the loop's thread. */
        private final ArrayList<Registration> changed = new ArrayList<>();

        Handler(IoHandler delegate) {
            this.delegate = delegate;
        }

        @Override
        public void initialize() {
            delegate.initialize();
        }

        @Override
        public int run(IoHandlerContext context) {
            // the delegate's run is where the loop waits for events (epoll_wait): every change is in by then
            submitChanges();
            return delegate.run(context);
        }

        private void submitChanges() {
            if (changed.isEmpty()) {
                return;
            }
            // the size is read on every turn: a submit that fails closes its channel, and a close listener may queue
            // another channel's change while this runs; it is submitted in this same pass, not cleared unsent
            for (int i = 0; i < changed.size(); i++) {
                changed.get(i).submitChange();
            }
            changed.clear();
        }

        @Override
        public void prepareToDestroy() {
            delegate.prepareToDestroy();
        }

        @Override
        public void destroy() {
            changed.clear();
            delegate.destroy();
        }

        @Override
        public IoRegistration register(IoHandle handle) throws Exception {
            return new Registration(delegate.register(handle), handle, this);
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
     * Never lets an fd that was added leave the epoll set while the channel lives, and submits interest sets
     * once per turn of the loop: each set Netty asks for is remembered and submitted only before the loop next
     * waits for events ({@code EPOLL_CTL_ADD} the first time, then {@code EPOLL_CTL_MOD}), and only if it then
     * differs from the kernel's: what the kernel holds matters only to that wait. Netty changes a channel's set
     * several times in one turn: an accepted channel is added with EPOLLRDHUP and then, as it becomes active and
     * reads, gets EPOLLIN (one {@code EPOLL_CTL_ADD} with both); a connect completing clears EPOLLOUT and the
     * channel becoming active sets EPOLLIN (one change instead of two); a FIN read clears EPOLLRDHUP and then
     * EPOLLIN (one instead of two); a channel that closes in the turn its set changed needs no change at all. An
     * fd added before the wait reports what it is ready for at once, and Netty's level-triggered reads never rely
     * on a modification to re-arm an fd (they reschedule reads themselves), so no event is lost: the set the wait
     * sees is the set Netty asked for last.
     */
    static final class Registration implements IoRegistration {
        private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(EpollHalfCloseFix.class);

        private final IoRegistration delegate;
        private final IoHandle handle;
        private final Handler handler;
        private boolean added; // plain: submit runs on the channel's event loop
        private int registered; // the interest set in the kernel once added
        private EpollIoOps wanted = EpollIoOps.NONE; // the set Netty asked for last
        private boolean queued; // in the handler's list of changes

        Registration(IoRegistration delegate, IoHandle handle, Handler handler) {
            this.delegate = delegate;
            this.handle = handle;
            this.handler = handler;
        }

        @Override
        public <T> T attachment() {
            return delegate.attachment();
        }

        @Override
        public long submit(IoOps ops) {
            EpollIoOps epollOps = (EpollIoOps) ops;
            if (!delegate.isValid()) {
                return -1;
            }
            if (epollOps.value() == EpollIoOps.NONE.value()) {
                if (!added) {
                    wanted = epollOps; // nothing to add (yet): as Netty's 0 for an empty set before the first add
                    return 0;
                }
                epollOps = EpollIoOps.EPOLLET;
            }
            wanted = epollOps;
            if ((!added || epollOps.value() != registered) && !queued) {
                queued = true;
                handler.changed.add(this);
            }
            return epollOps.value();
        }

        /** Submits the set Netty asked for last, if it differs from the kernel's; the handler's run calls this. */
        void submitChange() {
            queued = false;
            EpollIoOps ops = wanted;
            if (!delegate.isValid() || (added ? ops.value() == registered : ops.value() == 0)) {
                return;
            }
            try {
                delegate.submit(ops); // EPOLL_CTL_ADD the first time, else EPOLL_CTL_MOD
                added = true;
                registered = ops.value();
            } catch (java.io.UncheckedIOException e) {
                // what Netty does when its own epoll_ctl fails: the fd or epoll is broken, the channel closes
                log.warn("epoll_ctl failed for {}: closing it", handle, e);
                try {
                    handle.close();
                } catch (Exception closing) {
                    e.addSuppressed(closing);
                }
            }
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
