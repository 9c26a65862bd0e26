package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Lease;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.balancer.sim.Connection;
import io.svcproxy.balancer.sim.EndpointChange;
import io.svcproxy.balancer.sim.Simulation;
import io.svcproxy.balancer.sim.Target;
import io.svcproxy.config.EndpointTarget;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * From helper-115's review: the simulator against an emulation of the live proxy's list handling (EndpointList.of
 * with its DepartedEndpoints, BackendSet.update, republish when a draining endpoint's last connection ends), over
 * seeded random events (weights, removals, additions, weight 0 included) and connections: every pick must be the
 * same. It found mh's endpoint added back with weight 0 (see ReaddedWithWeightZeroTest), and guards the two.
 */
class SimulatorMatchesLiveListTest {
    private static final InetAddress CLUSTER_IP = ip("127.0.10.123");
    private static final long S = 1_000_000_000L;

    private static InetAddress ip(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    /** The live side: a list rebuilt as the reconciler builds it, and a set updated as ServicePort swaps it. */
    private static final class Live {
        final String scheduler;
        final DepartedEndpoints departed = new DepartedEndpoints();
        final Map<String, EndpointTarget> targets = new LinkedHashMap<>();
        final PriorityQueue<long[]> open = new PriorityQueue<>((a, b) -> Long.compare(a[0], b[0]) != 0
                ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        final List<Lease> leases = new ArrayList<>();
        final long[] clock = new long[1];
        BackendSet set;
        long seq;

        Live(String scheduler, List<Target> initial) {
            this.scheduler = scheduler;
            for (Target t : initial) {
                targets.put(t.address().getHostAddress() + ":" + t.port(),
                        EndpointTarget.ready(t.address(), t.port(), t.weight()));
            }
            set = BackendSet.of(scheduler, Set.of(), SessionAffinity.NONE,
                    EndpointList.of(List.of(), List.copyOf(targets.values()), departed), () -> clock[0],
                    new java.util.SplittableRandom(1));
        }

        void publish() {
            set = set.update(scheduler, Set.of(), SessionAffinity.NONE,
                    EndpointList.of(set.backends(), List.copyOf(targets.values()), departed));
        }

        void endUntil(long time) {
            while (!open.isEmpty() && open.peek()[0] <= time) {
                long[] o = open.poll();
                clock[0] = o[0];
                leases.get((int) o[1]).release();
                boolean drained = false;
                for (BackendState b : set.backends()) {
                    drained |= b.state() == BackendState.State.DRAINING
                            && b.activeConnections() + b.inactiveConnections() == 0;
                }
                if (drained) {
                    publish(); // ServicePort.leaseReleased -> healthChanged -> the reconciler publishes again
                }
            }
        }

        String connect(Connection c) {
            clock[0] = c.start();
            BackendState b = set.pick(PickContext.of(c.client(), c.clientPort(), CLUSTER_IP));
            if (b == null) {
                return null;
            }
            Lease lease = b.counters().lease();
            lease.established();
            leases.add(lease);
            open.add(new long[] {c.end(), seq++});
            return b.endpoint();
        }
    }

    @Test
    void theSimulatorPicksAsTheLiveListHandlingOverRandomHistories() {
        List<String> mismatches = new ArrayList<>();
        for (String scheduler : List.of("rr", "wrr", "lc", "wlc", "sed", "nq", "dh", "sh", "mh", "random")) {
            int before = mismatches.size();
            for (int seed = 0; seed < 150 && mismatches.size() == before; seed++) {
                Random r = new Random(seed * 31L + scheduler.hashCode());
                List<Target> initial = new ArrayList<>();
                Set<Integer> live = new java.util.TreeSet<>();
                for (int i = 0; i < 4; i++) {
                    if (r.nextInt(3) > 0) {
                        initial.add(new Target(ip("127.0.0." + (111 + i)), 8080, r.nextInt(4)));
                        live.add(i);
                    }
                }
                List<EndpointChange> events = new ArrayList<>();
                long at = 0;
                for (int e = 0; e < 6; e++) {
                    at += (1 + r.nextInt(5)) * S;
                    int i = r.nextInt(6);
                    InetAddress a = ip("127.0.0." + (111 + i));
                    if (live.contains(i)) {
                        if (r.nextBoolean()) {
                            events.add(new EndpointChange(at, EndpointChange.Kind.REMOVE, a, 8080, 0));
                            live.remove(i);
                        } else {
                            events.add(new EndpointChange(at, EndpointChange.Kind.WEIGHT, a, 8080, r.nextInt(4)));
                        }
                    } else {
                        events.add(new EndpointChange(at, EndpointChange.Kind.ADD, a, 8080, r.nextInt(4)));
                        live.add(i);
                    }
                }
                List<Connection> connections = new ArrayList<>();
                long start = 0;
                for (int c = 0; c < 80; c++) {
                    start += r.nextInt(600_000_000);
                    connections.add(new Connection(start, ip("127.0.115." + (1 + r.nextInt(20))),
                            1024 + r.nextInt(60000), r.nextInt(4) * S / 2));
                }

                List<String> simPicks = new ArrayList<>();
                Simulation sim = Simulation.create(List.of(scheduler), Set.<SchedulerFlag>of(), SessionAffinity.NONE,
                        CLUSTER_IP, initial, events, 1).onPick((s, c, e) -> simPicks.add(e));
                connections.forEach(sim::accept);
                sim.finish();

                Live proxy = new Live(scheduler, initial);
                List<String> livePicks = new ArrayList<>();
                int next = 0;
                for (Connection c : connections) {
                    if (next < events.size() && events.get(next).at() <= c.start()) {
                        while (next < events.size() && events.get(next).at() <= c.start()) {
                            long when = events.get(next).at();
                            proxy.endUntil(when);
                            while (next < events.size() && events.get(next).at() == when) {
                                EndpointChange ev = events.get(next++);
                                String key = ev.address().getHostAddress() + ":" + ev.port();
                                if (ev.kind() == EndpointChange.Kind.REMOVE) {
                                    proxy.targets.remove(key);
                                } else {
                                    proxy.targets.put(key, EndpointTarget.ready(ev.address(), ev.port(), ev.weight()));
                                }
                            }
                            proxy.publish();
                        }
                    }
                    proxy.endUntil(c.start());
                    livePicks.add(proxy.connect(c));
                }
                for (int k = 0; k < connections.size(); k++) {
                    if (!java.util.Objects.equals(simPicks.get(k), livePicks.get(k))) {
                        mismatches.add(scheduler + " seed " + seed + " connection " + k + ": simulator "
                                + simPicks.get(k) + ", live " + livePicks.get(k) + "; initial " + initial
                                + " events " + events);
                        break;
                    }
                }
            }
        }
        assertThat(mismatches).as("the simulator's picks against the live list handling").isEmpty();
    }
}
