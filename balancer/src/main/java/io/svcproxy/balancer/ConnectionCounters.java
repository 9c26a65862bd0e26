package io.svcproxy.balancer;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live connection counters of one endpoint (IPVS {@code activeconns}, {@code inactconns}) and the total
 * of connections it was given. One instance lives as long as the endpoint stays in some snapshot, so a reload
 * that keeps an endpoint keeps its counters. Updated only through {@link Lease}.
 */
public final class ConnectionCounters {
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger inactive = new AtomicInteger();
    final AtomicLong total = new AtomicLong();

    /** Returns connections open in both directions. */
    public int active() {
        return active.get();
    }

    /** Returns connections being set up or half-closed. */
    public int inactive() {
        return inactive.get();
    }

    /** Returns every connection given to the endpoint since it appeared. */
    public long total() {
        return total.get();
    }

    /**
     * Takes a claim for a new connection: it starts inactive (being set up), as every new IPVS connection
     * does, and counts in {@link #total()}.
     */
    public Lease lease() {
        inactive.incrementAndGet();
        total.incrementAndGet();
        return new Lease(this);
    }
}
