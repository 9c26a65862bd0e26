package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.ip;
import static io.svcproxy.balancer.TestBackends.name;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DestinationHashingSchedulerTest {
    private static Scheduler dh(List<BackendState> backends) {
        return Schedulers.create("dh", Set.of(), backends);
    }

    private static PickContext to(String destination, String client) {
        return PickContext.of(ip(client), 40000, ip(destination));
    }

    @Test
    void sendsEveryClientOfOneDestinationToTheSameBackend() {
        Scheduler s = dh(weighted(1, 1, 1));
        // hash_32(10.0.0.1, 8) = 39 -> bucket 39 holds backend 39 mod 3 = A; 10.0.0.2 -> 137 -> 137 mod 3 = C.
        assertThat(name(s.pick(to("10.0.0.1", "192.168.0.1")))).isEqualTo("A");
        assertThat(name(s.pick(to("10.0.0.1", "192.168.0.2")))).isEqualTo("A");
        assertThat(name(s.pick(to("10.0.0.2", "192.168.0.1")))).isEqualTo("C");
    }

    @Test
    void ignoresWeightsWhenFillingTheTable() {
        Scheduler s = dh(weighted(1, 9, 1));
        assertThat(name(s.pick(to("10.0.0.1", "192.168.0.1")))).isEqualTo("A");
    }

    @Test
    void returnsNullWhenTheHashedBackendHasWeightZero() {
        assertThat(dh(weighted(0, 1, 1)).pick(to("10.0.0.1", "192.168.0.1"))).isNull();
        assertThat(dh(List.of()).pick(to("10.0.0.1", "192.168.0.1"))).isNull();
    }

    @Test
    void retryWalksTheBucketsLikeShFallback() {
        List<BackendState> list = weighted(1, 1, 1);
        // walk: bucket (39 + 39) & 255 = 78 -> A (avoided), then 79 -> B
        PickContext retry = to("10.0.0.1", "192.168.0.1").withAvoided(list.get(0));
        assertThat(dh(list).pick(retry)).isSameAs(list.get(1));
        List<BackendState> quiesced = weighted(0, 1, 1);
        // 78 -> A (weight 0), 79 -> B (avoided), 80 -> C
        assertThat(dh(quiesced).pick(to("10.0.0.1", "192.168.0.1").withAvoided(quiesced.get(1))))
                .isSameAs(quiesced.get(2));
    }
}
