package io.svcproxy.ingress.proxy;

import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * One event loop's {@link IngressMetrics.RouteMetrics} by route, so a request's metrics cost one identity lookup
 * instead of building keys and looking meters up per request. Routes are the objects of the routing table in force;
 * when a reload publishes another table the cache starts over, so the routes of old tables are not held.
 *
 * <p>Owned by one event loop: no locks.
 */
final class RouteMetricsCache {
    private final Router<ServiceBackend> router;
    private final IngressMetrics metrics;
    private final Map<Route<ServiceBackend>, IngressMetrics.RouteMetrics> byRoute = new IdentityHashMap<>();
    private RoutingTable<ServiceBackend> table;
    private IngressMetrics.RouteMetrics notFound;

    RouteMetricsCache(Router<ServiceBackend> router, IngressMetrics metrics) {
        this.router = router;
        this.metrics = metrics;
    }

    IngressMetrics.RouteMetrics of(Route<ServiceBackend> route) {
        if (route == null) {
            IngressMetrics.RouteMetrics m = notFound;
            if (m == null) {
                notFound = m = metrics.forRoute(null);
            }
            return m;
        }
        RoutingTable<ServiceBackend> current = router.table();
        if (current != table) {
            table = current;
            byRoute.clear();
        }
        IngressMetrics.RouteMetrics m = byRoute.get(route);
        if (m == null) {
            m = metrics.forRoute(route);
            byRoute.put(route, m);
        }
        return m;
    }
}
