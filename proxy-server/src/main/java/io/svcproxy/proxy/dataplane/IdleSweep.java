package io.svcproxy.proxy.dataplane;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes the idle connections of one event loop: one timer per loop that visits its connections, instead of a
 * timer task per connection (allocated, put in the loop's timer queue and taken out again for every connection;
 * a cost of each new connection, and memory held by each open one). The connections are kept in a list linked
 * through their {@link FrontendHandler}s, so joining and leaving it allocate nothing.
 *
 * <p>The sweep runs every eighth of the shortest idle timeout among the connections it has held since it last had
 * none (at least every millisecond, at most every second), and only while the loop has connections: a connection
 * is closed between its idle timeout and that much later. Everything here runs on the loop's thread.
 */
final class IdleSweep {
    private static final FastThreadLocal<IdleSweep> SWEEPS = new FastThreadLocal<>();
    private static final long MIN_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long MAX_PERIOD_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final EventLoop loop;
    private FrontendHandler head;
    private ScheduledFuture<?> task;
    private long periodNanos;

    private IdleSweep(EventLoop loop) {
        this.loop = loop;
    }

    /** Returns the sweep of {@code loop}, which must be the calling thread's. */
    static IdleSweep of(EventLoop loop) {
        IdleSweep sweep = SWEEPS.get();
        if (sweep == null || sweep.loop != loop) {
            sweep = new IdleSweep(loop);
            SWEEPS.set(sweep);
        }
        return sweep;
    }

    /** Watches {@code handler}'s connection, whose idle timeout is {@code idleNanos} (> 0). */
    void add(FrontendHandler handler, long idleNanos) {
        handler.idleNext = head;
        handler.idlePrev = null;
        if (head != null) {
            head.idlePrev = handler;
        }
        head = handler;
        long period = Math.max(MIN_PERIOD_NANOS, Math.min(MAX_PERIOD_NANOS, idleNanos / 8));
        if (task == null || period < periodNanos) {
            if (task != null) {
                task.cancel(false);
            }
            periodNanos = period;
            task = loop.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.NANOSECONDS);
        }
    }

    /** Stops watching {@code handler}'s connection (it closed); stops the timer when none is left. */
    void remove(FrontendHandler handler) {
        FrontendHandler prev = handler.idlePrev;
        FrontendHandler next = handler.idleNext;
        if (prev != null) {
            prev.idleNext = next;
        } else if (head == handler) {
            head = next;
        } else {
            return; // not in the list
        }
        if (next != null) {
            next.idlePrev = prev;
        }
        handler.idlePrev = null;
        handler.idleNext = null;
        if (head == null && task != null) {
            task.cancel(false);
            task = null;
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        for (FrontendHandler h = head; h != null; ) {
            FrontendHandler next = h.idleNext; // closing a channel leaves the list later, on channelInactive
            h.checkIdle(now);
            h = next;
        }
    }
}
