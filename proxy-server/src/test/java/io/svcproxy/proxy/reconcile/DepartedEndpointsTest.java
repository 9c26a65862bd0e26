package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Lease;
import io.svcproxy.config.EndpointTarget;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An endpoint that leaves a Service port's list and comes back goes on with its counters, as SPEC's admin {@code
 * total} ("since svcproxy started") and IPVS's trash of removed real servers have it (helper-90's review: a
 * readiness flap started the total over).
 */
class DepartedEndpointsTest {
    private static EndpointTarget ready(String ip) throws Exception {
        return EndpointTarget.ready(InetAddress.getByName(ip), 8080, 1);
    }

    private static EndpointTarget notReady(String ip) throws Exception {
        return new EndpointTarget(InetAddress.getByName(ip), 8080, 1, false, false, false);
    }

    private static void connections(BackendState b, int n) {
        for (int i = 0; i < n; i++) {
            Lease lease = b.counters().lease();
            lease.release();
        }
    }

    @Test
    void anEndpointBackFromAReadinessFlapGoesOnCountingWhereItStopped() throws Exception {
        DepartedEndpoints departed = new DepartedEndpoints();
        List<BackendState> first = EndpointList.of(List.of(), List.of(ready("127.0.0.1"), ready("127.0.0.2")),
                departed);
        connections(first.get(0), 3);
        List<BackendState> flapped = EndpointList.of(first, List.of(notReady("127.0.0.1"), ready("127.0.0.2")),
                departed);
        assertThat(flapped).extracting(BackendState::endpoint).containsExactly("127.0.0.2:8080");
        List<BackendState> back = EndpointList.of(flapped, List.of(ready("127.0.0.1"), ready("127.0.0.2")),
                departed);
        assertThat(back.get(0).endpoint()).isEqualTo("127.0.0.1:8080");
        assertThat(back.get(0).counters().total()).as("total since start, across the flap").isEqualTo(3);
        assertThat(back.get(0).state()).isEqualTo(BackendState.State.READY);
        assertThat(departed.size()).as("taken back").isZero();
    }

    @Test
    void anEndpointRemovedAndAddedBackKeepsItsCountersAndItsHealth() throws Exception {
        DepartedEndpoints departed = new DepartedEndpoints();
        List<BackendState> first = EndpointList.of(List.of(), List.of(ready("127.0.0.1"), ready("127.0.0.2")),
                departed);
        connections(first.get(1), 2);
        first.get(1).counters().health().eject(0, Duration.ofSeconds(10), Duration.ofSeconds(10));
        List<BackendState> removed = EndpointList.of(first, List.of(ready("127.0.0.1")), departed);
        assertThat(removed).hasSize(1);
        List<BackendState> added = EndpointList.of(removed, List.of(ready("127.0.0.1"), ready("127.0.0.2")),
                departed);
        assertThat(added.get(1).counters().total()).isEqualTo(2);
        assertThat(added.get(1).state()).as("still ejected: it comes back as it left, as in IPVS's trash")
                .isEqualTo(BackendState.State.EJECTED);
        assertThat(added.get(1).weight()).isZero();

        // without the memory (the two-argument form), it is a new endpoint
        List<BackendState> fresh = EndpointList.of(removed, List.of(ready("127.0.0.1"), ready("127.0.0.2")));
        assertThat(fresh.get(1).counters().total()).isZero();
    }

    @Test
    void theMemoryIsBoundedToTheEndpointsThatLeftLast() throws Exception {
        DepartedEndpoints departed = new DepartedEndpoints();
        for (int i = 0; i < DepartedEndpoints.LIMIT + 10; i++) {
            departed.keep(BackendState.of(InetAddress.getByName("127.0." + (i >> 8) + "." + (i & 255)), 8080, 1));
        }
        assertThat(departed.size()).isEqualTo(DepartedEndpoints.LIMIT);
        assertThat(departed.peek("127.0.0.0:8080")).as("the first to leave is forgotten first").isNull();
        assertThat(departed.peek("127.0.4.9:8080")).isNotNull();
    }
}
