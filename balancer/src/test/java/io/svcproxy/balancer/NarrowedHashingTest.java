package io.svcproxy.balancer;

import static io.svcproxy.balancer.TestBackends.backend;
import static io.svcproxy.balancer.TestBackends.client;
import static io.svcproxy.balancer.TestBackends.weighted;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * dh, sh and mh under a traffic policy's filter decide as kube-proxy's IPVS mode, whose Local virtual server holds
 * only the local endpoints, so the kernel's table is built over them (helper-88's review).
 */
class NarrowedHashingTest {
    /**
     * SPEC "Service types": with externalTrafficPolicy Local "the scheduler runs over that subset". kube-proxy's
     * IPVS mode gives the node, external and LB addresses their own virtual server whose real servers are only
     * the local endpoints, so ip_vs_sh_reassign builds the 256 buckets over the local endpoints alone and each
     * takes a share in proportion to its weight. svcproxy keeps the table of the full list and sends a client whose
     * bucket holds a remote endpoint along the fallback walk (consecutive buckets from 2*hash), which lands on the
     * local endpoint that follows a run of remote ones far more often: with A, B local and C, D remote (all weight
     * 1), A gets about 5/8 of the clients and B 3/8 instead of 1/2 each.
     */
    @Test
    void shOverTheLocalSubsetDecidesAsATableBuiltOverThatSubset() {
        List<BackendState> all = weighted(1, 1, 1, 1);
        java.util.function.Predicate<Backend> local = b -> b == all.get(0) || b == all.get(1);
        BackendSet set = BackendSet.of("sh", Set.of(), SessionAffinity.NONE, all, () -> 0L);
        Scheduler kernel = Schedulers.create("sh", Set.of(), List.of(all.get(0), all.get(1)));
        int clients = 0;
        int differ = 0;
        int toA = 0;
        for (int i = 0; i < 8192; i++) {
            PickContext ctx = client("127.16." + (i >> 8) + "." + (i & 255)).onlyEligible(local);
            Backend got = set.pick(ctx);
            Backend expected = kernel.pick(client("127.16." + (i >> 8) + "." + (i & 255)));
            clients++;
            if (got != expected) {
                differ++;
            }
            if (got == all.get(0)) {
                toA++;
            }
        }
        assertThat(100.0 * toA / clients).as("share of A (of A, B equally weighted), percent; %d of %d clients "
                + "decided otherwise than by a table over A, B", differ, clients).isBetween(45.0, 55.0);
        assertThat(differ).as("clients decided otherwise than a table over the local endpoints").isZero();
    }
    /**
     * As above for mh: kube-proxy's Local virtual server holds only the local endpoints, so ip_vs_mh_populate fills
     * the 4093 slots with them alone. svcproxy keeps the full list's table and walks the fallback path (random
     * slots, so the shares stay near 1/2) but many clients get another local endpoint than the kernel gives them.
     */
    @Test
    void mhOverTheLocalSubsetDecidesAsATableBuiltOverThatSubset() {
        List<BackendState> all = weighted(1, 1, 1, 1);
        java.util.function.Predicate<Backend> local = b -> b == all.get(0) || b == all.get(1);
        BackendSet set = BackendSet.of("mh", Set.of(), SessionAffinity.NONE, all, () -> 0L);
        Scheduler kernel = Schedulers.create("mh", Set.of(), List.of(all.get(0), all.get(1)));
        int differ = 0;
        int toA = 0;
        int clients = 8192;
        for (int i = 0; i < clients; i++) {
            String ip = "127.16." + (i >> 8) + "." + (i & 255);
            Backend got = set.pick(client(ip).onlyEligible(local));
            if (got != kernel.pick(client(ip))) {
                differ++;
            }
            if (got == all.get(0)) {
                toA++;
            }
        }
        assertThat(differ).as("clients decided otherwise than a table over A, B (share of A %.1f%%)",
                100.0 * toA / clients).isZero();
    }

    @Test
    void theLocalEndpointsTakeSharesByTheirWeightsAndTheOtherTrafficKeepsTheFullTable() {
        List<BackendState> all = weighted(3, 1, 1, 1);
        java.util.function.Predicate<Backend> local = b -> b == all.get(0) || b == all.get(1);
        BackendSet set = BackendSet.of("sh", Set.of(), SessionAffinity.NONE, all, () -> 0L);
        Scheduler full = Schedulers.create("sh", Set.of(), all);
        int toA = 0;
        int clients = 8192;
        for (int i = 0; i < clients; i++) {
            String ip = "127.17." + (i >> 8) + "." + (i & 255);
            if (set.pick(client(ip).onlyEligible(local)) == all.get(0)) {
                toA++;
            }
            assertThat(set.pick(client(ip))).as("clusterIP traffic: the full list's table").isSameAs(full.pick(
                    client(ip)));
        }
        assertThat(100.0 * toA / clients).as("A's share of the local traffic, weights 3 and 1").isBetween(70.0, 80.0);
    }

    /**
     * The narrowed table holds the eligible endpoints alone, so the filter is not passed on: it would make dh, sh
     * and mh walk on as on a retry, where the kernel's Local virtual server (without -fallback) refuses the client of
     * a slot whose endpoint has weight 0 (helper-94's review).
     */
    private static void checkWeightZeroLocalRefused(String scheduler) {
        // B quiesced to weight 0 in the config (its last weight 1 keeps mh's slots, as the kernel's last_weight)
        List<BackendState> all = List.of(backend("127.0.0.1", 8080, 1),
                backend("127.0.0.2", 8080, 1).withWeight(0, BackendState.State.READY),
                backend("127.0.0.3", 8080, 1), backend("127.0.0.4", 8080, 1));
        Predicate<Backend> local = b -> b == all.get(0) || b == all.get(1);
        BackendSet set = BackendSet.of(scheduler, Set.of(), SessionAffinity.NONE, all, () -> 0L);
        Scheduler kernel = Schedulers.create(scheduler, Set.of(), List.of(all.get(0), all.get(1)));
        int kernelRefuses = 0;
        int walkedOn = 0;
        for (int i = 0; i < 4096; i++) {
            String ip = "127.16." + (i >> 8) + "." + (i & 255);
            if (kernel.pick(client(ip)) == null) {
                kernelRefuses++;
                if (set.pick(client(ip).onlyEligible(local)) != null) {
                    walkedOn++;
                }
            }
        }
        assertThat(kernelRefuses).as("control: clients of B's slots in a table over A, B").isPositive();
        assertThat(walkedOn).as(scheduler + " without -fallback, Local filter: clients of the weight-0 local "
                + "endpoint B (of %d the kernel refuses) given another endpoint", kernelRefuses).isZero();
    }

    @Test
    void shClientsOfAWeightZeroLocalEndpointAreRefusedAsByTheKernel() {
        checkWeightZeroLocalRefused("sh");
    }

    @Test
    void mhClientsOfAWeightZeroLocalEndpointAreRefusedAsByTheKernel() {
        checkWeightZeroLocalRefused("mh");
    }
}
