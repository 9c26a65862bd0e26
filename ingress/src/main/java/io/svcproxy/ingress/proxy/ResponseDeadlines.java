package io.svcproxy.ingress.proxy;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The response timeouts of one listener's requests on one event loop: a request that waits for its response headers
 * longer than {@code responseTimeout} is answered 504 by its {@link Exchange}.
 *
 * <p>One timer per event loop instead of a timer task per request (a task, a lambda and two operations on the
 * loop's task queue per request). The waiting requests are linked in the order they started waiting, which is the
 * order of their deadlines, as they all have the listener's one timeout: {@link #arm} appends, {@link #disarm}
 * unlinks (both O(1)), and the timer is set for the first deadline. When it fires, the requests whose deadline
 * passed time out and the timer is set for the next one; a request answered meanwhile is no longer in the list.
 * Every request still times out at its own deadline (not before, and as late as a timer task would fire). Under
 * steady keep-alive load the timer fires about once per timeout.
 *
 * <p>Owned by its event loop (through {@link ListenerSettings#responseDeadlines}): plain fields.
 */
final class ResponseDeadlines implements Runnable {
    /** What times out: an {@link Exchange}. */
    interface Expiring {
        /** The response timeout passed; called on the event loop. */
        void responseTimedOut();
    }

    /** A request waiting for its response headers: a link of the list. */
    static final class Waiting {
        private final Expiring exchange;
        private final long deadline;
        private Waiting prev;
        private Waiting next;
        private boolean linked = true;

        private Waiting(Expiring exchange, long deadline) {
            this.exchange = exchange;
            this.deadline = deadline;
        }
    }

    private final long timeoutNanos;
    private EventLoop loop;
    private Waiting first;
    private Waiting last;
    private ScheduledFuture<?> timer;

    ResponseDeadlines(long timeoutNanos) {
        this.timeoutNanos = timeoutNanos;
    }

    /**
     * Starts {@code ex}'s response timeout now; call on {@code loop}, the event loop that owns this instance.
     *
     * @return the link to give to {@link #disarm} when the response starts or the request is given up
     */
    Waiting arm(Expiring ex, EventLoop loop) {
        long now = System.nanoTime();
        Waiting w = new Waiting(ex, now + timeoutNanos);
        if (last == null) {
            first = w;
        } else {
            last.next = w;
            w.prev = last;
        }
        last = w;
        if (timer == null) {
            this.loop = loop;
            timer = loop.schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
        }
        return w;
    }

    /** Stops a response timeout; no effect if it fired already. */
    void disarm(Waiting w) {
        if (!w.linked) {
            return;
        }
        w.linked = false;
        if (w.prev == null) {
            first = w.next;
        } else {
            w.prev.next = w.next;
        }
        if (w.next == null) {
            last = w.prev;
        } else {
            w.next.prev = w.prev;
        }
        w.prev = null;
        w.next = null;
    }

    @Override
    public void run() {
        timer = null;
        long now = System.nanoTime();
        Waiting w;
        while ((w = first) != null && w.deadline - now <= 0) {
            disarm(w);
            w.exchange.responseTimedOut(); // may arm the next request of its connection: appended, not expired
        }
        if (first != null && timer == null) {
            timer = loop.schedule(this, first.deadline - now, TimeUnit.NANOSECONDS);
        }
    }

    /** The requests waiting, for tests. */
    int waiting() {
        int n = 0;
        for (Waiting w = first; w != null; w = w.next) {
            n++;
        }
        return n;
    }
}
