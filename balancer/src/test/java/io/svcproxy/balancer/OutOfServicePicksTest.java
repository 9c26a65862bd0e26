package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.name;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Out-of-service endpoints against IPVS (helper-88's review): a hashing scheduler walks on only for a client whose
 * own slot holds one, and ClientIP affinity does not keep a client on one.
 */
class OutOfServicePicksTest {
    private static final Duration BASE = Duration.ofSeconds(10);
    private static final Duration MAX = Duration.ofSeconds(60);

    /** Returns a client address whose pick by {@code scheduler} over {@code list} is {@code target}. */
    private static String clientOf(String scheduler, List<BackendState> list, BackendState target) {
        Scheduler s = Schedulers.create(scheduler, Set.of(), list);
        for (int i = 0; i < 60_000; i++) {
            String ip = "127.16." + (i >> 8) + "." + (i & 255);
            if (s.pick(client(ip)) == target) {
                return ip;
            }
        }
        throw new AssertionError("no client hashes to " + target);
    }

    /**
     * SPEC "Scheduling": "A pick that lands on an endpoint of weight 0 is unavailable: with sh-fallback /
     * mh-fallback the next buckets are tried as the kernel does, otherwise the client connection is closed."
     * docs/operations.md limits the walk-on to landing on an endpoint *out of service*. Kernel: ip_vs_sh_get /
     * ip_vs_mh_get return NULL for a bucket whose dest has weight 0 when the fallback flag is not set. Here the
     * client's endpoint B is draining (weight 0, it left); an unrelated endpoint C being ejected must not change
     * B's client's decision, yet BackendSet.pickInService walks on whenever outOfService is non-empty.
     */
    @Test
    void shWithoutFallbackRefusesTheClientOfADrainingEndpointWhateverAnotherEndpointsHealth() {
        checkDrainingBucketIsRefused("sh");
    }

    @Test
    void mhWithoutFallbackRefusesTheClientOfADrainingEndpointWhateverAnotherEndpointsHealth() {
        checkDrainingBucketIsRefused("mh");
    }

    private static void checkDrainingBucketIsRefused(String scheduler) {
        List<BackendState> ready = weighted(1, 1, 1);
        String ip = clientOf(scheduler, ready, ready.get(1)); // a client of B
        List<BackendState> list = new ArrayList<>(ready);
        list.set(1, ready.get(1).withWeight(0, BackendState.State.DRAINING)); // B left, connections still open
        BackendSet healthy = BackendSet.of(scheduler, Set.of(), SessionAffinity.NONE, list, () -> 0L);
        assertThat(healthy.pick(client(ip))).as("control: C healthy").isNull();

        ready.get(2).counters().health().eject(0, BASE, MAX); // C ejected, published with weight 0
        list.set(2, ready.get(2).outOfService(1, BackendState.State.EJECTED));
        BackendSet oneEjected = BackendSet.of(scheduler, Set.of(), SessionAffinity.NONE, list, () -> 0L);
        assertThat(name(oneEjected.pick(client(ip))))
                .as(scheduler + " without -fallback, client of draining B, unrelated C ejected")
                .isNull();
    }

    /**
     * BackendSet.pickInService skips a READY endpoint whose health changed since the list was published (it is
     * treated as already tried), but the ClientIP affinity path returns it: a sticky client is sent to an endpoint
     * just ejected, while every other client avoids it (EndpointHealthTest
     * aReadyEndpointWhoseHealthChangedSinceTheListWasPublishedIsSkipped). IPVS with expire_quiescent_template=1
     * (kube-proxy sets it) expires the template of a dest that is no longer usable and schedules anew.
     */
    @Test
    void affinityDoesNotSendAClientToAnEndpointEjectedSinceTheListWasPublished() {
        AtomicLong clock = new AtomicLong(1_000_000_000L);
        List<BackendState> list = weighted(1, 1, 1);
        BackendSet set = BackendSet.of("rr", Set.of(), SessionAffinity.clientIp(Duration.ofSeconds(60)), list,
                clock::get);
        assertThat(name(set.pick(client("127.0.1.1")))).isEqualTo("A");
        list.get(0).counters().health().eject(0, BASE, MAX);
        assertThat(name(set.pick(client("127.0.1.2")))).as("a client without affinity").isNotEqualTo("A");
        assertThat(name(set.pick(client("127.0.1.1")))).as("the sticky client").isNotEqualTo("A");
    }
}
