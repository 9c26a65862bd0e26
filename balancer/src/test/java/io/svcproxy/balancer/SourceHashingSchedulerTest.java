package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.name;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SourceHashingSchedulerTest {
    private static SourceHashingScheduler sh(List<BackendState> backends, SchedulerFlag... flags) {
        return (SourceHashingScheduler) Schedulers.create("sh", Set.of(flags), backends);
    }

    @Test
    void fillsTheTableWithWeightConsecutiveBucketsPerBackend() {
        int[] table = sh(weighted(1, 2)).table();
        for (int i = 0; i < table.length; i++) {
            assertThat(table[i]).as("bucket %d", i).isEqualTo(i % 3 == 0 ? 0 : 1);
        }
    }

    @Test
    void givesABackendOfWeightZeroOneBucketPerTurn() {
        int[] table = sh(weighted(0, 2)).table();
        assertThat(table).startsWith(0, 1, 1, 0, 1, 1);
    }

    @Test
    void hashesTheClientAddress() {
        Scheduler s = sh(weighted(1, 1, 1));
        assertThat(name(s.pick(client("10.0.0.1")))).isEqualTo("A");  // bucket 39 -> 39 mod 3 = 0
        assertThat(name(s.pick(client("10.0.0.2")))).isEqualTo("C");  // bucket 137 -> 2
        assertThat(name(s.pick(client("10.244.1.7")))).isEqualTo("A"); // bucket 54 -> 0
        assertThat(name(s.pick(client("192.168.1.10")))).isEqualTo("C"); // bucket 248 -> 2
    }

    @Test
    void hashesTheClientPortOnlyWithShPort() {
        assertThat(name(sh(weighted(1, 1, 1)).pick(client("10.0.0.1", 40000)))).isEqualTo("A");
        // bucket 203 -> 203 mod 3 = 2
        assertThat(name(sh(weighted(1, 1, 1), SchedulerFlag.SH_PORT).pick(client("10.0.0.1", 40000))))
                .isEqualTo("C");
    }

    @Test
    void returnsNullForABackendOfWeightZeroWithoutFallback() {
        assertThat(sh(weighted(0, 1, 1)).pick(client("10.0.0.1"))).isNull();
    }

    @Test
    void walksToTheNextAvailableBucketWithFallback() {
        List<BackendState> list = weighted(0, 1, 1);
        // buckets (39 + 39) & 255 = 78 -> A (weight 0), then 79 -> B
        assertThat(sh(list, SchedulerFlag.SH_FALLBACK).pick(client("10.0.0.1"))).isSameAs(list.get(1));
    }

    @Test
    void walksTheFallbackPathOnRetryWithoutTheFlag() {
        List<BackendState> list = weighted(1, 1, 1);
        assertThat(sh(list).pick(client("10.0.0.1").withAvoided(list.get(0)))).isSameAs(list.get(1));
        assertThat(sh(list).pick(client("10.0.0.1").withAvoided(list.get(0)).withAvoided(list.get(1))))
                .isSameAs(list.get(2));
        PickContext all = client("10.0.0.1").withAvoided(list.get(0)).withAvoided(list.get(1))
                .withAvoided(list.get(2));
        assertThat(sh(list).pick(all)).isNull();
    }

    @Test
    void returnsNullWithoutBackends() {
        assertThat(sh(List.of(), SchedulerFlag.SH_FALLBACK).pick(client("10.0.0.1"))).isNull();
    }
}
