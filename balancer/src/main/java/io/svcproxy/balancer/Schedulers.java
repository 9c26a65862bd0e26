package io.svcproxy.balancer;

import java.util.List;
import java.util.Set;

/** Maps the IPVS short names to schedulers. */
public final class Schedulers {
    /** The supported scheduler names, in the order error messages list them. */
    public static final List<String> NAMES = List.of("rr", "wrr", "lc", "wlc", "sed", "nq", "dh", "sh", "mh");

    private Schedulers() {
    }

    /** Returns whether {@code name} is a supported scheduler. */
    public static boolean isKnown(String name) {
        return NAMES.contains(name);
    }

    /**
     * Returns a new scheduler over {@code backends} (already in the SPEC's order).
     *
     * @throws IllegalArgumentException {@code "unknown scheduler: foo (expected: rr, wrr, ...)"}, or a flag
     *     that does not belong to the scheduler
     */
    public static Scheduler create(String name, Set<SchedulerFlag> flags, List<? extends Backend> backends) {
        throw new UnsupportedOperationException("TODO: balancer helper implements this");
    }
}
