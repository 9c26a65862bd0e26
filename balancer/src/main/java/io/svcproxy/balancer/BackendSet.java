package io.svcproxy.balancer;

import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The endpoints of one Service port as the data plane uses them: the ordered backend list, its scheduler and
 * the ClientIP affinity table. Immutable but for scheduler state and the affinity table; a reload calls
 * {@link #update} and swaps the reference.
 */
public final class BackendSet {
    /**
     * Returns a new set.
     *
     * @param backends the list in the SPEC's order: ready endpoints with their weights, draining ones with 0
     * @param nanoTime the clock of the affinity timeout, as {@link System#nanoTime()}
     */
    public static BackendSet of(String scheduler, Set<SchedulerFlag> flags, SessionAffinity affinity,
                                List<BackendState> backends, LongSupplier nanoTime) {
        throw new UnsupportedOperationException("TODO: balancer helper implements this");
    }

    /**
     * Returns the set for a new desired state, keeping what the SPEC keeps on reload: the scheduler's state
     * when the scheduler, its flags and the list (addresses, ports, weights) did not change, else a scheduler
     * rebuilt by {@link Scheduler#withBackends}; the affinity entries of clients whose endpoint stays.
     */
    public BackendSet update(String scheduler, Set<SchedulerFlag> flags, SessionAffinity affinity,
                             List<BackendState> backends) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Returns the backend for a new connection, or {@code null} if none is usable. A first attempt of a client
     * with live ClientIP affinity to a backend in the list with weight above 0 gets that backend and renews the
     * entry, without advancing the scheduler. Otherwise the scheduler decides (retries ignore affinity) and, with
     * ClientIP affinity, the pick becomes the client's entry.
     */
    public BackendState pick(PickContext ctx) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Returns the backends in scheduling order. */
    public List<BackendState> backends() {
        throw new UnsupportedOperationException("TODO");
    }

    /** Returns the scheduler's IPVS name. */
    public String schedulerName() {
        throw new UnsupportedOperationException("TODO");
    }

    /** Returns the scheduler flags. */
    public Set<SchedulerFlag> flags() {
        throw new UnsupportedOperationException("TODO");
    }

    /** Returns the session affinity. */
    public SessionAffinity affinity() {
        throw new UnsupportedOperationException("TODO");
    }
}
