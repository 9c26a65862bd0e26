package io.svcproxy.balancer;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The health of one endpoint of one Service port, shared by all its snapshots (it lives in its
 * {@link ConnectionCounters}), so that a reload which keeps an endpoint keeps its health.
 *
 * <p>Two independent verdicts take an endpoint out of service. Passive outlier detection (Envoy's
 * {@code consecutive_gateway_failure}, HAProxy's {@code observe layer4}): the data plane reports every connect;
 * {@code N} failures in a row make the caller {@link #eject} it for a back-off interval that doubles with each
 * ejection in a row, up to a maximum (the knobs of Envoy's {@code base_ejection_time} and {@code max_ejection_time},
 * whose back-off grows by the base per ejection instead of doubling: docs/operations.md); after
 * it, {@link #returnIfDue} puts it back, to be tried again. Active checks: the results of periodic TCP connects
 * feed {@link #checkResult}, which turns the endpoint unhealthy after {@code fall} failures in a row and healthy
 * again after {@code rise} successes in a row (HAProxy's {@code rise} and {@code fall}).
 *
 * <p>Thread-safe: connects are reported from any event loop; state changes are {@code synchronized} and the
 * flags the schedulers read are volatile. Time is passed in (nanoseconds of a monotonic clock).
 */
public final class EndpointHealth {
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final LongAdder ejectionsTotal = new LongAdder();
    private volatile boolean ejected;
    private volatile boolean unhealthy;
    private volatile boolean checking;
    private long ejectedUntil;
    private long returnedAt;
    private Duration lastEjectionTime = Duration.ZERO;
    private int ejectionsInARow;
    private int checkStreak; // > 0: successes in a row; < 0: failures in a row

    /** Returns whether the endpoint may take new connections: neither ejected nor failing its checks. */
    public boolean inService() {
        return !ejected && !unhealthy;
    }

    /** Returns whether passive outlier detection has ejected the endpoint. */
    public boolean ejected() {
        return ejected;
    }

    /** Returns whether the active checks found the endpoint unhealthy. */
    public boolean unhealthy() {
        return unhealthy;
    }

    /** Returns the connects that failed in a row since the last one that succeeded. */
    public int consecutiveFailures() {
        return consecutiveFailures.get();
    }

    /** Returns how many times the endpoint was ejected. */
    public long ejections() {
        return ejectionsTotal.sum();
    }

    /** Records a connect that succeeded: the failures in a row start again from 0. */
    public void connectSucceeded() {
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
    }

    /** Records a connect that failed; returns the failures in a row, this one included. */
    public int connectFailed() {
        return consecutiveFailures.incrementAndGet();
    }

    /**
     * Ejects the endpoint at {@code now} and returns for how long: {@code base} doubled for each earlier ejection
     * in a row, at most {@code max}. An ejection counts as "in a row" when the endpoint was back in service for
     * less than its last ejection time; longer than that and the back-off starts again from {@code base}. Returns
     * {@code null} when it is already ejected.
     */
    public synchronized Duration eject(long now, Duration base, Duration max) {
        if (ejected) {
            return null;
        }
        if (ejectionsInARow > 0 && now - returnedAt > lastEjectionTime.toNanos()) {
            ejectionsInARow = 0;
        }
        Duration time = base;
        for (int i = 0; i < ejectionsInARow && time.compareTo(max) < 0; i++) {
            time = time.multipliedBy(2);
        }
        if (time.compareTo(max) > 0) {
            time = max;
        }
        ejectionsInARow++;
        lastEjectionTime = time;
        ejectedUntil = now + time.toNanos();
        ejectionsTotal.increment();
        ejected = true;
        return time;
    }

    /** Returns the endpoint to service when its ejection time is over at {@code now}; returns whether it did. */
    public synchronized boolean returnIfDue(long now) {
        return returnIfDue(now, null);
    }

    /**
     * As {@link #returnIfDue(long)}, with the ejection held to {@code max}, the longest ejection of the settings in
     * force ({@code null}: as it was set): a reload that shortens the ejection times reaches an endpoint ejected
     * before (Envoy computes the time from the settings in force too). The back-off goes on from the time served.
     */
    public synchronized boolean returnIfDue(long now, Duration max) {
        if (!ejected) {
            return false;
        }
        if (max != null && max.compareTo(lastEjectionTime) < 0) {
            long ejectedAt = ejectedUntil - lastEjectionTime.toNanos();
            lastEjectionTime = max;
            ejectedUntil = ejectedAt + max.toNanos();
        }
        if (now - ejectedUntil < 0) {
            return false;
        }
        returnedAt = now;
        ejected = false;
        consecutiveFailures.set(0);
        return true;
    }

    /**
     * Ends an ejection at {@code now} because an active check just passed and the checks do not find the endpoint
     * unhealthy (Envoy's {@code successful_active_health_check_uneject_host}, on by default there): a check is a
     * connect like the ones that failed, so it shows the endpoint takes connections again. The back-off is kept as
     * after {@link #returnIfDue}. Returns whether the endpoint was ejected.
     */
    public synchronized boolean returnAfterCheck(long now) {
        if (!ejected || unhealthy) {
            return false;
        }
        returnedAt = now;
        ejected = false;
        consecutiveFailures.set(0);
        return true;
    }

    /** Ends an ejection at once (passive detection was turned off). Returns whether the endpoint was ejected. */
    public synchronized boolean clearEjection() {
        if (!ejected) {
            return false;
        }
        ejected = false;
        ejectionsInARow = 0;
        consecutiveFailures.set(0);
        return true;
    }

    /**
     * Records the result of an active check. Returns {@link Boolean#FALSE} when the endpoint just became
     * unhealthy ({@code fall} failures in a row), {@link Boolean#TRUE} when it just became healthy again
     * ({@code rise} successes in a row), and {@code null} when its state did not change.
     */
    public synchronized Boolean checkResult(boolean ok, int rise, int fall) {
        checking = false;
        if (ok) {
            checkStreak = checkStreak > 0 ? checkStreak + 1 : 1;
            if (unhealthy && checkStreak >= rise) {
                unhealthy = false;
                return Boolean.TRUE;
            }
        } else {
            checkStreak = checkStreak < 0 ? checkStreak - 1 : -1;
            if (!unhealthy && -checkStreak >= fall) {
                unhealthy = true;
                return Boolean.FALSE;
            }
        }
        return null;
    }

    /** Returns the checks that failed in a row (0 after a success). */
    public synchronized int checkFailures() {
        return checkStreak < 0 ? -checkStreak : 0;
    }

    /**
     * Ends the check in flight without a verdict (its checker stopped: its port left or moved, and the endpoint's
     * health may be shared with the port in force, whose checker must be able to start the next one).
     */
    public synchronized void abandonCheck() {
        checking = false;
    }

    /** Marks a check in flight; returns {@code false} when one already is, so checks never pile up. */
    public synchronized boolean startCheck() {
        if (checking) {
            return false;
        }
        checking = true;
        return true;
    }

    /** Forgets the active checks' verdict (checks were turned off). Returns whether the endpoint was unhealthy. */
    public synchronized boolean clearChecks() {
        checkStreak = 0;
        checking = false;
        boolean was = unhealthy;
        unhealthy = false;
        return was;
    }

    @Override
    public String toString() {
        return ejected ? "ejected" : unhealthy ? "unhealthy" : "ready";
    }
}
