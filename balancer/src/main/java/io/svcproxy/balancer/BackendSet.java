package io.svcproxy.balancer;

import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The endpoints of one Service port as the data plane uses them: the ordered backend list, its scheduler and
 * the ClientIP affinity table. Immutable but for scheduler state and the affinity table; a reload calls
 * {@link #update} and swaps the reference. Safe to use from any number of event loops at once.
 */
public final class BackendSet {
    private final String schedulerName;
    private final Set<SchedulerFlag> flags;
    private final SessionAffinity affinity;
    private final long timeoutNanos;
    private final List<BackendState> backends;
    private final Scheduler scheduler;
    /** The current list's instance of each backend the scheduler may return, when the two lists differ. */
    private final Map<Backend, BackendState> current;
    private final Map<AffinityTable.Endpoint, BackendState> byEndpoint;
    private final AffinityTable table;
    private final LongSupplier nanoTime;
    /** What {@code random} draws from, kept for the schedulers built on later updates. */
    private final java.util.random.RandomGenerator random;
    /** The backends published out of service (ejected or unhealthy, weight 0); usually empty. */
    private final List<BackendState> outOfService;
    /** Whether the list holds a draining endpoint (left, with connections still open). */
    private final boolean draining;
    /**
     * The hashing schedulers built over the endpoints a traffic policy's filter takes (at most two: the Local and the
     * Cluster filter of one spec), made on first use; any thread may add one (a race builds one twice).
     */
    private volatile Narrowed[] narrowed = new Narrowed[0];
    /** Whether the scheduler is dh, sh or mh: one that a traffic policy's filter narrows to a table of its own. */
    private final boolean hashing;

    /** A dh, sh or mh scheduler over the endpoints {@code eligible} takes, as kube-proxy's own virtual server. */
    private record Narrowed(java.util.function.Predicate<Backend> eligible, Scheduler scheduler) {
    }

    private BackendSet(String schedulerName, Set<SchedulerFlag> flags, SessionAffinity affinity,
                       List<BackendState> backends, Scheduler scheduler, AffinityTable table,
                       LongSupplier nanoTime, java.util.random.RandomGenerator random) {
        this.random = random;
        this.schedulerName = schedulerName;
        this.flags = flags;
        this.affinity = affinity;
        this.timeoutNanos = saturatedNanos(affinity.timeout());
        this.backends = backends;
        this.scheduler = scheduler;
        this.table = table;
        this.nanoTime = nanoTime;
        List<? extends Backend> own = scheduler.backends();
        Map<Backend, BackendState> map = null;
        for (int i = 0; i < own.size(); i++) {
            if (own.get(i) != backends.get(i)) {
                map = new IdentityHashMap<>();
                for (int j = 0; j < own.size(); j++) {
                    map.put(own.get(j), backends.get(j));
                }
                break;
            }
        }
        this.current = map;
        Map<AffinityTable.Endpoint, BackendState> endpoints = new HashMap<>();
        for (BackendState b : backends) {
            endpoints.putIfAbsent(AffinityTable.Endpoint.of(b), b);
        }
        this.byEndpoint = endpoints;
        List<BackendState> out = List.of();
        for (BackendState b : backends) {
            if (b.weight() == 0 && (b.state() == BackendState.State.EJECTED
                    || b.state() == BackendState.State.UNHEALTHY)) {
                if (out.isEmpty()) {
                    out = new java.util.ArrayList<>();
                }
                out.add(b);
            }
        }
        this.outOfService = out;
        boolean anyDraining = false;
        for (BackendState b : backends) {
            anyDraining |= b.state() == BackendState.State.DRAINING;
        }
        this.draining = anyDraining;
        this.hashing = switch (schedulerName) {
            case "dh", "sh", "mh" -> true;
            default -> false;
        };
    }

    /**
     * Returns a new set.
     *
     * @param backends the list in the SPEC's order: ready endpoints with their weights, draining ones with 0
     * @param nanoTime the clock of the affinity timeout, as {@link System#nanoTime()}
     * @throws IllegalArgumentException an unknown scheduler, or a flag of another scheduler
     */
    public static BackendSet of(String scheduler, Set<SchedulerFlag> flags, SessionAffinity affinity,
                                List<BackendState> backends, LongSupplier nanoTime) {
        return of(scheduler, flags, affinity, backends, nanoTime, RandomScheduler.THREAD_LOCAL);
    }

    /**
     * Returns a new set whose {@code random} scheduler, now and after updates, draws from {@code random} (the
     * simulator's seeded replay; the proxy's sets draw from each event loop's own generator).
     */
    public static BackendSet of(String scheduler, Set<SchedulerFlag> flags, SessionAffinity affinity,
                                List<BackendState> backends, LongSupplier nanoTime,
                                java.util.random.RandomGenerator random) {
        Objects.requireNonNull(affinity, "affinity");
        Objects.requireNonNull(nanoTime, "nanoTime");
        Objects.requireNonNull(random, "random");
        List<BackendState> list = List.copyOf(backends);
        Set<SchedulerFlag> flagSet = copyFlags(flags);
        Scheduler s = Schedulers.create(scheduler, flagSet, list, random);
        return new BackendSet(scheduler, flagSet, affinity, list, s, new AffinityTable(), nanoTime, random);
    }

    /**
     * Returns the set for a new desired state, keeping what the SPEC keeps on reload: the scheduler's state
     * when the scheduler, its flags and the list (addresses, ports, weights) did not change, else a scheduler
     * rebuilt by {@link Scheduler#withBackends}; the affinity entries of clients whose endpoint stays.
     * The list counts as unchanged when every position holds the same address, port, weight, last weight,
     * state and counters; a changed scheduler name or flags makes a new scheduler with fresh state. The very same
     * scheduler, flags, affinity and endpoint objects return this set itself.
     */
    public BackendSet update(String scheduler, Set<SchedulerFlag> flags, SessionAffinity affinity,
                             List<BackendState> backends) {
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(affinity, "affinity");
        List<BackendState> list = List.copyOf(backends);
        Set<SchedulerFlag> flagSet = copyFlags(flags);
        if (scheduler.equals(schedulerName) && flagSet.equals(this.flags) && affinity.equals(this.affinity)
                && Backends.sameElements(this.backends, list)) {
            return this; // nothing changed (a reload that kept this port as it was): the very set stays in force
        }
        Scheduler next;
        if (scheduler.equals(schedulerName) && flagSet.equals(this.flags)) {
            next = sameList(this.backends, list) ? this.scheduler : this.scheduler.withBackends(list);
        } else {
            next = Schedulers.create(scheduler, flagSet, list, random);
        }
        BackendSet set = new BackendSet(scheduler, flagSet, affinity, list, next, table, nanoTime, random);
        if (affinity.clientIp()) {
            table.retain(set.byEndpoint.keySet());
        } else {
            table.clear();
        }
        return set;
    }

    /**
     * Returns the backend for a new connection, or {@code null} if none is usable. A first attempt of a client
     * with live ClientIP affinity to a backend in the list with weight above 0 gets that backend and renews the
     * entry, without advancing the scheduler. Otherwise the scheduler decides (retries ignore affinity) and, with
     * ClientIP affinity, the pick becomes the client's entry.
     */
    public BackendState pick(PickContext ctx) {
        if (!affinity.clientIp()) {
            return pickInService(ctx);
        }
        long now = nanoTime.getAsLong();
        if (!ctx.isRetry()) {
            AffinityTable.Entry entry = table.get(ctx.clientAddress());
            if (entry != null && now - entry.lastUsed() < timeoutNanos) {
                BackendState sticky = byEndpoint.get(entry.endpoint());
                // an endpoint ejected or failing its checks since this list was published is no client's to keep, as
                // IPVS expires the template of a dest that is no longer available (expire_quiescent_template)
                if (sticky != null && sticky.weight() > 0 && !ctx.isAvoided(sticky) && sticky.inService()) {
                    table.put(ctx.clientAddress(), sticky, now, timeoutNanos);
                    return sticky;
                }
            }
        }
        BackendState picked = pickInService(ctx);
        if (picked != null) {
            table.put(ctx.clientAddress(), picked, now, timeoutNanos);
        }
        return picked;
    }

    /**
     * Removes the affinity entries that timed out. The data plane may call it periodically; picks also sweep
     * when the table has grown, so it is not required for bounded memory.
     */
    public void expireAffinity() {
        table.expire(nanoTime.getAsLong(), timeoutNanos);
    }

    /** Returns the number of clients with an affinity entry, expired or not; for the admin API and tests. */
    public int affinityEntries() {
        return table.size();
    }

    /** Returns the backends in scheduling order. */
    public List<BackendState> backends() {
        return backends;
    }

    /** Returns the scheduler's IPVS name. */
    public String schedulerName() {
        return schedulerName;
    }

    /** Returns the scheduler flags. */
    public Set<SchedulerFlag> flags() {
        return flags;
    }

    /** Returns the session affinity. */
    public SessionAffinity affinity() {
        return affinity;
    }

    /** Returns the scheduler; {@link #update} keeps the same instance when nothing it depends on changed. */
    public Scheduler scheduler() {
        return scheduler;
    }

    @Override
    public String toString() {
        return schedulerName + (flags.isEmpty() ? "" : flags) + " affinity=" + affinity.label() + " " + backends;
    }

    /**
     * Asks the scheduler, and treats an endpoint out of service (ejected or failing its checks) as one already
     * tried for this connection, which is what its failed connects or checks showed: when dh, sh or mh found
     * nothing because the client's slot holds such an endpoint (published with weight 0), or when the scheduler
     * returns a ready endpoint whose health changed since this list was published, it is asked again with them
     * avoided, so dh, sh and mh walk on as after a failed connect. The scheduler's decisions are those of IPVS with
     * the others quiesced (weight 0), but for that walk: IPVS without the {@code -fallback} flag would refuse the
     * client of a bucket whose endpoint is quiesced (docs/operations.md says why svcproxy does not). A client whose
     * slot holds an endpoint of weight 0 for another reason (draining, weight 0 in the config) is refused without
     * the flag, whatever the health of the others.
     */
    private BackendState pickInService(PickContext asked) {
        boolean narrow = hashing && asked.eligible() != null;
        Scheduler s = narrow ? narrowedTo(asked.eligible()) : scheduler;
        // the narrowed table holds the eligible endpoints alone: the filter would make it walk on as on a retry,
        // where the kernel's Local virtual server refuses the client of a slot whose endpoint has weight 0
        PickContext ctx = narrow ? asked.allEligible() : asked;
        BackendState picked = resolve(s.pick(ctx), narrow);
        boolean stale = picked != null && picked.state() == BackendState.State.READY && !picked.inService();
        if (stale || picked == null && !outOfService.isEmpty()
                && outOfService.contains(resolve(s.hashed(ctx), narrow))) {
            PickContext retry = ctx;
            for (BackendState b : outOfService) {
                if (!retry.isAvoided(b)) {
                    retry = retry.withAvoided(b);
                }
            }
            if (stale) {
                retry = retry.withAvoided(picked);
            }
            if (retry != ctx) {
                picked = resolve(s.pick(retry), narrow);
            }
        }
        return picked;
    }

    /**
     * Returns the dh, sh or mh scheduler over the endpoints of this list that {@code eligible} takes. kube-proxy's
     * IPVS mode gives traffic of a {@code Local} policy a virtual server of its own with only those endpoints, so
     * the kernel builds the hash table over them: each takes a share in proportion to its weight. Over the full
     * list's table, the clients of the others' buckets walked on to whichever eligible endpoint followed them (with
     * two of four endpoints local, one took 75% of the clients). The other schedulers keep the full list's state
     * (SPEC: rr position and counts shared).
     */
    private Scheduler narrowedTo(java.util.function.Predicate<Backend> eligible) {
        Narrowed[] built = narrowed;
        for (Narrowed n : built) {
            if (n.eligible() == eligible) {
                return n.scheduler();
            }
        }
        List<BackendState> subset = new java.util.ArrayList<>();
        for (BackendState b : backends) {
            if (eligible.test(b)) {
                subset.add(b);
            }
        }
        Narrowed made = new Narrowed(eligible, scheduler.withBackends(subset));
        if (built.length == 0) {
            narrowed = new Narrowed[] {made};
        } else if (built.length == 1) {
            narrowed = new Narrowed[] {built[0], made};
        } else {
            narrowed = new Narrowed[] {built[1], made}; // a third filter: the oldest goes
        }
        return made.scheduler();
    }

    /** The list's instance of a backend a scheduler returned: a narrowed one holds this list's own instances. */
    private BackendState resolve(Backend picked, boolean narrowedScheduler) {
        return narrowedScheduler ? (BackendState) picked : current(picked);
    }

    /** Returns whether the list holds a draining endpoint: one that left while it still had connections. */
    public boolean hasDraining() {
        return draining;
    }

    /** Returns the backends published out of service (ejected or unhealthy with weight 0). */
    public List<BackendState> outOfService() {
        return outOfService;
    }

    private BackendState current(Backend picked) {
        if (picked == null) {
            return null;
        }
        return current == null ? (BackendState) picked : current.get(picked);
    }

    private static boolean sameList(List<BackendState> a, List<BackendState> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            BackendState x = a.get(i);
            BackendState y = b.get(i);
            if (x != y && !(x.port() == y.port() && x.address().equals(y.address()) && x.weight() == y.weight()
                    && x.lastWeight() == y.lastWeight() && x.state() == y.state()
                    && x.counters() == y.counters())) {
                return false;
            }
        }
        return true;
    }

    private static Set<SchedulerFlag> copyFlags(Set<SchedulerFlag> flags) {
        Objects.requireNonNull(flags, "flags");
        return flags.isEmpty() ? Collections.emptySet()
                : Collections.unmodifiableSet(EnumSet.copyOf(flags));
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }
}
