package io.svcproxy.balancer.sim;

import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.Schedulers;
import io.svcproxy.balancer.SessionAffinity;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Replays one Service port's connections, in start order, under several schedulers at once, each from a fresh
 * state, with the balancer code the proxy runs. Feed it with {@link #accept} and read the results with
 * {@link #finish}. Memory holds the open connections and per endpoint counts, not the trace.
 *
 * <p>Per connection, as the proxy would see it: connections that ended by its start are released, the events at
 * or before its start are applied (as reloads: removed endpoints keep their connections until they end, or until
 * the {@link #drainTimeout drain timeout}), then the scheduler picks (events of the same time are applied as one
 * reload), the connection takes a lease and is established at once (synthetic counts: the replay has no connect time, so an earlier connection is active, not
 * inactive, when the next one is picked). A UDP port's flows are not: the proxy counts a flow as one inactive
 * connection for its whole life ({@link #create(List, Set, SessionAffinity, InetAddress, List, List, long,
 * boolean)}), and ends it when a reload removes its endpoint or sets its weight to 0.
 */
public final class Simulation {
    private final List<Replay> replays = new ArrayList<>();
    private final List<String> names;
    private final List<EndpointChange> events;
    private final Map<String, Target> targets = new LinkedHashMap<>();
    private int nextEvent;
    private long lastStart = Long.MIN_VALUE;
    private boolean finished;
    private PickListener listener = (s, c, e) -> { };

    private Simulation(List<String> names, List<EndpointChange> events) {
        this.names = names;
        this.events = events;
    }

    /**
     * Returns a simulation of one Service port.
     *
     * @param schedulers the schedulers to replay under, each from a fresh state
     * @param flags the Service's scheduler flags; each scheduler takes those that belong to it
     * @param affinity the Service's session affinity
     * @param destination the clusterIP (the key of dh)
     * @param endpoints the configured endpoints with their weights
     * @param events the changes, in the order of their times (ties: in list order)
     * @throws IllegalArgumentException an unknown scheduler, or events out of order
     */
    public static Simulation create(List<String> schedulers, Set<SchedulerFlag> flags, SessionAffinity affinity,
                                    InetAddress destination, List<Target> endpoints, List<EndpointChange> events) {
        return create(schedulers, flags, affinity, destination, endpoints, events, 1);
    }

    /**
     * Returns a simulation of one Service port whose {@code random} scheduler draws from a generator seeded with
     * {@code seed} ({@link SplittableRandom}): the same seed, the same picks.
     *
     * @throws IllegalArgumentException as {@link #create(List, Set, SessionAffinity, InetAddress, List, List)}
     */
    public static Simulation create(List<String> schedulers, Set<SchedulerFlag> flags, SessionAffinity affinity,
                                    InetAddress destination, List<Target> endpoints, List<EndpointChange> events,
                                    long seed) {
        return create(schedulers, flags, affinity, destination, endpoints, events, seed, false);
    }

    /**
     * Returns a simulation of one Service port, {@code flows}: a UDP port's, whose flows each count as one inactive
     * connection of their endpoint (lc, wlc, sed and nq see them as the proxy does), not as active ones.
     *
     * @throws IllegalArgumentException as {@link #create(List, Set, SessionAffinity, InetAddress, List, List)}
     */
    public static Simulation create(List<String> schedulers, Set<SchedulerFlag> flags, SessionAffinity affinity,
                                    InetAddress destination, List<Target> endpoints, List<EndpointChange> events,
                                    long seed, boolean flows) {
        Objects.requireNonNull(destination, "destination");
        for (int i = 1; i < events.size(); i++) {
            if (events.get(i).at() < events.get(i - 1).at()) {
                throw new IllegalArgumentException("events out of order at " + i);
            }
        }
        Simulation sim = new Simulation(List.copyOf(schedulers), List.copyOf(events));
        for (Target t : endpoints) {
            sim.targets.put(Backends.format(t.address(), t.port()), t);
        }
        for (String name : schedulers) {
            if (!Schedulers.isKnown(name)) {
                throw new IllegalArgumentException(
                        "unknown scheduler: " + name + " (expected: " + String.join(", ", Schedulers.NAMES) + ")");
            }
            EnumSet<SchedulerFlag> own = EnumSet.noneOf(SchedulerFlag.class);
            for (SchedulerFlag f : flags) {
                if (f.scheduler().equals(name)) {
                    own.add(f);
                }
            }
            sim.replays.add(new Replay(name, own, affinity, destination, List.copyOf(sim.targets.values()),
                    !events.isEmpty(), flows, new SplittableRandom(seed)));
        }
        return sim;
    }

    /**
     * Replays one connection under every scheduler.
     *
     * @throws IllegalArgumentException {@code c} starts before the previous one
     */
    public void accept(Connection c) {
        if (finished) {
            throw new IllegalStateException("finished");
        }
        if (c.start() < lastStart) {
            throw new IllegalArgumentException("start: " + c.start() + " (expected: >= " + lastStart + ")");
        }
        lastStart = c.start();
        while (nextEvent < events.size() && events.get(nextEvent).at() <= c.start()) {
            long at = events.get(nextEvent).at();
            for (Replay r : replays) {
                r.endUntil(at);
            }
            boolean first = nextEvent == 0;
            // the events of one time are one reload (a rolling update replaces endpoints in one step)
            while (nextEvent < events.size() && events.get(nextEvent).at() == at) {
                apply(events.get(nextEvent++));
            }
            for (Replay r : replays) {
                if (first) {
                    r.firstEvent();
                }
                r.reload(at, List.copyOf(targets.values()));
            }
        }
        for (Replay r : replays) {
            r.endUntil(c.start());
            r.connect(c, listener);
        }
    }

    private void apply(EndpointChange e) {
        String key = Backends.format(e.address(), e.port());
        switch (e.kind()) {
            case WEIGHT:
            case ADD:
                targets.put(key, new Target(e.address(), e.port(), e.weight()));
                break;
            case REMOVE:
                targets.remove(key);
                break;
            default:
                throw new AssertionError(e.kind());
        }
    }

    /** Ends every connection and returns each scheduler's numbers, in the order of {@code schedulers}. */
    public List<SchedulerResult> finish() {
        finished = true;
        List<SchedulerResult> results = new ArrayList<>();
        for (Replay r : replays) {
            results.add(r.finish());
        }
        return results;
    }

    /**
     * Cuts a removed endpoint's connections {@code timeout} after its removal, as the proxy resets them at its
     * {@code drainTimeout}; without it they go on until they end. Call before the first {@link #accept}.
     */
    public Simulation drainTimeout(java.time.Duration timeout) {
        long nanos = timeout.toNanos();
        for (Replay r : replays) {
            r.drainTimeout(nanos);
        }
        return this;
    }

    /** Tells {@code listener} of every pick from now on. */
    public Simulation onPick(PickListener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        return this;
    }

    /** Returns the scheduler names, in the order given. */
    public List<String> schedulers() {
        return names;
    }
}
