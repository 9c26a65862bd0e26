package io.svcproxy.balancer;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * Random ({@code random}): kube-proxy's iptables mode. kube-proxy writes one rule per endpoint, in list order,
 * the n-th of N matching with {@code statistic --mode random --probability 1/(N-n+1)} (the last always), which picks
 * each endpoint with probability 1/N. With weights, the n-th is taken with probability {@code w_n} over the sum of
 * the weights of it and those after it, which picks each endpoint in proportion to its weight and is exactly the
 * iptables cascade when all weights are equal. Endpoints of weight 0 and those already tried for this connection
 * are skipped. O(n) per pick; one random draw per endpoint passed, as one per iptables rule. The random source is
 * injected (a seeded one makes tests exact); by default each thread draws from its own {@link ThreadLocalRandom}.
 */
final class RandomScheduler implements Scheduler {
    /** The default source: thread-safe, one generator per event loop thread. */
    static final RandomGenerator THREAD_LOCAL = () -> ThreadLocalRandom.current().nextLong();

    private final List<Backend> backends;
    private final RandomGenerator random;

    RandomScheduler(List<? extends Backend> backends, RandomGenerator random) {
        this.backends = List.copyOf(backends);
        this.random = random;
    }

    @Override
    public Backend pick(PickContext ctx) {
        long remaining = 0;
        for (int i = 0; i < backends.size(); i++) {
            Backend b = backends.get(i);
            if (Schedulers.isAvailable(b, ctx)) {
                remaining += b.weight();
            }
        }
        for (int i = 0; i < backends.size() && remaining > 0; i++) {
            Backend b = backends.get(i);
            if (!Schedulers.isAvailable(b, ctx)) {
                continue;
            }
            // the rule of this endpoint: taken with probability weight / (its weight and all after it)
            if (b.weight() == remaining || random.nextLong(remaining) < b.weight()) {
                return b;
            }
            remaining -= b.weight();
        }
        return null;
    }

    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        return new RandomScheduler(next, random);
    }

    @Override
    public String name() {
        return "random";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "random" + backends;
    }
}
