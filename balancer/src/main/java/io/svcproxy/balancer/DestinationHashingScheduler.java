package io.svcproxy.balancer;

import io.svcproxy.balancer.internal.IpvsHash;
import java.util.List;

/**
 * Destination hashing ({@code dh}, {@code net/netfilter/ipvs/ip_vs_dh.c}): a 256-bucket table where bucket
 * {@code i} holds backend {@code i mod n} (weights do not shape it), looked up with
 * {@code hash_32(fold(destination), 8)}. The destination is the clusterIP, so every client of a Service port
 * gets the same backend. A bucket whose backend has weight 0 yields {@code null}. The kernel's dh has no
 * fallback; a retry (avoided backends) walks the buckets as {@code sh}'s fallback does with port 0, so a failed
 * connect can still reach another backend. O(1) per pick, O(n) worst case on a retry; the table is built once.
 */
final class DestinationHashingScheduler implements Scheduler {
    private final List<Backend> backends;
    private final int[] table;

    DestinationHashingScheduler(List<? extends Backend> backends) {
        this.backends = List.copyOf(backends);
        this.table = new int[IpvsHash.TAB_SIZE];
        int n = this.backends.size();
        for (int i = 0; i < table.length; i++) {
            table[i] = n == 0 ? -1 : i % n;
        }
    }

    @Override
    public Backend pick(PickContext ctx) {
        int fold = IpvsHash.fold(ctx.destinationAddress());
        return SourceHashingScheduler.lookup(backends, table, fold, 0, ctx.hasExclusions(), ctx);
    }

    @Override
    public Backend hashed(PickContext ctx) {
        return HashLookup.first(backends, table, IpvsHash::bucket, IpvsHash.fold(ctx.destinationAddress()), 0);
    }

    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        return new DestinationHashingScheduler(next);
    }

    @Override
    public String name() {
        return "dh";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "dh" + backends;
    }
}
