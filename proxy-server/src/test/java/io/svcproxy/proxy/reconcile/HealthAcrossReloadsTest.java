package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.EndpointTarget;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How the reconciler publishes endpoints out of service, and keeps their health across reloads. */
class HealthAcrossReloadsTest {
    private static final Duration TEN = Duration.ofSeconds(10);

    private static EndpointTarget target(String ip, int weight) throws Exception {
        return EndpointTarget.ready(InetAddress.getByName(ip), 8080, weight);
    }

    @Test
    void anEjectedEndpointStaysEjectedAcrossAReloadWithWeightZeroAndItsNewLastWeight() throws Exception {
        List<BackendState> first = EndpointList.of(List.of(), List.of(target("127.0.0.1", 1), target("127.0.0.2", 2)));
        first.get(1).counters().health().eject(0, TEN, TEN);
        List<BackendState> published = EndpointList.of(first, List.of(target("127.0.0.1", 1), target("127.0.0.2", 2)));
        assertThat(published.get(1).state()).isEqualTo(BackendState.State.EJECTED);
        assertThat(published.get(1).weight()).isZero();
        assertThat(published.get(1).lastWeight()).isEqualTo(2);
        // a reload that changes its weight: still ejected, the new weight kept for its return (and mh's slots)
        List<BackendState> reloaded = EndpointList.of(published,
                List.of(target("127.0.0.1", 1), target("127.0.0.2", 5), target("127.0.0.3", 1)));
        assertThat(reloaded.get(1).state()).isEqualTo(BackendState.State.EJECTED);
        assertThat(reloaded.get(1).weight()).isZero();
        assertThat(reloaded.get(1).lastWeight()).isEqualTo(5);
        assertThat(reloaded.get(1).counters()).isSameAs(first.get(1).counters());
        // back: its weight again, the same counters
        reloaded.get(1).counters().health().returnIfDue(TEN.toNanos());
        List<BackendState> back = EndpointList.of(reloaded,
                List.of(target("127.0.0.1", 1), target("127.0.0.2", 5), target("127.0.0.3", 1)));
        assertThat(back.get(1).state()).isEqualTo(BackendState.State.READY);
        assertThat(back.get(1).weight()).isEqualTo(5);
    }

    @Test
    void publishingTheSameHealthAgainChangesNothing() throws Exception {
        List<BackendState> first = EndpointList.of(List.of(), List.of(target("127.0.0.1", 1), target("127.0.0.2", 1)));
        first.get(0).counters().health().checkResult(false, 1, 1);
        List<BackendState> once = EndpointList.of(first, List.of(target("127.0.0.1", 1), target("127.0.0.2", 1)));
        List<BackendState> twice = EndpointList.of(once, List.of(target("127.0.0.1", 1), target("127.0.0.2", 1)));
        assertThat(once.get(0).state()).isEqualTo(BackendState.State.UNHEALTHY);
        assertThat(twice.get(0)).isSameAs(once.get(0));
        assertThat(twice.get(1)).isSameAs(once.get(1));
    }

    @Test
    void whenNoEndpointWouldBeLeftInServiceAllKeepTheirWeights() throws Exception {
        List<BackendState> first = EndpointList.of(List.of(), List.of(target("127.0.0.1", 1), target("127.0.0.2", 3)));
        first.get(0).counters().health().checkResult(false, 1, 1);
        first.get(1).counters().health().eject(0, TEN, TEN);
        List<BackendState> panic = EndpointList.of(first, List.of(target("127.0.0.1", 1), target("127.0.0.2", 3)));
        assertThat(panic).extracting(BackendState::weight).containsExactly(1, 3);
        assertThat(panic).extracting(BackendState::state)
                .containsExactly(BackendState.State.UNHEALTHY, BackendState.State.EJECTED);
    }
}
