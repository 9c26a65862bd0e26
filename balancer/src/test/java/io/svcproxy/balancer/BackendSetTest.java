package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.ip;
import static io.svcproxy.balancer.TestBackends.name;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class BackendSetTest {
    private static final SessionAffinity STICKY = SessionAffinity.clientIp(Duration.ofSeconds(10));

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);

    private BackendSet set(String scheduler, SessionAffinity affinity, List<BackendState> backends) {
        return BackendSet.of(scheduler, Set.of(), affinity, backends, clock::get);
    }

    private void advance(Duration d) {
        clock.addAndGet(d.toNanos());
    }

    private static String pick(BackendSet set, String client) {
        return name(set.pick(client(client)));
    }

    @Test
    void describesItsConfiguration() {
        List<BackendState> list = weighted(1, 1);
        BackendSet set = BackendSet.of("sh", Set.of(SchedulerFlag.SH_PORT), STICKY, list, clock::get);
        assertThat(set.schedulerName()).isEqualTo("sh");
        assertThat(set.flags()).containsExactly(SchedulerFlag.SH_PORT);
        assertThat(set.affinity()).isEqualTo(STICKY);
        assertThat(set.backends()).containsExactlyElementsOf(list);
        assertThatThrownBy(() -> set("foo", SessionAffinity.NONE, list)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void picksThroughTheScheduler() {
        BackendSet set = set("rr", SessionAffinity.NONE, weighted(1, 1, 1));
        assertThat(List.of(pick(set, "1.1.1.1"), pick(set, "1.1.1.1"), pick(set, "1.1.1.1"), pick(set, "1.1.1.1")))
                .containsExactly("A", "B", "C", "A");
        assertThat(set.affinityEntries()).isZero();
        assertThat(set("rr", SessionAffinity.NONE, List.of()).pick(client("1.1.1.1"))).isNull();
    }

    @Test
    void keepsTheSchedulerAndItsStateWhenNothingChanged() {
        List<BackendState> list = weighted(1, 1, 1);
        BackendSet set = set("rr", SessionAffinity.NONE, list);
        pick(set, "1.1.1.1");
        pick(set, "1.1.1.1");
        BackendSet next = set.update("rr", Set.of(), SessionAffinity.NONE, new ArrayList<>(list));
        assertThat(next.scheduler()).isSameAs(set.scheduler());
        assertThat(pick(next, "1.1.1.1")).isEqualTo("C");
    }

    @Test
    void keepsTheSchedulerForEqualSnapshotsAndReturnsTheCurrentInstances() {
        List<BackendState> list = weighted(4, 3, 2);
        BackendSet set = set("wrr", SessionAffinity.NONE, list);
        assertThat(List.of(pick(set, "1.1.1.1"), pick(set, "1.1.1.1"))).containsExactly("A", "A");
        List<BackendState> again = new ArrayList<>();
        for (BackendState b : list) {
            again.add(b.withWeight(0, BackendState.State.DRAINING).withWeight(b.weight(), BackendState.State.READY));
        }
        BackendSet next = set.update("wrr", Set.of(), SessionAffinity.NONE, again);
        assertThat(next.scheduler()).isSameAs(set.scheduler());
        BackendState picked = next.pick(client("1.1.1.1"));
        assertThat(picked).isSameAs(again.get(1)); // B: the cycle went on
    }

    @Test
    void rebuildsTheSchedulerWithItsStateWhenTheListChanged() {
        List<BackendState> list = weighted(1, 1, 1);
        BackendSet set = set("rr", SessionAffinity.NONE, list);
        pick(set, "1.1.1.1");
        pick(set, "1.1.1.1"); // B
        BackendSet next = set.update("rr", Set.of(), SessionAffinity.NONE, List.of(list.get(0), list.get(2)));
        assertThat(next.scheduler()).isNotSameAs(set.scheduler());
        assertThat(pick(next, "1.1.1.1")).isEqualTo("C");
    }

    @Test
    void rebuildsTheSchedulerWhenAWeightChanged() {
        List<BackendState> list = weighted(4, 3, 2);
        BackendSet set = set("wrr", SessionAffinity.NONE, list);
        List<BackendState> changed = List.of(list.get(0), list.get(1), list.get(2).withWeight(1, BackendState.State.READY));
        assertThat(set.update("wrr", Set.of(), SessionAffinity.NONE, changed).scheduler())
                .isNotSameAs(set.scheduler());
    }

    @Test
    void startsAFreshSchedulerWhenTheNameOrFlagsChange() {
        List<BackendState> list = weighted(1, 1, 1);
        BackendSet set = set("rr", SessionAffinity.NONE, list);
        pick(set, "1.1.1.1");
        BackendSet wrr = set.update("wrr", Set.of(), SessionAffinity.NONE, list);
        assertThat(wrr.scheduler().name()).isEqualTo("wrr");
        assertThat(pick(wrr, "1.1.1.1")).isEqualTo("A");
        BackendSet sh = set.update("sh", Set.of(), SessionAffinity.NONE, list);
        BackendSet shPort = sh.update("sh", Set.of(SchedulerFlag.SH_PORT), SessionAffinity.NONE, list);
        assertThat(shPort.scheduler()).isNotSameAs(sh.scheduler());
        assertThat(shPort.flags()).containsExactly(SchedulerFlag.SH_PORT);
    }

    @Test
    void keepsAClientOnItsBackendWhileTheEntryIsLive() {
        BackendSet set = set("rr", STICKY, weighted(1, 1, 1));
        assertThat(pick(set, "192.168.0.1")).isEqualTo("A");
        advance(Duration.ofSeconds(5));
        assertThat(pick(set, "192.168.0.1")).isEqualTo("A");
        assertThat(pick(set, "192.168.0.1")).isEqualTo("A");
        assertThat(set.affinityEntries()).isEqualTo(1);
    }

    @Test
    void stickyPicksDoNotAdvanceTheScheduler() {
        BackendSet set = set("rr", STICKY, weighted(1, 1, 1));
        pick(set, "192.168.0.1");
        pick(set, "192.168.0.1");
        pick(set, "192.168.0.1");
        assertThat(pick(set, "192.168.0.2")).isEqualTo("B");
        assertThat(pick(set, "192.168.0.3")).isEqualTo("C");
    }

    @Test
    void renewsTheEntryOnEachConnection() {
        BackendSet set = set("rr", STICKY, weighted(1, 1, 1));
        assertThat(pick(set, "192.168.0.1")).isEqualTo("A");
        for (int i = 0; i < 5; i++) {
            advance(Duration.ofSeconds(9));
            assertThat(pick(set, "192.168.0.1")).isEqualTo("A");
        }
    }

    @Test
    void forgetsTheEntryOnceTheTimeoutHasPassed() {
        BackendSet set = set("rr", STICKY, weighted(1, 1, 1));
        assertThat(pick(set, "192.168.0.1")).isEqualTo("A");
        advance(Duration.ofSeconds(10));
        assertThat(pick(set, "192.168.0.1")).isEqualTo("B");
        assertThat(pick(set, "192.168.0.1")).isEqualTo("B");
    }

    @Test
    void rebindsWhenTheBackendGoesToWeightZero() {
        List<BackendState> list = weighted(1, 1, 1);
        BackendSet set = set("rr", STICKY, list);
        assertThat(pick(set, "192.168.0.1")).isEqualTo("A");
        List<BackendState> drained = List.of(list.get(0).withWeight(0, BackendState.State.DRAINING),
                list.get(1), list.get(2));
        BackendSet next = set.update("rr", Set.of(), STICKY, drained);
        assertThat(pick(next, "192.168.0.1")).isEqualTo("B");
        BackendSet back = next.update("rr", Set.of(), STICKY, list);
        assertThat(pick(back, "192.168.0.1")).isEqualTo("B");
    }

    @Test
    void rebindsAndDropsTheEntryWhenTheBackendLeaves() {
        List<BackendState> list = weighted(1, 1, 1);
        BackendSet set = set("rr", STICKY, list);
        pick(set, "192.168.0.1"); // A
        pick(set, "192.168.0.2"); // B
        BackendSet next = set.update("rr", Set.of(), STICKY, List.of(list.get(1), list.get(2)));
        assertThat(next.affinityEntries()).isEqualTo(1);
        assertThat(pick(next, "192.168.0.2")).isEqualTo("B");
        assertThat(pick(next, "192.168.0.1")).isEqualTo("C");
    }

    @Test
    void keepsEntriesAcrossAReloadThatKeepsTheirBackend() {
        List<BackendState> list = weighted(1, 1, 1);
        BackendSet set = set("rr", STICKY, list);
        pick(set, "192.168.0.1"); // A
        BackendSet next = set.update("lc", Set.of(), STICKY, weighted(1, 1, 1, 1));
        assertThat(pick(next, "192.168.0.1")).isEqualTo("A");
        assertThat(next.update("lc", Set.of(), SessionAffinity.NONE, list).affinityEntries()).isZero();
    }

    @Test
    void retriesIgnoreAffinityAndTheAnsweringBackendBecomesTheEntry() {
        List<BackendState> list = weighted(1, 1, 1);
        BackendSet set = set("rr", STICKY, list);
        assertThat(pick(set, "192.168.0.1")).isEqualTo("A");
        PickContext retry = client("192.168.0.1").withAvoided(list.get(0));
        assertThat(name(set.pick(retry))).isEqualTo("B");
        assertThat(name(set.pick(retry.withAvoided(list.get(1))))).isEqualTo("C");
        assertThat(pick(set, "192.168.0.1")).isEqualTo("C");
    }

    @Test
    void expireAffinityRemovesTimedOutEntries() {
        BackendSet set = set("rr", STICKY, weighted(1, 1, 1));
        pick(set, "192.168.0.1");
        advance(Duration.ofSeconds(6));
        pick(set, "192.168.0.2");
        advance(Duration.ofSeconds(5));
        set.expireAffinity();
        assertThat(set.affinityEntries()).isEqualTo(1);
    }

    @Test
    void sweepsExpiredEntriesWhileManyClientsConnect() {
        BackendSet set = set("rr", SessionAffinity.clientIp(Duration.ofSeconds(1)), weighted(1, 1, 1));
        for (int i = 0; i < 20_000; i++) {
            advance(Duration.ofMillis(1));
            set.pick(PickContext.of(ip("172.16." + (i >> 8) + "." + (i & 255)), 1, TestBackends.CLUSTER_IP));
        }
        assertThat(set.affinityEntries()).isLessThan(3000);
    }
}
