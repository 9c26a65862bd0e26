package io.svcproxy.balancer;

import java.util.List;

/**
 * Least-connection ({@code lc}, {@code net/netfilter/ipvs/ip_vs_lc.c}): picks the backend with the least
 * overhead {@code (active << 8) + inactive} ({@code ip_vs_dest_conn_overhead}), among those of weight above 0
 * that are not avoided. O(n) per pick. Ties go to the first in list order (strict {@code <}). Stateless.
 */
final class LeastConnectionScheduler implements Scheduler {
    private final List<Backend> backends;

    LeastConnectionScheduler(List<? extends Backend> backends) {
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
            long doh = Schedulers.overhead(b);
            if (least == null || doh < loh) {
                least = b;
                loh = doh;
            }
        }
        return least;
    }

    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        return new LeastConnectionScheduler(next);
    }

    @Override
    public String name() {
        return "lc";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "lc" + backends;
    }
}
