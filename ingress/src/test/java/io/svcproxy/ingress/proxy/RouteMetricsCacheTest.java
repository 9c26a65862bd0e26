package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The per-event-loop cache of route metrics: resolved once per route and table, equal to the uncached calls. */
class RouteMetricsCacheTest {
    private static final ServiceBackend WEB = new ServiceBackend("default", "web", 80, null);

    private final List<Route<ServiceBackend>> resolved = new ArrayList<>();
    private final List<String> recorded = new ArrayList<>();
    private final IngressMetrics metrics = new IngressMetrics() {
        @Override
        public void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
            recorded.add((route == null ? "404" : route.path()) + " " + status + " " + durationNanos);
        }

        @Override
        public RouteMetrics forRoute(Route<ServiceBackend> route) {
            resolved.add(route);
            return IngressMetrics.super.forRoute(route);
        }
    };
    private final Router<ServiceBackend> router = new Router<>();
    private final RouteMetricsCache cache = new RouteMetricsCache(router, metrics);

    @Test
    void resolvesEachRouteOnceWhileTheTableStands() {
        router.update(table());
        Route<ServiceBackend> route = router.route("shop.example", "/api/x");
        cache.of(route).requestCompleted(200, 5);
        cache.of(route).requestCompleted(502, 7);
        cache.of(null).requestCompleted(404, 1);
        cache.of(null).requestCompleted(404, 2);
        assertThat(resolved).containsExactly(route, null);
        assertThat(recorded).containsExactly("/api 200 5", "/api 502 7", "404 404 1", "404 404 2");
    }

    @Test
    void startsOverWhenAReloadPublishesAnotherTable() {
        router.update(table());
        Route<ServiceBackend> before = router.route("shop.example", "/api/x");
        cache.of(before).requestCompleted(200, 1);
        router.update(table());
        Route<ServiceBackend> after = router.route("shop.example", "/api/x");
        cache.of(after).requestCompleted(200, 2);
        cache.of(after).requestCompleted(200, 3);
        assertThat(after).isNotSameAs(before);
        assertThat(resolved).containsExactly(before, after);
        assertThat(recorded).containsExactly("/api 200 1", "/api 200 2", "/api 200 3");
    }

    private static RoutingTable<ServiceBackend> table() {
        return RoutingTable.compile(List.of(new IngressRules<>("default/shop", null, List.of(
                new IngressRules.Rule<>("shop.example", List.of(
                        new IngressRules.PathRule<>("/api", PathType.PREFIX, WEB)))))));
    }
}
