package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.weighted;
import static io.svcproxy.balancer.TestBackends.withConnections;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WeightedLeastConnectionSchedulerTest {
    private static Scheduler wlc(List<BackendState> backends) {
        return Schedulers.create("wlc", Set.of(), backends);
    }

    @Test
    void picksTheLeastOverheadPerWeight() {
        List<BackendState> list = weighted(1, 2);
        withConnections(list.get(0), 1, 0);
        withConnections(list.get(1), 1, 0);
        assertThat(wlc(list).pick(client("1.1.1.1"))).isSameAs(list.get(1)); // 256/1 > 256/2
    }

    @Test
    void picksTheFirstOnTies() {
        List<BackendState> list = weighted(1, 2);
        withConnections(list.get(0), 1, 0);
        withConnections(list.get(1), 2, 0);
        assertThat(wlc(list).pick(client("1.1.1.1"))).isSameAs(list.get(0)); // 256/1 == 512/2
    }

    @Test
    void countsInactiveConnections() {
        List<BackendState> list = weighted(1, 1);
        withConnections(list.get(0), 0, 3);
        withConnections(list.get(1), 0, 2);
        assertThat(wlc(list).pick(client("1.1.1.1"))).isSameAs(list.get(1));
    }

    @Test
    void neverPicksWeightZeroEvenWhenIdle() {
        List<BackendState> list = weighted(0, 3);
        withConnections(list.get(1), 100, 100);
        assertThat(wlc(list).pick(client("1.1.1.1"))).isSameAs(list.get(1));
        assertThat(wlc(weighted(0, 0)).pick(client("1.1.1.1"))).isNull();
    }

    @Test
    void skipsAvoidedBackends() {
        List<BackendState> list = weighted(1, 1, 1);
        withConnections(list.get(2), 1, 0);
        PickContext retry = client("1.1.1.1").withAvoided(list.get(0)).withAvoided(list.get(1));
        assertThat(wlc(list).pick(retry)).isSameAs(list.get(2));
    }

    @Test
    void comparesLargeProductsIn64Bits() {
        List<BackendState> list = weighted(65535, 65534);
        withConnections(list.get(0), 40_000, 0); // 40000 * 256 * 65534 overflows 32 bits
        withConnections(list.get(1), 39_999, 0);
        assertThat(wlc(list).pick(client("1.1.1.1"))).isSameAs(list.get(1));
    }
}
