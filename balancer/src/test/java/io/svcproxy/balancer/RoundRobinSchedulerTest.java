package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.backend;
import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.picks;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RoundRobinSchedulerTest {
    private static Scheduler rr(List<BackendState> backends) {
        return Schedulers.create("rr", Set.of(), backends);
    }

    @Test
    void picksBackendsInTurnStartingWithTheFirst() {
        assertThat(picks(rr(weighted(1, 1, 1)), client("1.1.1.1"), 7))
                .containsExactly("A", "B", "C", "A", "B", "C", "A");
    }

    @Test
    void ignoresWeightsAboveZeroAndSkipsWeightZero() {
        assertThat(picks(rr(weighted(5, 0, 1)), client("1.1.1.1"), 4)).containsExactly("A", "C", "A", "C");
    }

    @Test
    void returnsNullWhenAllWeightsAreZero() {
        assertThat(rr(weighted(0, 0)).pick(client("1.1.1.1"))).isNull();
        assertThat(rr(List.of()).pick(client("1.1.1.1"))).isNull();
    }

    @Test
    void retrySkipsTheAvoidedBackendAndAdvances() {
        List<BackendState> list = weighted(1, 1, 1);
        Scheduler s = rr(list);
        assertThat(s.pick(client("1.1.1.1"))).isSameAs(list.get(0));
        PickContext retry = client("1.1.1.1").withAvoided(list.get(1));
        assertThat(s.pick(retry)).isSameAs(list.get(2));
        assertThat(s.pick(retry.withAvoided(list.get(0)).withAvoided(list.get(2)))).isNull();
        assertThat(s.pick(client("1.1.1.1"))).isSameAs(list.get(0));
    }

    @Test
    void resumesAfterTheLastPickedBackendOnReload() {
        Scheduler s = rr(weighted(1, 1, 1));
        picks(s, client("1.1.1.1"), 2); // A, B
        Scheduler next = s.withBackends(weighted(1, 1, 1, 1));
        assertThat(picks(next, client("1.1.1.1"), 3)).containsExactly("C", "D", "A");
    }

    @Test
    void resumesAtTheBackendThatFollowsWhenTheLastPickedLeft() {
        List<BackendState> list = weighted(1, 1, 1);
        Scheduler s = rr(list);
        picks(s, client("1.1.1.1"), 2); // A, B
        Scheduler next = s.withBackends(List.of(list.get(0), list.get(2)));
        assertThat(picks(next, client("1.1.1.1"), 3)).containsExactly("C", "A", "C");
    }

    @Test
    void resumesAtANewBackendThatSortsRightAfterTheOneThatLeft() {
        List<BackendState> list = weighted(1, 1, 1);
        Scheduler s = rr(list);
        picks(s, client("1.1.1.1"), 2); // A, B = 10.0.0.2:8080
        BackendState between = backend("10.0.0.2", 9090, 1);
        Scheduler next = s.withBackends(List.of(list.get(0), between, list.get(2)));
        assertThat(next.pick(client("1.1.1.1"))).isSameAs(between);
    }

    @Test
    void wrapsToTheFirstWhenNothingFollowsTheOneThatLeft() {
        List<BackendState> list = weighted(1, 1, 1);
        Scheduler s = rr(list);
        picks(s, client("1.1.1.1"), 3); // A, B, C
        Scheduler next = s.withBackends(List.of(list.get(0), list.get(1)));
        assertThat(picks(next, client("1.1.1.1"), 2)).containsExactly("A", "B");
    }

    @Test
    void startsWithTheFirstAfterReloadWhenNothingWasPicked() {
        Scheduler next = rr(weighted(1, 1)).withBackends(weighted(1, 1, 1));
        assertThat(picks(next, client("1.1.1.1"), 2)).containsExactly("A", "B");
    }

    @Test
    void givesConcurrentPicksDistinctTurns() throws Exception {
        List<BackendState> list = weighted(1, 1, 1, 1);
        Scheduler s = rr(list);
        int threads = 4;
        int perThread = 10_000;
        Map<Backend, AtomicInteger> counts = new ConcurrentHashMap<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    counts.computeIfAbsent(s.pick(client("1.1.1.1")), k -> new AtomicInteger()).incrementAndGet();
                }
            });
            w.start();
            workers.add(w);
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertThat(counts.values()).allSatisfy(c -> assertThat(c.get()).isEqualTo(threads * perThread / 4));
    }
}
