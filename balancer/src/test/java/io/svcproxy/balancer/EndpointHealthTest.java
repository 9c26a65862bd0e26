package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.name;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EndpointHealthTest {
    private static final Duration BASE = Duration.ofSeconds(10);
    private static final Duration MAX = Duration.ofSeconds(60);
    private static final long S = 1_000_000_000L;

    @Test
    void countsFailuresInARowUntilAConnectSucceeds() {
        EndpointHealth h = new EndpointHealth();
        assertThat(h.connectFailed()).isEqualTo(1);
        assertThat(h.connectFailed()).isEqualTo(2);
        h.connectSucceeded();
        assertThat(h.connectFailed()).isEqualTo(1);
    }

    @Test
    void doublesTheEjectionTimeForEjectionsInARowUpToTheMaximum() {
        EndpointHealth h = new EndpointHealth();
        long now = 0;
        List<Duration> times = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Duration d = h.eject(now, BASE, MAX);
            assertThat(h.inService()).isFalse();
            assertThat(h.eject(now, BASE, MAX)).isNull();
            times.add(d);
            assertThat(h.returnIfDue(now + d.toNanos() - 1)).isFalse();
            now += d.toNanos();
            assertThat(h.returnIfDue(now)).isTrue();
            assertThat(h.inService()).isTrue();
        }
        assertThat(times).containsExactly(BASE, BASE.multipliedBy(2), BASE.multipliedBy(4), MAX, MAX);
        assertThat(h.ejections()).isEqualTo(5);
    }

    @Test
    void startsTheBackOffAgainAfterAQuietPeriod() {
        EndpointHealth h = new EndpointHealth();
        h.eject(0, BASE, MAX);
        h.returnIfDue(10 * S);
        assertThat(h.eject(15 * S, BASE, MAX)).isEqualTo(BASE.multipliedBy(2));
        h.returnIfDue(35 * S);
        assertThat(h.eject(35 * S + 21 * S, BASE, MAX)).isEqualTo(BASE);
    }

    @Test
    void aPassingCheckEndsAnEjectionUnlessTheChecksFindTheEndpointUnhealthyAndKeepsTheBackOff() {
        EndpointHealth h = new EndpointHealth();
        assertThat(h.returnAfterCheck(0)).as("not ejected").isFalse();
        h.eject(0, BASE, MAX);
        h.checkResult(false, 2, 1);
        assertThat(h.returnAfterCheck(S)).as("unhealthy by its checks: stays out").isFalse();
        h.checkResult(true, 1, 1); // healthy again
        assertThat(h.returnAfterCheck(S)).isTrue();
        assertThat(h.inService()).isTrue();
        assertThat(h.returnIfDue(20 * S)).as("already back").isFalse();
        // ejected again within the last ejection's length: the back-off doubles, as after returnIfDue
        assertThat(h.eject(5 * S, BASE, MAX)).isEqualTo(BASE.multipliedBy(2));
    }

    @Test
    void turnsUnhealthyAfterFallFailuresAndHealthyAfterRiseSuccesses() {
        EndpointHealth h = new EndpointHealth();
        assertThat(h.checkResult(false, 2, 3)).isNull();
        assertThat(h.checkResult(false, 2, 3)).isNull();
        assertThat(h.checkResult(true, 2, 3)).isNull();
        assertThat(h.checkResult(false, 2, 3)).isNull();
        assertThat(h.checkResult(false, 2, 3)).isNull();
        assertThat(h.checkResult(false, 2, 3)).isFalse();
        assertThat(h.unhealthy()).isTrue();
        assertThat(h.inService()).isFalse();
        assertThat(h.checkResult(true, 2, 3)).isNull();
        assertThat(h.checkResult(true, 2, 3)).isTrue();
        assertThat(h.inService()).isTrue();
        assertThat(h.checkResult(false, 2, 3)).isNull();
        assertThat(h.clearChecks()).isFalse();
    }

    @Test
    void anEjectedEndpointPublishedWithWeightZeroTakesNoConnectionsAndKeepsItsLastWeight() {
        List<BackendState> list = weighted(2, 1, 1);
        list.get(1).counters().health().eject(0, BASE, MAX);
        list.set(1, list.get(1).outOfService(1, BackendState.State.EJECTED));
        assertThat(list.get(1).weight()).isZero();
        assertThat(list.get(1).lastWeight()).isEqualTo(1);
        for (String scheduler : Schedulers.NAMES) {
            BackendSet set = BackendSet.of(scheduler, Set.of(), SessionAffinity.NONE, list, () -> 0L);
            assertThat(set.outOfService()).containsExactly(list.get(1));
            Set<String> picked = new HashSet<>();
            for (int i = 0; i < 300; i++) {
                BackendState b = set.pick(client("10.0." + (i / 250) + "." + (i % 250)));
                assertThat(b).as(scheduler).isNotNull();
                picked.add(name(b));
            }
            assertThat(picked).as(scheduler).doesNotContain("B");
        }
    }

    @Test
    void aReadyEndpointWhoseHealthChangedSinceTheListWasPublishedIsSkipped() {
        List<BackendState> list = weighted(1, 1, 1);
        BackendSet set = BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list, () -> 0L);
        list.get(0).counters().health().eject(0, BASE, MAX);
        for (int i = 0; i < 6; i++) {
            assertThat(name(set.pick(client("1.1.1.1")))).isNotEqualTo("A");
        }
    }
}
