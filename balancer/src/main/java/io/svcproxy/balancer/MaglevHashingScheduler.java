package io.svcproxy.balancer;

import io.svcproxy.balancer.internal.IpvsHash;
import io.svcproxy.balancer.internal.MaglevTable;
import java.util.List;

/**
 * Maglev hashing ({@code mh}, {@code net/netfilter/ipvs/ip_vs_mh.c}; Eisenbud et al., "Maglev", NSDI 2016,
 * §3.4): a 4093-slot table where each backend fills slots along its own permutation (offset and skip from two
 * {@code hsiphash} keys of its address and port), taking slots in proportion to its last non-zero weight; a
 * client's slot is {@code hsiphash(port + fold(client)) mod 4093}, the port being the client's with
 * {@code mh-port} and 0 otherwise. The table is built from {@link Backend#lastWeight()}, so quiescing a backend
 * to weight 0 keeps every client's slot; a slot whose backend is unavailable (weight 0, or avoided on a retry)
 * yields {@code null}, unless {@code mh-fallback} is set or the pick is a retry: then the kernel's walk
 * ({@code ip_vs_mh_get_fallback}) tries the slot of {@code hashkey(roffset)} for each {@code roffset} from the
 * original slot round, and stops at an empty slot. Removing one of n backends moves about 1/n of the clients.
 * O(1) per pick (one hash), O(M) worst case with fallback; the table is built once per backend list, in
 * O(M log M) expected time.
 */
final class MaglevHashingScheduler implements Scheduler {
    private final List<Backend> backends;
    private final boolean fallback;
    private final boolean usePort;
    private final int[] table;

    MaglevHashingScheduler(List<? extends Backend> backends, boolean fallback, boolean usePort) {
        this.backends = List.copyOf(backends);
        this.fallback = fallback;
        this.usePort = usePort;
        int n = this.backends.size();
        int[] folds = new int[n];
        int[] ports = new int[n];
        int[] lastWeights = new int[n];
        for (int i = 0; i < n; i++) {
            Backend b = this.backends.get(i);
            folds[i] = IpvsHash.fold(b.address());
            ports[i] = b.port();
            lastWeights[i] = b.lastWeight();
        }
        this.table = MaglevTable.build(folds, ports, lastWeights);
    }

    @Override
    public Backend pick(PickContext ctx) {
        int fold = IpvsHash.fold(ctx.clientAddress());
        int port = usePort ? ctx.clientPort() : 0;
        return HashLookup.lookup(backends, table, MaglevTable.SIZE, MaglevTable::slot, fold, port,
                fallback || ctx.hasExclusions(), ctx);
    }

    @Override
    public Backend hashed(PickContext ctx) {
        int port = usePort ? ctx.clientPort() : 0;
        return HashLookup.first(backends, table, MaglevTable::slot, IpvsHash.fold(ctx.clientAddress()), port);
    }

    /** Returns the backend index of each slot, -1 for an empty slot; for tests. */
    int[] table() {
        return table.clone();
    }

    @Override
    public Scheduler withBackends(List<? extends Backend> next) {
        return new MaglevHashingScheduler(next, fallback, usePort);
    }

    @Override
    public String name() {
        return "mh";
    }

    @Override
    public List<Backend> backends() {
        return backends;
    }

    @Override
    public String toString() {
        return "mh" + backends;
    }
}
