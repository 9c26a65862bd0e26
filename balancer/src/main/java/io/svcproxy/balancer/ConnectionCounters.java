package io.svcproxy.balancer;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The live connection counters of one endpoint (IPVS {@code activeconns}, {@code inactconns}) and the total
 * of connections it was given. One instance lives as long as the endpoint stays in some snapshot, so a reload
 * that keeps an endpoint keeps its counters. Updated only through {@link Lease}.
 */
public final class ConnectionCounters {
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger inactive = new AtomicInteger();
    final AtomicLong total = new AtomicLong();
    private final LongAdder bytesToEndpoint = new LongAdder();
    private final LongAdder bytesToClient = new LongAdder();
    private final LongAdder connectFailures = new LongAdder();
    private final EndpointHealth health = new EndpointHealth();

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

    /** Returns the bytes relayed from clients to this endpoint. */
    public long bytesToEndpoint() {
        return bytesToEndpoint.sum();
    }

    /** Returns the bytes relayed from this endpoint to clients. */
    public long bytesToClient() {
        return bytesToClient.sum();
    }

    /** Returns the connects to this endpoint that failed. */
    public long connectFailures() {
        return connectFailures.sum();
    }

    /** Returns the endpoint's health: passive ejection and active checks, kept across reloads like the counters. */
    public EndpointHealth health() {
        return health;
    }

    /** Counts bytes relayed to the endpoint; called by the data plane. */
    public void addBytesToEndpoint(long n) {
        bytesToEndpoint.add(n);
    }

    /** Counts bytes relayed to the client; called by the data plane. */
    public void addBytesToClient(long n) {
        bytesToClient.add(n);
    }

    /** Counts a failed connect; called by the data plane. */
    public void countConnectFailure() {
        connectFailures.increment();
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
