package io.svcproxy.proxy.reconcile;

import io.svcproxy.balancer.BackendState;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The endpoints that left one Service port's list, kept with their counters (connections given, bytes, health), so
 * that one that comes back (a readiness flap, a Pod removed and added again) goes on where it stopped: SPEC's admin
 * {@code total} counts the connections an endpoint was given since svcproxy started, and {@code
 * svcproxy_connections_total} never falls for it. IPVS does the same with a removed real server, which it keeps in
 * its trash and restores, stats included, when it is added back ({@code ip_vs_trash_get_dest}). Bounded: the
 * {@value #LIMIT} that left last. Changed under the reconciler's lock; the admin API reads it too (its not-ready
 * endpoints' counters), so its methods are synchronized.
 */
final class DepartedEndpoints {
    /** How many departed endpoints a Service port remembers: far more than flap at once. */
    static final int LIMIT = 1024;

    /** Made at the first departure: most Service ports never see one, and the reconciler holds one per port. */
    private Map<String, BackendState> left;

    /** Remembers {@code endpoint}, which left the list with no connection. */
    synchronized void keep(BackendState endpoint) {
        if (left == null) {
            left = new LinkedHashMap<>() {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, BackendState> eldest) {
                    return size() > LIMIT;
                }
            };
        }
        left.remove(endpoint.endpoint()); // the newest is the last to go
        left.put(endpoint.endpoint(), endpoint);
    }

    /** Returns the departed endpoint {@code ip:port} and forgets it, or {@code null}. */
    synchronized BackendState take(String endpoint) {
        return left == null ? null : left.remove(endpoint);
    }

    /** Returns the departed endpoint {@code ip:port}, or {@code null}. */
    synchronized BackendState peek(String endpoint) {
        return left == null ? null : left.get(endpoint);
    }

    synchronized int size() {
        return left == null ? 0 : left.size();
    }
}
