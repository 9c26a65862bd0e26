package io.svcproxy.balancer;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Round-robin ({@code rr}, {@code net/netfilter/ipvs/ip_vs_rr.c}): each pick takes the next backend after the
 * last one picked, in list order, skipping backends of weight 0 and avoided ones; the first connection goes to
 * the first backend. Weights above 0 do not matter. O(n) worst case per pick, O(1) when all are eligible. No
 * ties. The cursor is an index updated by compare-and-set, so concurrent picks from several event loops each
 * take a distinct turn without a lock.
 */
final class RoundRobinScheduler implements Scheduler {
    private final List<Backend> backends;
    /** Index of the last backend picked; -1 before the first pick. */
    private final AtomicInteger last;

    RoundRobinScheduler(List<? extends Backend> backends) {
        this(List.copyOf(backends), -1);
    }

    private RoundRobinScheduler(List<Backend> backends, int last) {
        this.backends = backends;
        this.last = new AtomicInteger(last);
    }

    @Override
    public Backend pick(PickContext ctx) {
        int n = backends.size();
        while (true) {
            int cur = last.get();
            int found = -1;
            // From the one after the cursor round to the cursor itself, as ip_vs_rr_schedule.
            for (int i = 1; i <= n; i++) {
                int idx = (cur + i) % n;
                if (Schedulers.isAvailable(backends.get(idx), ctx)) {
                    found = idx;
                    break;
                }
            }
            if (found < 0) {
                return null;
            }
            if (found == cur || last.compareAndSet(cur, found)) {
                return backends.get(found);
            }
        }
    }

    /**
     * Returns a round-robin over {@code next} that resumes after the last backend picked here, or, if that one
     * left, just before the first backend of {@code next} that sorts after it (wrapping to the first).
     */
    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        List<Backend> list = List.copyOf(next);
        int cur = last.get();
        if (cur < 0) {
            return new RoundRobinScheduler(list, -1);
        }
        Backend lastPicked = backends.get(cur);
        for (int j = 0; j < list.size(); j++) {
            Backend b = list.get(j);
            if (b.port() == lastPicked.port() && b.address().equals(lastPicked.address())) {
                return new RoundRobinScheduler(list, j);
            }
        }
        for (int j = 0; j < list.size(); j++) {
            if (Backends.ORDER.compare(list.get(j), lastPicked) > 0) {
                return new RoundRobinScheduler(list, j - 1);
            }
        }
        return new RoundRobinScheduler(list, -1);
    }

    @Override
    public String name() {
        return "rr";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "rr" + backends;
    }
}
