package io.svcproxy.balancer;

import java.util.List;

/**
 * Shortest expected delay ({@code sed}, {@code net/netfilter/ipvs/ip_vs_sed.c}): picks the backend with the
 * least {@code (active + 1) / weight}, compared as {@code (active(least) + 1) * weight(d) > (active(d) + 1) *
 * weight(least)} in 64 bits; inactive connections are ignored. Backends of weight 0 and avoided ones are not
 * picked. O(n) per pick. Ties go to the first in list order. Stateless.
 */
final class ShortestExpectedDelayScheduler implements Scheduler {
    private final List<Backend> backends;

    ShortestExpectedDelayScheduler(List<? extends Backend> backends) {
        this.backends = List.copyOf(backends);
    }

    @Override
    public Backend pick(PickContext ctx) {
        return WeightedLeastConnectionScheduler.pickWeighted(backends, ctx, true);
    }

    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        return new ShortestExpectedDelayScheduler(next);
    }

    @Override
    public String name() {
        return "sed";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "sed" + backends;
    }
}
