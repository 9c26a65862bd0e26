package io.svcproxy.balancer;

import io.svcproxy.balancer.internal.WrrMark;
import java.util.List;

/**
 * Weighted round-robin ({@code wrr}, {@code net/netfilter/ipvs/ip_vs_wrr.c}): passes over the list with a
 * current weight {@code cw} that starts at the maximum weight and steps down by the gcd of the weights; each pass
 * picks, in list order, the backends whose weight is at least {@code cw}. Weights 4, 3, 2 give
 * {@code A A B A B C A B C}. Weight 0 is never picked; avoided backends are skipped as the kernel skips
 * overloaded ones. O(n * max/gcd) worst case per pick, usually O(1) amortized. Ties go to list order. Picks are
 * serialized on the stepping state, as the kernel does with {@code sched_lock}. A changed list starts its cycle
 * again as {@code ip_vs_wrr_dest_changed} does.
 */
final class WeightedRoundRobinScheduler implements Scheduler {
    private final List<Backend> backends;
    private final int[] weights;
    private final WrrMark mark;

    WeightedRoundRobinScheduler(List<? extends Backend> backends) {
        this.backends = List.copyOf(backends);
        this.weights = weights(this.backends);
        this.mark = WrrMark.init(weights);
    }

    private WeightedRoundRobinScheduler(List<Backend> backends, int[] weights, WrrMark mark) {
        this.backends = backends;
        this.weights = weights;
        this.mark = mark;
    }

    @Override
    public Backend pick(PickContext ctx) {
        int idx;
        synchronized (mark) {
            idx = mark.next(weights, i -> ctx.isAvoided(backends.get(i)));
        }
        return idx < 0 ? null : backends.get(idx);
    }

    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        List<Backend> list = List.copyOf(next);
        int[] w = weights(list);
        return new WeightedRoundRobinScheduler(list, w, mark.changed(w));
    }

    @Override
    public String name() {
        return "wrr";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "wrr" + backends;
    }

    private static int[] weights(List<Backend> backends) {
        int[] w = new int[backends.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = backends.get(i).weight();
        }
        return w;
    }
}
