package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Shares of 100k picks, within a tolerance. */
class DistributionTest {
    private static final int PICKS = 100_000;

    private static Map<Backend, Integer> count(Scheduler s, java.util.function.IntFunction<PickContext> ctx) {
        Map<Backend, Integer> counts = new IdentityHashMap<>();
        for (int i = 0; i < PICKS; i++) {
            counts.merge(s.pick(ctx.apply(i)), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void rrSharesEqually() {
        List<BackendState> list = weighted(1, 7, 1, 3);
        Map<Backend, Integer> counts = count(Schedulers.create("rr", Set.of(), list), i -> client("1.1.1.1"));
        for (BackendState b : list) {
            assertThat(counts.get(b)).isEqualTo(PICKS / 4);
        }
    }

    @Test
    void wrrSharesInProportionToWeight() {
        List<BackendState> list = weighted(1, 2, 3, 4, 0);
        Map<Backend, Integer> counts = count(Schedulers.create("wrr", Set.of(), list), i -> client("1.1.1.1"));
        for (int i = 0; i < 4; i++) {
            assertThat(counts.get(list.get(i)) / (double) PICKS).isCloseTo((i + 1) / 10.0, within(0.001));
        }
        assertThat(counts).doesNotContainKey(list.get(4));
    }

    @Test
    void mhAndShShareClientsInProportionToWeight() {
        List<BackendState> list = weighted(1, 2, 3, 4);
        Random random = new Random(42);
        int[] addresses = random.ints(PICKS).toArray();
        for (String name : List.of("mh", "sh")) {
            Map<Backend, Integer> counts = count(Schedulers.create(name, Set.of(), list), i -> {
                int a = addresses[i];
                return client((a >>> 24) + "." + (a >>> 16 & 255) + "." + (a >>> 8 & 255) + "." + (a & 255));
            });
            for (int i = 0; i < 4; i++) {
                assertThat(counts.get(list.get(i)) / (double) PICKS).as(name).isCloseTo((i + 1) / 10.0, within(0.02));
            }
        }
    }
}
