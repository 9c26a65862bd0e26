package io.svcproxy.proxy.reconcile;

import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.EndpointTarget;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The scheduling list of a Service port: what its endpoints (from the desired state) and the endpoints' health
 * and connections (from the data plane) make of it. Pure functions; the {@link Reconciler} publishes the result.
 */
final class EndpointList {
    private EndpointList() {
    }

    /**
     * Returns the scheduling list for {@code targets}: the usable endpoints with their weights (kube-proxy's
     * {@code CategorizeEndpoints}: the ready ones, or when none is ready the serving and terminating ones), and
     * with weight 0 the endpoints that left or are terminating while they still have connections. An endpoint
     * that stays keeps its counters.
     */
    static List<BackendState> of(List<BackendState> previous, List<EndpointTarget> targets) {
        return of(previous, targets, new DepartedEndpoints());
    }

    /**
     * As {@link #of(List, List)}; an endpoint that leaves the list with no connection goes to {@code departed},
     * and one that comes back takes its counters from there (see {@link DepartedEndpoints}).
     */
    static List<BackendState> of(List<BackendState> previous, List<EndpointTarget> targets,
                                 DepartedEndpoints departed) {
        Map<String, BackendState> known = new HashMap<>();
        for (BackendState b : previous) {
            known.put(b.endpoint(), b);
        }
        boolean anyReady = targets.stream().anyMatch(EndpointTarget::ready);
        // Health: an endpoint ejected or failing its checks is published with weight 0 (IPVS quiesced), unless no
        // endpoint in service would be left: then all keep their weights (Envoy's panic mode), so that a Service
        // whose checks all fail still tries its endpoints rather than refusing every client.
        boolean anyInService = false;
        for (EndpointTarget t : targets) {
            String endpoint = Backends.format(t.ip(), t.port());
            BackendState old = known.containsKey(endpoint) ? known.get(endpoint) : departed.peek(endpoint);
            boolean usable = anyReady ? t.ready() : t.serving() && t.terminating();
            if (usable && t.weight() > 0 && (old == null || old.inService())) {
                anyInService = true;
                break;
            }
        }
        List<BackendState> list = new ArrayList<>();
        for (EndpointTarget t : targets) {
            String endpoint = Backends.format(t.ip(), t.port());
            BackendState old = known.remove(endpoint);
            boolean usable = anyReady ? t.ready() : t.serving() && t.terminating();
            if (old == null && usable) {
                old = departed.take(endpoint); // back after it left: its counters go on
                if (old != null) {
                    old = old.added(t.weight()); // added, not edited: its last weight is the new one
                }
            }
            if (usable) {
                if (old == null) {
                    list.add(BackendState.of(t.ip(), t.port(), t.weight()));
                } else if (old.inService()) {
                    list.add(old.withWeight(t.weight(), BackendState.State.READY));
                } else {
                    BackendState.State state = old.counters().health().ejected() ? BackendState.State.EJECTED
                            : BackendState.State.UNHEALTHY;
                    list.add(anyInService ? old.outOfService(t.weight(), state) : old.withWeight(t.weight(), state));
                }
            } else if (old != null && hasConnections(old)) {
                list.add(old.withWeight(0, BackendState.State.DRAINING));
            } else if (old != null) {
                departed.keep(old);
            }
        }
        for (BackendState gone : known.values()) {
            if (hasConnections(gone)) {
                list.add(gone.withWeight(0, BackendState.State.DRAINING));
            } else {
                departed.keep(gone);
            }
        }
        list.sort(Backends.ORDER);
        return list;
    }



    /** Returns whether the endpoint still has connections (a draining one stays listed while it has). */
    static boolean hasConnections(BackendState b) {
        return b.activeConnections() + b.inactiveConnections() > 0;
    }
}
