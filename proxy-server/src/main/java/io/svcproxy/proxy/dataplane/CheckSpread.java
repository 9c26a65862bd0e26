package io.svcproxy.proxy.dataplane;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Where in its interval each endpoint's active checks fall, so that the checks of many endpoints (of one Service
 * port, and of every port) do not all connect at the same instant each interval, as HAProxy spreads each server's
 * first check over {@code inter} ({@code start_check_task}: {@code inter * srvpos / nbcheck}) and then checks it
 * every {@code inter} from there. HAProxy knows every server at start; endpoints come and go here, so the k-th
 * endpoint to be checked takes the k-th point of a golden-ratio (Weyl) sequence, {@code frac(k * 0.618...)}:
 * whatever the count so far, the points lie evenly over [0, 1) (no gap wider than about 2.6 times the even one),
 * and the sequence is deterministic. One per {@link ListenerManager}, shared by the checkers of all its ports; any
 * thread.
 */
final class CheckSpread {
    /** The golden ratio's fractional part, {@code (sqrt(5) - 1) / 2}, in 64-bit fixed point (exact as k grows). */
    private static final long STEP = 0x9E3779B97F4A7C15L;

    private final AtomicLong taken = new AtomicLong();

    /** Returns the next endpoint's offset within its interval, as a fraction in [0, 1); the first is 0. */
    double next() {
        return ((taken.getAndIncrement() * STEP) >>> 11) * 0x1.0p-53;
    }
}
