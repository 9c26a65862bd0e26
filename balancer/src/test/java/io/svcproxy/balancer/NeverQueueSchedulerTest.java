package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.weighted;
import static io.svcproxy.balancer.TestBackends.withConnections;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NeverQueueSchedulerTest {
    private static Scheduler nq(List<BackendState> backends) {
        return Schedulers.create("nq", Set.of(), backends);
    }

    @Test
    void picksTheFirstIdleBackendWhateverItsWeight() {
        List<BackendState> list = weighted(1, 5, 1, 1);
        withConnections(list.get(0), 1, 0);
        withConnections(list.get(1), 3, 0);
        withConnections(list.get(2), 0, 7); // only inactive: idle
        assertThat(nq(list).pick(client("1.1.1.1"))).isSameAs(list.get(2));
    }

    @Test
    void fallsBackToShortestExpectedDelayWhenNoneIsIdle() {
        List<BackendState> list = weighted(1, 5);
        withConnections(list.get(0), 1, 0); // 2/1
        withConnections(list.get(1), 3, 0); // 4/5
        assertThat(nq(list).pick(client("1.1.1.1"))).isSameAs(list.get(1));
    }

    @Test
    void picksTheFirstOnTies() {
        List<BackendState> list = weighted(1, 2);
        withConnections(list.get(0), 1, 0); // 2/1
        withConnections(list.get(1), 3, 0); // 4/2
        assertThat(nq(list).pick(client("1.1.1.1"))).isSameAs(list.get(0));
    }

    @Test
    void skipsIdleBackendsOfWeightZeroAndAvoidedOnes() {
        List<BackendState> list = weighted(0, 1, 1);
        withConnections(list.get(2), 1, 0);
        assertThat(nq(list).pick(client("1.1.1.1"))).isSameAs(list.get(1));
        assertThat(nq(list).pick(client("1.1.1.1").withAvoided(list.get(1)))).isSameAs(list.get(2));
    }
}
