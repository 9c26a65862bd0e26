package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.picks;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WeightedRoundRobinSchedulerTest {
    private static Scheduler wrr(List<BackendState> backends) {
        return Schedulers.create("wrr", Set.of(), backends);
    }

    @Test
    void picksTheClassicLvsSequence() {
        assertThat(picks(wrr(weighted(4, 3, 2)), client("1.1.1.1"), 18)).containsExactly(
                "A", "A", "B", "A", "B", "C", "A", "B", "C",
                "A", "A", "B", "A", "B", "C", "A", "B", "C");
    }

    @Test
    void stepsDownByTheGcdOfTheWeights() {
        assertThat(picks(wrr(weighted(4, 2)), client("1.1.1.1"), 6)).containsExactly("A", "A", "B", "A", "A", "B");
    }

    @Test
    void neverPicksWeightZero() {
        assertThat(picks(wrr(weighted(0, 1, 2)), client("1.1.1.1"), 6)).containsExactly("C", "B", "C", "C", "B", "C");
    }

    @Test
    void returnsNullWhenAllWeightsAreZero() {
        assertThat(wrr(weighted(0, 0)).pick(client("1.1.1.1"))).isNull();
        assertThat(wrr(List.of()).pick(client("1.1.1.1"))).isNull();
    }

    @Test
    void skipsAvoidedBackendsAndReturnsNullWhenAllAreAvoided() {
        List<BackendState> list = weighted(4, 3, 2);
        Scheduler s = wrr(list);
        PickContext avoidA = client("1.1.1.1").withAvoided(list.get(0));
        assertThat(s.pick(avoidA)).isSameAs(list.get(1));
        assertThat(s.pick(avoidA.withAvoided(list.get(1)).withAvoided(list.get(2)))).isNull();
    }

    @Test
    void restartsTheCycleFromTheFirstKeepingTheCurrentWeightWhenTheListChanges() {
        Scheduler s = wrr(weighted(4, 3, 2));
        assertThat(picks(s, client("1.1.1.1"), 3)).containsExactly("A", "A", "B"); // cw is now 3
        Scheduler next = s.withBackends(weighted(4, 3, 2, 1));
        assertThat(picks(next, client("1.1.1.1"), 11))
                .containsExactly("A", "B", "A", "B", "C", "A", "B", "C", "D", "A", "A");
    }

    @Test
    void roundsTheCurrentWeightToTheNewGcdPlusOne() {
        Scheduler s = wrr(weighted(4, 2));
        assertThat(picks(s, client("1.1.1.1"), 2)).containsExactly("A", "A"); // cw = 1
        Scheduler next = s.withBackends(weighted(6, 4)); // di 2, mw 5, cw (1 / 2) * 2 + 1 = 1
        assertThat(picks(next, client("1.1.1.1"), 8)).containsExactly("A", "B", "A", "A", "B", "A", "B", "A");
    }

    @Test
    void resetsTheCurrentWeightWhenItExceedsTheNewMaximum() {
        Scheduler s = wrr(weighted(4, 3, 2));
        s.pick(client("1.1.1.1")); // cw = 4
        Scheduler next = s.withBackends(weighted(1, 1));
        assertThat(picks(next, client("1.1.1.1"), 4)).containsExactly("A", "B", "A", "B");
    }
}
