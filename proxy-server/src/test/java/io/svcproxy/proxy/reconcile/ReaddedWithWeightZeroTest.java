package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.balancer.sim.Connection;
import io.svcproxy.balancer.sim.EndpointChange;
import io.svcproxy.balancer.sim.Simulation;
import io.svcproxy.balancer.sim.Target;
import io.svcproxy.config.EndpointTarget;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * From helper-115's review: an endpoint that left the list (no connections) and comes back with weight 0 kept, in
 * the live proxy, the mh slots of the weight it had before it left. The kernel adds it back through
 * {@code ip_vs_add_dest}, whose {@code __ip_vs_update_dest(svc, dest, udest, add=1)} sets {@code last_weight} to the
 * new weight whether the dest is new or taken back from the trash ({@code if (add || udest->weight != 0)
 * atomic_set(&dest->last_weight, udest->weight)}), so it has no slot in {@code ip_vs_mh_populate} ({@code turns =
 * ... ?: (lw != 0)} = 0) and every client goes to the other endpoints. The simulator (Replay.build: a new
 * BackendState) agreed with the kernel; the live list (EndpointList.of with DepartedEndpoints) did not, until
 * {@code BackendState.added}.
 */
class ReaddedWithWeightZeroTest {
    private static final InetAddress CLUSTER_IP = ip("127.0.10.122");

    private static InetAddress ip(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    private static EndpointTarget ready(String ip, int weight) {
        return EndpointTarget.ready(ip(ip), 8080, weight);
    }

    @Test
    void anEndpointBackWithWeightZeroHasNoMaglevSlotsAsInTheKernel() {
        DepartedEndpoints departed = new DepartedEndpoints();
        List<BackendState> first = EndpointList.of(List.of(),
                List.of(ready("127.0.0.111", 1), ready("127.0.0.112", 1)), departed);
        // B leaves with no connection (ipvsadm -d: the kernel's del_dest), then comes back with weight 0
        // (ipvsadm -a -w 0)
        List<BackendState> without = EndpointList.of(first, List.of(ready("127.0.0.111", 1)), departed);
        List<BackendState> back = EndpointList.of(without,
                List.of(ready("127.0.0.111", 1), ready("127.0.0.112", 0)), departed);
        BackendState b = back.get(1);
        assertThat(b.endpoint()).isEqualTo("127.0.0.112:8080");

        // live: the proxy's BackendSet over that list
        BackendSet live = BackendSet.of("mh", Set.of(), SessionAffinity.NONE, back, System::nanoTime);
        List<String> livePicks = new ArrayList<>();
        List<String> simPicks = new ArrayList<>();
        List<Connection> connections = new ArrayList<>();
        for (int i = 1; i <= 40; i++) {
            InetAddress client = ip("127.0.115." + i);
            BackendState p = live.pick(PickContext.of(client, 40000, CLUSTER_IP));
            livePicks.add(p == null ? "refused" : p.endpoint());
            connections.add(new Connection(10_000_000_000L + i, client, 40000, 0));
        }

        // the simulator over the same history: B removed at 1 s, added back with weight 0 at 2 s
        Simulation sim = Simulation.create(List.of("mh"), Set.of(), SessionAffinity.NONE, CLUSTER_IP,
                List.of(new Target(ip("127.0.0.111"), 8080, 1), new Target(ip("127.0.0.112"), 8080, 1)),
                List.of(new EndpointChange(1_000_000_000L, EndpointChange.Kind.REMOVE, ip("127.0.0.112"), 8080, 0),
                        new EndpointChange(2_000_000_000L, EndpointChange.Kind.ADD, ip("127.0.0.112"), 8080, 0)))
                .onPick((s, c, e) -> simPicks.add(e == null ? "refused" : e));
        sim.accept(new Connection(0, ip("127.0.115.99"), 40000, 0)); // before the events
        sim.accept(new Connection(1_500_000_000L, ip("127.0.115.99"), 40000, 0)); // between them
        simPicks.clear();
        connections.forEach(sim::accept);
        sim.finish();

        // kernel: last_weight(B) = 0 after the add, so the Maglev table is A's alone: every client gets A
        List<String> kernel = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            kernel.add("127.0.0.111:8080");
        }
        assertThat(simPicks).as("the simulator: as the kernel").isEqualTo(kernel);
        assertThat(livePicks).as("the live proxy's picks: clients of B's old slots are refused").isEqualTo(kernel);
        assertThat(b.lastWeight()).as("last_weight of a dest added back with weight 0 (ip_vs_add_dest, add=1)")
                .isZero();
    }
}
