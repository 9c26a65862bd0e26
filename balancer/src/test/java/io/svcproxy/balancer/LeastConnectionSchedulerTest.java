package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.weighted;
import static io.svcproxy.balancer.TestBackends.withConnections;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LeastConnectionSchedulerTest {
    private static Scheduler lc(List<BackendState> backends) {
        return Schedulers.create("lc", Set.of(), backends);
    }

    @Test
    void weighsAnActiveConnectionAs256Inactive() {
        List<BackendState> list = weighted(1, 1);
        withConnections(list.get(0), 1, 0);   // 256
        withConnections(list.get(1), 0, 255); // 255
        assertThat(lc(list).pick(client("1.1.1.1"))).isSameAs(list.get(1));
        withConnections(list.get(1), 0, 1);   // 256: a tie
        assertThat(lc(list).pick(client("1.1.1.1"))).isSameAs(list.get(0));
    }

    @Test
    void picksTheFirstOnTiesAndIgnoresWeightsAboveZero() {
        List<BackendState> list = weighted(1, 9, 1);
        withConnections(list.get(0), 2, 0);
        withConnections(list.get(1), 1, 3);
        withConnections(list.get(2), 1, 3);
        assertThat(lc(list).pick(client("1.1.1.1"))).isSameAs(list.get(1));
    }

    @Test
    void followsTheCountersAsLeasesMove() {
        List<BackendState> list = weighted(1, 1);
        Scheduler s = lc(list);
        Lease first = list.get(0).counters().lease();
        assertThat(s.pick(client("1.1.1.1"))).isSameAs(list.get(1));
        first.established();
        Lease second = list.get(1).counters().lease();
        assertThat(s.pick(client("1.1.1.1"))).isSameAs(list.get(1)); // 256 vs 1
        second.established();
        assertThat(s.pick(client("1.1.1.1"))).isSameAs(list.get(0)); // tie
        first.release();
        assertThat(s.pick(client("1.1.1.1"))).isSameAs(list.get(0));
    }

    @Test
    void skipsWeightZeroAndAvoidedBackends() {
        List<BackendState> list = weighted(0, 1, 1);
        withConnections(list.get(2), 5, 0);
        Scheduler s = lc(list);
        assertThat(s.pick(client("1.1.1.1"))).isSameAs(list.get(1));
        assertThat(s.pick(client("1.1.1.1").withAvoided(list.get(1)))).isSameAs(list.get(2));
        assertThat(s.pick(client("1.1.1.1").withAvoided(list.get(1)).withAvoided(list.get(2)))).isNull();
    }
}
