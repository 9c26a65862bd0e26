package io.svcproxy.balancer.sim;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.Lease;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.SessionAffinity;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * One scheduler's replay: a {@link BackendSet} built as the reconciler builds it, a lease per connection taken
 * from the endpoint's own counters, released when the connection ends by the virtual clock. A removed endpoint
 * stays in the list, draining, while it holds connections, and leaves it when its last one ends (the proxy
 * publishes the list again then, which restarts wrr's cycle and rebuilds sh's, mh's and dh's tables). A UDP port's
 * flows do not drain: those of an endpoint removed or set to weight 0 end at the reload, as the proxy ends them.
 * With a drain timeout, a removed endpoint's connections are cut that long after its removal, as the proxy resets
 * them.
 */
final class Replay {
    /** An open connection: its end, its lease, and its endpoint's statistics. */
    private record Open(long end, long seq, Lease lease, EndpointStats stats) {
    }

    /** What is counted per endpoint, by {@code ip:port}, across the endpoint's snapshots. */
    static final class EndpointStats {
        final String endpoint;
        final int index;
        long connections;
        int active;
        int peakActive;
        boolean everWeighted;

        EndpointStats(String endpoint, int index) {
            this.endpoint = endpoint;
            this.index = index;
        }
    }

    private final String scheduler;
    private final Set<SchedulerFlag> flags;
    private final SessionAffinity affinity;
    private final InetAddress destination;
    /** The virtual clock, read by the affinity table: the time of the event being replayed. */
    private final long[] clock;
    private final PriorityQueue<Open> open = new PriorityQueue<>(
            (a, b) -> a.end != b.end ? Long.compare(a.end, b.end) : Long.compare(a.seq, b.seq));
    private final Map<String, EndpointStats> stats;
    private final Timeline timeline = new Timeline();
    private final ClientMoves moves;
    /** A UDP port's flows: each one inactive connection of its endpoint for its whole life, as the proxy counts it. */
    private final boolean flows;
    private BackendSet set;
    /** The targets of the last reload, for the list built again when a draining endpoint's last connection ends. */
    private List<Target> targets;

    /** How long a removed endpoint's connections go on before the proxy cuts them; {@code Long.MAX_VALUE}: never. */
    private long drainTimeout = Long.MAX_VALUE;
    /** When each draining endpoint's connections are cut: its removal plus {@link #drainTimeout}. */
    private final Map<String, Long> cuts = new HashMap<>();

    private long seq;
    private long refused;

    Replay(String scheduler, Set<SchedulerFlag> flags, SessionAffinity affinity, InetAddress destination,
           List<Target> targets, boolean trackMoves, boolean flows, java.util.random.RandomGenerator random) {
        this.scheduler = scheduler;
        this.flags = flags;
        this.affinity = affinity;
        this.destination = destination;
        this.clock = new long[1];
        this.stats = new java.util.LinkedHashMap<>();
        this.moves = trackMoves ? new ClientMoves() : null;
        this.flows = flows;
        this.targets = targets;
        this.set = BackendSet.of(scheduler, flags, affinity, build(List.of(), targets), () -> clock[0], random);
    }

    /** Builds the list as the reconciler does: targets with their weights, removed endpoints with connections draining. */
    private List<BackendState> build(List<BackendState> previous, List<Target> targets) {
        Map<String, BackendState> known = new HashMap<>();
        for (BackendState b : previous) {
            known.put(b.endpoint(), b);
        }
        List<BackendState> list = new ArrayList<>();
        for (Target t : targets) {
            BackendState old = known.remove(Backends.format(t.address(), t.port()));
            list.add(old == null ? BackendState.of(t.address(), t.port(), t.weight())
                    : old.withWeight(t.weight(), BackendState.State.READY));
        }
        for (BackendState gone : known.values()) {
            if (gone.activeConnections() + gone.inactiveConnections() > 0) {
                list.add(gone.withWeight(0, BackendState.State.DRAINING));
            }
        }
        list.sort(Backends.ORDER);
        for (BackendState b : list) {
            EndpointStats s = stats(b.endpoint());
            s.everWeighted |= b.weight() > 0;
        }
        return list;
    }

    private EndpointStats stats(String endpoint) {
        return stats.computeIfAbsent(endpoint, e -> new EndpointStats(e, stats.size()));
    }

    void drainTimeout(long nanos) {
        this.drainTimeout = nanos;
    }

    /**
     * Ends the connections that end at or before {@code time}, and cuts those of an endpoint removed longer than
     * the drain timeout ago, in time order.
     */
    void endUntil(long time) {
        while (true) {
            Map.Entry<String, Long> cut = null;
            for (Map.Entry<String, Long> c : cuts.entrySet()) {
                if (cut == null || c.getValue() < cut.getValue()) {
                    cut = c;
                }
            }
            boolean cutFirst = cut != null && cut.getValue() <= time
                    && (open.isEmpty() || cut.getValue() < open.peek().end);
            if (cutFirst) {
                cuts.remove(cut.getKey());
                endAll(cut.getKey(), cut.getValue()); // the proxy resets them at the drain timeout
            } else if (!open.isEmpty() && open.peek().end <= time) {
                Open o = open.poll();
                end(o, o.end);
            } else {
                return;
            }
            if (set.hasDraining() && drained()) {
                reload(targets); // the drained endpoint leaves the list, as the proxy drops it
            }
        }
    }

