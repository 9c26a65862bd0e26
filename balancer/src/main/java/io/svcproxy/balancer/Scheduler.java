package io.svcproxy.balancer;

import java.util.List;

/**
 * Picks the backend for a new connection, making the decision of the Linux kernel's IPVS module of the same
 * name. A scheduler is built from an immutable, ordered snapshot of backends (by IP address, then port) and is
 * replaced, never mutated, when the snapshot changes. Safe to call from any event loop.
 */
public interface Scheduler {
    /**
     * Returns the chosen backend, or {@code null} if none is eligible (all weights 0, all avoided, or a hash
     * lookup that landed on an unavailable backend without fallback). Backends in
     * {@link PickContext#isAvoided(Backend)} are treated as unavailable; for the hashing schedulers
     * (dh, sh, mh) a pick with avoided backends always walks the fallback path, whatever the flags.
     */
    Backend pick(PickContext ctx);

    /**
     * Returns the backend a hashing scheduler's table gives this client (dh, sh, mh: the first slot of the
     * lookup, before any fallback walk), whatever its weight; {@code null} for an empty slot and for the other
     * schedulers, which have no such slot.
     */
    default Backend hashed(PickContext ctx) {
        return null;
    }

    /**
     * Returns a scheduler of the same kind and flags for a changed backend list, carrying over the state the
     * SPEC keeps on reload: rr resumes after the last backend it picked (or at the one that now follows that
     * place in the order if it left); wrr restarts its cycle as {@code ip_vs_wrr_dest_changed}; dh, sh and mh
     * rebuild their tables. Callers skip the call when the list did not change, which keeps all state.
     */
    Scheduler withBackends(List<? extends Backend> backends);

    /** Returns the name: an IPVS short name (rr, wrr, lc, wlc, sed, nq, dh, sh, mh) or random (iptables mode). */
    String name();

    /** Returns the backends this scheduler was built from, in scheduling order. */
    List<? extends Backend> backends();
}
