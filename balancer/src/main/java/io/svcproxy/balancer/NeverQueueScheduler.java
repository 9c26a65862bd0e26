package io.svcproxy.balancer;

import java.util.List;

/**
 * Never queue ({@code nq}, {@code net/netfilter/ipvs/ip_vs_nq.c}): picks the first idle backend (no active
 * connection) in list order; if none is idle, the one with the least {@code (active + 1) / weight}, as
 * {@code sed}. Backends of weight 0 and avoided ones are not picked. O(n) per pick. Ties go to the first in list
 * order. Stateless.
 */
final class NeverQueueScheduler implements Scheduler {
    private final List<Backend> backends;

    NeverQueueScheduler(List<? extends Backend> backends) {
        this.backends = List.copyOf(backends);
    }

    @Override
    public Backend pick(PickContext ctx) {
        Backend least = null;
        long loh = 0;
        for (int i = 0; i < backends.size(); i++) {
            Backend b = backends.get(i);
            if (!Schedulers.isAvailable(b, ctx)) {
                continue;
            }
            int active = b.activeConnections();
            long doh = active + 1L;
            if (active == 0) {
                return b;
            }
            if (least == null || loh * b.weight() > doh * least.weight()) {
                least = b;
                loh = doh;
            }
        }
        return least;
    }

    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        return new NeverQueueScheduler(next);
    }

    @Override
    public String name() {
        return "nq";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "nq" + backends;
    }
}
