package io.svcproxy.balancer;

import io.svcproxy.balancer.internal.IpvsHash;
import java.util.List;

/**
 * Source hashing ({@code sh}, {@code net/netfilter/ipvs/ip_vs_sh.c}): a 256-bucket table filled in list order,
 * each backend taking {@code weight} consecutive buckets per turn (at least one, so weight 0 keeps one bucket
 * per turn) until the 256 are full; looked up with {@code hash_32(port + fold(client), 8)}, the port being the
 * client's with {@code sh-port} and 0 otherwise. A bucket whose backend is unavailable (weight 0, or avoided on a
 * retry) yields {@code null}, unless {@code sh-fallback} is set or the pick is a retry: then the kernel's
 * fallback walk ({@code ip_vs_sh_get_fallback}) tries bucket {@code (roffset + hash) & 255} for each
 * {@code roffset} from the original bucket round, and stops at an empty bucket. O(1) per pick, O(256) worst case
 * with fallback; the table is built once per backend list.
 */
final class SourceHashingScheduler implements Scheduler {
    private final List<Backend> backends;
    private final boolean fallback;
    private final boolean usePort;
    private final int[] table;

    SourceHashingScheduler(List<? extends Backend> backends, boolean fallback, boolean usePort) {
        this.backends = List.copyOf(backends);
        this.fallback = fallback;
        this.usePort = usePort;
        this.table = buildTable(this.backends);
    }

    /** Returns {@code ip_vs_sh_reassign}'s table as backend indices, -1 for empty buckets. */
    static int[] buildTable(List<Backend> backends) {
        int[] table = new int[IpvsHash.TAB_SIZE];
        int n = backends.size();
        int p = 0;
        int count = 0;
        for (int i = 0; i < table.length; i++) {
            if (n == 0) {
                table[i] = -1;
                continue;
            }
            table[i] = p;
            // Do not move to the next backend until it has filled its weight (at least one bucket).
            if (++count >= backends.get(p).weight()) {
                p = (p + 1) % n;
                count = 0;
            }
        }
        return table;
    }

    @Override
    public Backend pick(PickContext ctx) {
        int fold = IpvsHash.fold(ctx.clientAddress());
        int port = usePort ? ctx.clientPort() : 0;
        return lookup(backends, table, fold, port, fallback || ctx.hasExclusions(), ctx);
    }

    @Override
    public Backend hashed(PickContext ctx) {
        int port = usePort ? ctx.clientPort() : 0;
        return HashLookup.first(backends, table, IpvsHash::bucket, IpvsHash.fold(ctx.clientAddress()), port);
    }

    /** Looks up a 256-bucket table as {@code ip_vs_sh_get}, or {@code ip_vs_sh_get_fallback} with fallback. */
    static Backend lookup(List<Backend> backends, int[] table, int fold, int port, boolean fallback,
                          PickContext ctx) {
        return HashLookup.lookup(backends, table, IpvsHash.TAB_SIZE, IpvsHash::bucket, fold, port, fallback, ctx);
    }

    /** Returns the backend index of each bucket, -1 for an empty bucket; for tests. */
    int[] table() {
        return table.clone();
    }

    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        return new SourceHashingScheduler(next, fallback, usePort);
    }

    @Override
    public String name() {
        return "sh";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "sh" + backends;
    }
}
