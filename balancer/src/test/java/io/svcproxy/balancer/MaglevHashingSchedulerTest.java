package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.internal.MaglevTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MaglevHashingSchedulerTest {
    private static MaglevHashingScheduler mh(List<BackendState> backends, SchedulerFlag... flags) {
        return (MaglevHashingScheduler) Schedulers.create("mh", Set.of(flags), backends);
    }

    private static String clientIp(int i) {
        return "172.16." + (i >> 8) + "." + (i & 255);
    }

    @Test
    void fillsEverySlotInProportionToWeight() {
        int[] table = mh(weighted(1, 2, 3)).table();
        int[] counts = new int[3];
        for (int slot : table) {
            assertThat(slot).isBetween(0, 2);
            counts[slot]++;
        }
        assertThat(counts[0] + counts[1] + counts[2]).isEqualTo(MaglevTable.SIZE);
        assertThat(counts[0]).isCloseTo(MaglevTable.SIZE / 6, org.assertj.core.data.Offset.offset(3));
        assertThat(counts[1]).isCloseTo(MaglevTable.SIZE / 3, org.assertj.core.data.Offset.offset(3));
    }

    @Test
    void givesNoSlotToABackendThatNeverHadAWeight() {
        List<BackendState> list = weighted(1, 0, 1);
        assertThat(mh(list).table()).doesNotContain(1);
        assertThat(mh(weighted(0, 0)).table()).containsOnly(-1);
        assertThat(mh(weighted(0, 0)).pick(client("10.0.0.1"))).isNull();
    }

    @Test
    void keepsTheSlotsOfAQuiescedBackend() {
        List<BackendState> list = weighted(1, 1, 1);
        List<BackendState> quiesced = new ArrayList<>(list);
        quiesced.set(1, list.get(1).withWeight(0, BackendState.State.DRAINING));
        assertThat(mh(quiesced).table()).isEqualTo(mh(list).table());
    }

    @Test
    void returnsNullForAQuiescedBackendWithoutFallbackAndAnotherWithIt() {
        List<BackendState> list = weighted(1, 1, 1);
        List<BackendState> quiesced = new ArrayList<>(list);
        quiesced.set(1, list.get(1).withWeight(0, BackendState.State.DRAINING));
        Scheduler before = mh(list);
        Scheduler plain = mh(quiesced);
        Scheduler fallback = mh(quiesced, SchedulerFlag.MH_FALLBACK);
        int movedToNull = 0;
        for (int i = 0; i < 300; i++) {
            PickContext ctx = client(clientIp(i));
            Backend was = before.pick(ctx);
            if (was == list.get(1)) {
                assertThat(plain.pick(ctx)).isNull();
                assertThat(fallback.pick(ctx)).isNotNull().isNotSameAs(list.get(1));
                assertThat(plain.pick(ctx.withAvoided(list.get(0)))).isSameAs(list.get(2));
                movedToNull++;
            } else {
                assertThat(plain.pick(ctx)).isSameAs(was);
                assertThat(fallback.pick(ctx)).isSameAs(was);
            }
        }
        assertThat(movedToNull).isBetween(60, 140);
    }

    @Test
    void walksTheFallbackPathOnRetryWithoutTheFlag() {
        List<BackendState> list = weighted(1, 1, 1);
        Scheduler s = mh(list);
        for (int i = 0; i < 50; i++) {
            PickContext ctx = client(clientIp(i));
            Backend first = s.pick(ctx);
            Backend second = s.pick(ctx.withAvoided(first));
            assertThat(second).isNotNull().isNotSameAs(first);
            assertThat(s.pick(ctx.withAvoided(first).withAvoided(second))).isNotNull()
                    .isNotIn(first, second);
        }
    }

    @Test
    void hashesTheClientPortOnlyWithMhPort() {
        List<BackendState> list = weighted(1, 1, 1, 1);
        Scheduler plain = mh(list);
        Scheduler port = mh(list, SchedulerFlag.MH_PORT);
        java.util.Set<Backend> plainPicks = new java.util.HashSet<>();
        java.util.Set<Backend> portPicks = new java.util.HashSet<>();
        for (int p = 40000; p < 40040; p++) {
            plainPicks.add(plain.pick(client("10.1.2.3", p)));
            portPicks.add(port.pick(client("10.1.2.3", p)));
        }
        assertThat(plainPicks).hasSize(1);
        assertThat(portPicks).hasSize(4);
    }
}
