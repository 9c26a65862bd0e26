package io.svcproxy.balancer;

import java.util.List;

/**
 * Weighted least-connection ({@code wlc}, {@code net/netfilter/ipvs/ip_vs_wlc.c}): picks the backend with the
 * least {@code overhead / weight}, where overhead is {@code (active << 8) + inactive}, compared without division
 * as {@code overhead(least) * weight(d) > overhead(d) * weight(least)} in 64 bits. Backends of weight 0 and
 * avoided ones are not picked. O(n) per pick. Ties go to the first in list order. Stateless.
 */
final class WeightedLeastConnectionScheduler implements Scheduler {
    private final List<Backend> backends;

    WeightedLeastConnectionScheduler(List<? extends Backend> backends) {
        this.backends = List.copyOf(backends);
    }

    @Override
    public Backend pick(PickContext ctx) {
        return pickWeighted(backends, ctx, false);
    }

    /**
     * The loop shared by wlc and sed: the first available backend, then any later one with a strictly smaller
     * cost per weight. {@code sed} uses {@code active + 1} as the cost, wlc the connection overhead.
     */
    static Backend pickWeighted(List<Backend> backends, PickContext ctx, boolean sed) {
        int n = backends.size();
        int i = 0;
        Backend least = null;
        long loh = 0;
        for (; i < n; i++) {
            Backend b = backends.get(i);
            if (Schedulers.isAvailable(b, ctx)) {
                least = b;
                loh = sed ? b.activeConnections() + 1L : Schedulers.overhead(b);
                break;
            }
        }
        if (least == null) {
            return null;
        }
        long lw = least.weight();
        for (i++; i < n; i++) {
            Backend b = backends.get(i);
            // The kernel skips only overloaded ones here; weight 0 can never win (loh * 0 > doh * lw is false).
            if (ctx.isAvoided(b)) {
                continue;
            }
            long doh = sed ? b.activeConnections() + 1L : Schedulers.overhead(b);
            long w = b.weight();
            if (loh * w > doh * lw) {
                least = b;
                loh = doh;
                lw = w;
            }
        }
        return least;
    }

    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        return new WeightedLeastConnectionScheduler(next);
    }

    @Override
    public String name() {
        return "wlc";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "wlc" + backends;
    }
}
