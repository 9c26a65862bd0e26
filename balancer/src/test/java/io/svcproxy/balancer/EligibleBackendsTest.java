package io.svcproxy.balancer;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * {@code externalTrafficPolicy: Local}: a pick restricted to eligible backends (this node's) runs the scheduler of
 * the full list, sharing its state with unrestricted picks.
 */
class EligibleBackendsTest {
    private static final InetAddress CLIENT = InetAddress.getLoopbackAddress();

    private static List<BackendState> list() throws Exception {
        List<BackendState> out = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            out.add(BackendState.of(InetAddress.getByName("127.0.0." + (70 + i)), 80, 1));
        }
        return out;
    }

    private static Predicate<Backend> only(String... ips) {
        Set<String> set = Set.of(ips);
        return b -> set.contains(b.address().getHostAddress());
    }

    private static String pick(BackendSet set, Predicate<Backend> eligible) {
        PickContext ctx = PickContext.of(CLIENT, 40000, CLIENT);
        BackendState b = set.pick(eligible == null ? ctx : ctx.onlyEligible(eligible));
        return b == null ? null : b.address().getHostAddress();
    }

    @Test
    void roundRobinOverTheLocalSubsetSharesItsPositionWithTheFullList() throws Exception {
        BackendSet set = BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list(), () -> 0L);
        Predicate<Backend> local = only("127.0.0.72", "127.0.0.74");
        List<String> seq = new ArrayList<>();
        seq.add(pick(set, null));  // 1
        seq.add(pick(set, local)); // 2
        seq.add(pick(set, null));  // 3
        seq.add(pick(set, local)); // 4
        seq.add(pick(set, local)); // 2 (after 4, the next local one)
        seq.add(pick(set, null));  // 3
        assertThat(seq).containsExactly("127.0.0.71", "127.0.0.72", "127.0.0.73", "127.0.0.74", "127.0.0.72", "127.0.0.73");
    }

    @Test
    void noEligibleBackendGivesNoneAndAFirstAttemptIsNotARetry() throws Exception {
        BackendSet set = BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list(), () -> 0L);
        assertThat(pick(set, only())).isNull();
        PickContext ctx = PickContext.of(CLIENT, 1, CLIENT).onlyEligible(only("127.0.0.71"));
        assertThat(ctx.isRetry()).isFalse();
        assertThat(ctx.hasExclusions()).isTrue();
        assertThat(ctx.withAvoided(list().get(0)).eligible()).isSameAs(ctx.eligible());
    }

    @Test
    void everySchedulerKeepsToTheSubset() throws Exception {
        for (String scheduler : Schedulers.NAMES) {
            BackendSet set = BackendSet.of(scheduler, Set.of(), SessionAffinity.NONE, list(), () -> 0L);
            for (int i = 0; i < 20; i++) {
                PickContext ctx = new PickContext(InetAddress.getByName("192.0.2." + i), 40000 + i, CLIENT, List.of())
                        .onlyEligible(only("127.0.0.73"));
                BackendState b = set.pick(ctx);
                assertThat(b).as(scheduler).isNotNull();
                assertThat(b.address().getHostAddress()).as(scheduler).isEqualTo("127.0.0.73");
            }
        }
    }
}
