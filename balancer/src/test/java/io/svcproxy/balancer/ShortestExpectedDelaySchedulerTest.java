package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.weighted;
import static io.svcproxy.balancer.TestBackends.withConnections;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ShortestExpectedDelaySchedulerTest {
    private static Scheduler sed(List<BackendState> backends) {
        return Schedulers.create("sed", Set.of(), backends);
    }

    @Test
    void picksTheLeastActivePlusOnePerWeight() {
        List<BackendState> list = weighted(1, 3);
        withConnections(list.get(1), 1, 0);
        assertThat(sed(list).pick(client("1.1.1.1"))).isSameAs(list.get(1)); // 1/1 > 2/3
    }

    @Test
    void picksTheFirstOnTies() {
        List<BackendState> list = weighted(1, 2);
        withConnections(list.get(1), 1, 0);
        assertThat(sed(list).pick(client("1.1.1.1"))).isSameAs(list.get(0)); // 1/1 == 2/2
    }

    @Test
    void ignoresInactiveConnections() {
        List<BackendState> list = weighted(1, 1);
        withConnections(list.get(0), 0, 100);
        assertThat(sed(list).pick(client("1.1.1.1"))).isSameAs(list.get(0));
    }

    @Test
    void alwaysPicksTheHighestWeightWhileAllAreIdle() {
        List<BackendState> list = weighted(1, 3, 2);
        assertThat(sed(list).pick(client("1.1.1.1"))).isSameAs(list.get(1));
    }

    @Test
    void skipsWeightZeroAndAvoidedBackends() {
        List<BackendState> list = weighted(0, 3, 1);
        assertThat(sed(list).pick(client("1.1.1.1").withAvoided(list.get(1)))).isSameAs(list.get(2));
        assertThat(sed(list).pick(client("1.1.1.1").withAvoided(list.get(1)).withAvoided(list.get(2)))).isNull();
    }
}
