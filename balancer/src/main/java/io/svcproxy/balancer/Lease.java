package io.svcproxy.balancer;

/**
 * One connection's claim on a backend's counters. It starts inactive (connecting), becomes active when both
 * directions are open, inactive again when one direction is closed, and is released exactly once. Owned by the
 * event loop of its connection; the counters it moves are atomic because schedulers on other loops read them.
 */
public final class Lease {
    private static final int INACTIVE = 0;
    private static final int ACTIVE = 1;
    private static final int RELEASED = 2;

    private final ConnectionCounters counters;
    private int state = INACTIVE; // plain: one event loop owns the connection

    Lease(ConnectionCounters counters) {
        this.counters = counters;
    }

    /** Marks the connection established: inactive to active. Does nothing unless it is inactive and new. */
    public void established() {
        if (state == INACTIVE) {
            state = ACTIVE;
            counters.inactive.decrementAndGet();
            counters.active.incrementAndGet();
        }
    }

    /** Marks the connection half-closed: active to inactive. Does nothing unless it is active. */
    public void halfClosed() {
        if (state == ACTIVE) {
            state = INACTIVE;
            counters.active.decrementAndGet();
            counters.inactive.incrementAndGet();
        }
    }

    /** Releases the claim; later calls do nothing. */
    public void release() {
        if (state == ACTIVE) {
            counters.active.decrementAndGet();
        } else if (state == INACTIVE) {
            counters.inactive.decrementAndGet();
        }
        state = RELEASED;
    }

    /** Returns whether the claim was released. */
    public boolean isReleased() {
        return state == RELEASED;
    }
}
