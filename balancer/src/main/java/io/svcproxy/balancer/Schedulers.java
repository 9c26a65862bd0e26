package io.svcproxy.balancer;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/** Maps the IPVS short names to schedulers. */
public final class Schedulers {
    /** The supported scheduler names, in the order error messages list them. */
    public static final List<String> NAMES = List.of("rr", "wrr", "lc", "wlc", "sed", "nq", "dh", "sh", "mh",
            "random");

    private Schedulers() {
    }

    /** Returns whether {@code name} is a supported scheduler. */
    public static boolean isKnown(String name) {
        return NAMES.contains(name);
    }

    /** Returns the flags that belong to scheduler {@code name}, in declaration order; empty for most. */
    public static Set<SchedulerFlag> flagsOf(String name) {
        EnumSet<SchedulerFlag> flags = EnumSet.noneOf(SchedulerFlag.class);
        for (SchedulerFlag flag : SchedulerFlag.values()) {
            if (flag.scheduler().equals(name)) {
                flags.add(flag);
            }
        }
        return flags;
    }

    /**
     * Returns a new scheduler over {@code backends} (already in the SPEC's order).
     *
     * @throws IllegalArgumentException {@code "unknown scheduler: foo (expected: rr, wrr, ...)"}, or a flag
     *     that does not belong to the scheduler
     */
    public static Scheduler create(String name, Set<SchedulerFlag> flags, List<? extends Backend> backends) {
        return create(name, flags, backends, RandomScheduler.THREAD_LOCAL);
    }

    /**
     * Returns a new scheduler over {@code backends}, drawing from {@code random} where the scheduler draws at all
     * ({@code random}); the others ignore it.
     *
     * @throws IllegalArgumentException as {@link #create(String, Set, List)}
     */
    public static Scheduler create(String name, Set<SchedulerFlag> flags, List<? extends Backend> backends,
                                   java.util.random.RandomGenerator random) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(random, "random");
        Objects.requireNonNull(flags, "flags");
        Objects.requireNonNull(backends, "backends");
        if (!isKnown(name)) {
            throw new IllegalArgumentException(
                    "unknown scheduler: " + name + " (expected: " + String.join(", ", NAMES) + ")");
        }
        for (SchedulerFlag flag : flags) {
            if (!flag.scheduler().equals(name)) {
                Set<SchedulerFlag> valid = flagsOf(name);
                String expected = valid.isEmpty() ? "no flags for " + name
                        : valid.stream().map(SchedulerFlag::configName).collect(Collectors.joining(", "));
                throw new IllegalArgumentException("scheduler flag " + flag.configName() + " belongs to "
                        + flag.scheduler() + ", not " + name + " (expected: " + expected + ")");
            }
        }
        List<Backend> list = new ArrayList<>(backends.size());
        list.addAll(backends);
        switch (name) {
            case "rr":
                return new RoundRobinScheduler(list);
            case "wrr":
                return new WeightedRoundRobinScheduler(list);
            case "lc":
                return new LeastConnectionScheduler(list);
            case "wlc":
                return new WeightedLeastConnectionScheduler(list);
            case "sed":
                return new ShortestExpectedDelayScheduler(list);
            case "nq":
                return new NeverQueueScheduler(list);
            case "dh":
                return new DestinationHashingScheduler(list);
            case "sh":
                return new SourceHashingScheduler(list, flags.contains(SchedulerFlag.SH_FALLBACK),
                        flags.contains(SchedulerFlag.SH_PORT));
            case "mh":
                return new MaglevHashingScheduler(list, flags.contains(SchedulerFlag.MH_FALLBACK),
                        flags.contains(SchedulerFlag.MH_PORT));
            case "random":
                return new RandomScheduler(list, random);
            default:
                throw new AssertionError(name);
        }
    }

    /** Returns whether a backend may take this connection: weight above 0 and not already tried for it. */
    static boolean isAvailable(Backend backend, PickContext ctx) {
        return backend.weight() > 0 && !ctx.isAvoided(backend);
    }

    /** Returns {@code ip_vs_dest_conn_overhead}: {@code (active << 8) + inactive}, in 64 bits. */
    static long overhead(Backend backend) {
        return ((long) backend.activeConnections() << 8) + backend.inactiveConnections();
    }
}
