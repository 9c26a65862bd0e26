package io.svcproxy.balancer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** kube-proxy's iptables-mode random pick: the cascade of 1/(N-n+1) rules, weighted, with an injected source. */
class RandomSchedulerTest {
    static final PickContext CTX = PickContext.of(ip("127.0.1.1"), 40000, ip("127.0.10.1"));

    static InetAddress ip(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static List<BackendState> backends(int... weights) {
        List<BackendState> list = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            list.add(BackendState.of(ip("127.0.0." + (10 + i)), 8080, weights[i]));
        }
        return list;
    }

    /** A source that returns the given draws in turn (each must be below the bound it is asked with). */
    static RandomGenerator draws(long... values) {
        long[] next = {0};
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException("the scheduler draws bounded values");
            }

            @Override
            public long nextLong(long bound) {
                long v = values[(int) next[0]++];
                assertThat(v).as("draw below %d", bound).isLessThan(bound);
                return v;
            }
        };
    }

    @Test
    void followsTheIptablesCascadeRuleByRule() {
        List<BackendState> list = backends(1, 1, 1);
        // rule 1: 1/3 (draw 0 of 3 matches); rule 2: 1/2; rule 3 always
        assertThat(Schedulers.create("random", Set.of(), list, draws(0)).pick(CTX)).isSameAs(list.get(0));
        assertThat(Schedulers.create("random", Set.of(), list, draws(1, 0)).pick(CTX)).isSameAs(list.get(1));
        assertThat(Schedulers.create("random", Set.of(), list, draws(2, 1)).pick(CTX)).isSameAs(list.get(2));
    }

    @Test
    void weightsMakeEachRuleTheShareOfTheRemainingWeight() {
        List<BackendState> list = backends(3, 1);
        Scheduler s = Schedulers.create("random", Set.of(), list, draws(2, 3));
        assertThat(s.pick(CTX)).as("draw 2 of 4 < 3").isSameAs(list.get(0));
        assertThat(s.pick(CTX)).as("draw 3 of 4 >= 3: the last takes the rest").isSameAs(list.get(1));
    }

    @Test
    void skipsWeightZeroAndTriedEndpointsAndFindsNothingWhenAllAreOut() {
        List<BackendState> list = backends(0, 1, 1);
        Scheduler s = Schedulers.create("random", Set.of(), list, draws(0));
        assertThat(s.pick(CTX.withAvoided(list.get(1)))).as("only the third is left: no draw")
                .isSameAs(list.get(2));
        assertThat(s.pick(CTX.withAvoided(list.get(1)).withAvoided(list.get(2)))).isNull();
        assertThat(s.pick(CTX)).isSameAs(list.get(1));
    }

    @Test
    void spreadsUniformlyAndInProportionToWeight() {
        List<BackendState> list = backends(1, 2, 3, 4);
        Scheduler s = Schedulers.create("random", Set.of(), list, new SplittableRandom(7));
        Map<Backend, Integer> counts = new HashMap<>();
        int n = 200_000;
        for (int i = 0; i < n; i++) {
            counts.merge(s.pick(CTX), 1, Integer::sum);
        }
        for (int i = 0; i < list.size(); i++) {
            assertThat(counts.get(list.get(i)) / (double) n).as("share of weight %d", i + 1)
                    .isCloseTo((i + 1) / 10.0, within(0.01));
        }
    }

    @Test
    void keepsItsSourceAcrossReloadsAndIsNamedRandom() {
        Scheduler s = Schedulers.create("random", Set.of(), backends(1), draws(0));
        Scheduler next = s.withBackends(backends(1, 1));
        assertThat(next.name()).isEqualTo("random");
        assertThat(next.pick(CTX)).isSameAs(next.backends().get(0));
    }

    @Property(tries = 200)
    void neverPicksWeightZeroAndAlwaysPicksWhenSomeoneIsAvailable(
            @ForAll @Size(min = 1, max = 12) List<@IntRange(min = 0, max = 5) Integer> weights,
            @ForAll long seed) {
        List<BackendState> list = backends(weights.stream().mapToInt(Integer::intValue).toArray());
        Scheduler s = Schedulers.create("random", Set.of(), list, new SplittableRandom(seed));
        boolean any = weights.stream().anyMatch(w -> w > 0);
        for (int i = 0; i < 20; i++) {
            Backend b = s.pick(CTX);
            if (any) {
                assertThat(b).isNotNull();
                assertThat(b.weight()).isPositive();
            } else {
                assertThat(b).isNull();
            }
        }
    }
}