    /** Ends, at {@code at}, every open connection of {@code endpoint}. */
    private void endAll(String endpoint, long at) {
        List<Open> ending = new ArrayList<>();
        for (Open o : open) {
            if (o.stats.endpoint.equals(endpoint)) {
                ending.add(o);
            }
        }
        ending.sort(open.comparator());
        for (Open o : ending) {
            open.remove(o);
            end(o, at);
        }
    }

    private void end(Open o, long at) {
        clock[0] = at;
        o.lease.release();
        o.stats.active--;
        timeline.record(at, o.stats.index, o.stats.active);
    }

    /** Whether a draining endpoint of the list has no connection left. */
    private boolean drained() {
        for (BackendState b : set.backends()) {
            if (b.state() == BackendState.State.DRAINING && b.activeConnections() + b.inactiveConnections() == 0) {
                return true;
            }
        }
        return false;
    }

    /** Applies a new list of targets at {@code at}, as a reload does. */
    void reload(long at, List<Target> targets) {
        clock[0] = at;
        if (flows) {
            endFlowsLeaving(at, targets);
        }
        reload(targets);
    }

    /**
     * Ends, at {@code at}, the flows of the endpoints that leave the list or go to weight 0: UDP has nothing to
     * drain, and the proxy ends such flows at the reload (UdpFlows.endpointsChanged) rather than keep their endpoint
     * draining.
     */
    private void endFlowsLeaving(long at, List<Target> targets) {
        Set<String> usable = new HashSet<>();
        for (Target t : targets) {
            if (t.weight() > 0) {
                usable.add(Backends.format(t.address(), t.port()));
            }
        }
        for (BackendState b : set.backends()) {
            if (!usable.contains(b.endpoint())) {
                endAll(b.endpoint(), at);
            }
        }
    }

    private void reload(List<Target> targets) {
        this.targets = targets;
        set = set.update(scheduler, flags, affinity, build(set.backends(), targets));
        // a cut is kept while its endpoint drains: dropped when it returns to the list or leaves it drained
        Map<String, Long> kept = new HashMap<>();
        for (BackendState b : set.backends()) {
            if (b.state() == BackendState.State.DRAINING) {
                Long cut = cuts.get(b.endpoint());
                if (cut != null) {
                    kept.put(b.endpoint(), cut);
                } else if (drainTimeout != Long.MAX_VALUE) {
                    kept.put(b.endpoint(), clock[0] + Math.min(drainTimeout, Long.MAX_VALUE - clock[0]));
                }
            }
        }
        cuts.clear();
        cuts.putAll(kept);
    }

    /** Marks the first event: clients seen from now on count as "after". */
    void firstEvent() {
        if (moves != null) {
            moves.startAfter();
        }
    }

    /** Picks an endpoint for {@code c}, as the proxy's first attempt does, and holds it until {@code c} ends. */
    void connect(Connection c, PickListener listener) {
        clock[0] = c.start();
        BackendState b = set.pick(PickContext.of(c.client(), c.clientPort(), destination));
        if (b == null) {
            refused++;
            listener.picked(scheduler, c, null);
            return;
        }
        Lease lease = b.counters().lease();
        if (!flows) {
            lease.established(); // no connect time in a replay: active from its start
        }
        EndpointStats s = stats(b.endpoint());
        s.connections++;
        s.active++;
        s.peakActive = Math.max(s.peakActive, s.active);
        timeline.record(c.start(), s.index, s.active);
        open.add(new Open(c.end(), seq++, lease, s));
        if (moves != null) {
            moves.saw(c.client(), s.index);
        }
        listener.picked(scheduler, c, s.endpoint);
    }

    SchedulerResult finish() {
        endUntil(Long.MAX_VALUE);
        List<SchedulerResult.EndpointResult> endpoints = new ArrayList<>();
        long total = 0;
        for (EndpointStats s : stats.values()) {
            total += s.connections;
        }
        List<EndpointStats> ordered = new ArrayList<>(stats.values());
        ordered.sort((a, b) -> Integer.compare(a.index, b.index));
        long maxConnections = 0;
        long sumConnections = 0;
        int maxPeak = 0;
        long sumPeak = 0;
        int weighted = 0;
        for (EndpointStats s : ordered) {
            endpoints.add(new SchedulerResult.EndpointResult(s.endpoint, s.index, s.connections, s.peakActive,
                    total == 0 ? 0 : (double) s.connections / total));
            maxConnections = Math.max(maxConnections, s.connections);
            maxPeak = Math.max(maxPeak, s.peakActive);
            if (s.everWeighted) {
                weighted++;
                sumConnections += s.connections;
                sumPeak += s.peakActive;
            }
        }
        double imbalance = ratio(maxConnections, sumConnections, weighted);
        double peakImbalance = ratio(maxPeak, sumPeak, weighted);
        return new SchedulerResult(scheduler, List.copyOf(endpoints), total, refused, imbalance, peakImbalance,
                moves == null ? 0 : moves.moved(), timeline);
    }

    private static double ratio(long max, long sum, int n) {
        if (n == 0 || sum == 0) {
            return 0;
        }
        return max / ((double) sum / n);
    }
}
