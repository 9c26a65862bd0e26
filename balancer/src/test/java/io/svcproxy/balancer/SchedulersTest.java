package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SchedulersTest {
    @Test
    void createsEverySchedulerByItsIpvsName() {
        for (String name : Schedulers.NAMES) {
            Scheduler s = Schedulers.create(name, Set.of(), weighted(1, 2));
            assertThat(s.name()).isEqualTo(name);
            assertThat(s.backends()).hasSize(2);
            assertThat(s.withBackends(weighted(1)).name()).isEqualTo(name);
        }
    }

    @Test
    void rejectsAnUnknownNameListingTheKnownOnes() {
        assertThatThrownBy(() -> Schedulers.create("foo", Set.of(), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown scheduler: foo (expected: rr, wrr, lc, wlc, sed, nq, dh, sh, mh, random)");
    }

    @Test
    void rejectsAFlagOfAnotherSchedulerListingTheValidFlags() {
        assertThatThrownBy(() -> Schedulers.create("mh", Set.of(SchedulerFlag.SH_PORT), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sh-port")
                .hasMessageContaining("expected: mh-fallback, mh-port");
        assertThatThrownBy(() -> Schedulers.create("rr", Set.of(SchedulerFlag.MH_FALLBACK), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mh-fallback")
                .hasMessageContaining("no flags for rr");
    }

    @Test
    void acceptsTheFlagsOfItsOwnScheduler() {
        assertThat(Schedulers.create("sh", Set.of(SchedulerFlag.SH_FALLBACK, SchedulerFlag.SH_PORT), List.of())
                .name()).isEqualTo("sh");
        assertThat(Schedulers.flagsOf("mh")).containsExactly(SchedulerFlag.MH_FALLBACK, SchedulerFlag.MH_PORT);
        assertThat(Schedulers.flagsOf("wlc")).isEmpty();
    }
}
