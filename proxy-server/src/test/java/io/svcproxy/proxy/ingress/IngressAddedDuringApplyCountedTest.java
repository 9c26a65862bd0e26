package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.proxy.metrics.MicrometerProxyMetrics;
import io.svcproxy.proxy.metrics.PrometheusText;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * From helper-110's review: {@link IngressListeners#apply} publishes the new routing table ({@code router.update})
 * before it tells {@link IngressStats} which Ingresses are in force ({@code stats.retain}). A request for an Ingress
 * the reload adds (or adds back) that an event loop routes in between resolves {@link IngressStats#forRoute} against
 * the old set and gets the recorder that counts nothing; {@code RouteMetricsCache} keeps it for as long as that
 * routing table stands, so every later request of that rule on that event loop is missing from {@code
 * svcproxy_http_requests_total} and from {@code /api/v1/ingresses}. The window is simulated here by resolving the
 * route from the backend lookup, which {@code apply} calls inside it (noticeMissingBackends), exactly as an event
 * loop's request would.
 */
class IngressAddedDuringApplyCountedTest {
    private final MicrometerProxyMetrics metrics =
            new MicrometerProxyMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), false);
    private final IngressStats stats = new IngressStats(metrics);
    private final List<IngressMetrics.RouteMetrics> resolvedDuringApply = new ArrayList<>();
    private IngressListeners listeners;

    @AfterEach
    void close() {
        metrics.close();
    }

    private static IngressSpec withRule(String name, String host, String service) {
        return new IngressSpec("default", name, null, List.of(new IngressSpec.Rule(host, List.of(
                new IngressSpec.HttpPath("/", "Prefix", new IngressSpec.Backend(service, 0, "http"))))), List.of());
    }

    @Test
    void requestsOfAnIngressAddedByAReloadAreCountedWhenRoutedWhileTheReloadApplies() {
        io.svcproxy.balancer.BackendSet set = io.svcproxy.balancer.BackendSet.of("rr", java.util.Set.of(),
                io.svcproxy.balancer.SessionAffinity.NONE, List.of(), System::nanoTime);
        listeners = new IngressListeners(backend -> {
            if (backend.name().equals("blog-svc") && listeners != null) {
                // an event loop routes a request for blog.example now: the new table is already published
                Route<ServiceBackend> route = listeners.table().match("blog.example", "/");
                if (route != null && resolvedDuringApply.isEmpty()) {
                    resolvedDuringApply.add(stats.forRoute(route));
                }
            }
            return set;
        }, stats);
        listeners.apply(List.of(withRule("shop", "shop.example", "web")));
        listeners.apply(List.of(withRule("shop", "shop.example", "web"), withRule("blog", "blog.example", "blog-svc")));
        assertThat(resolvedDuringApply).as("the route was resolved while apply ran").hasSize(1);

        // the event loop's RouteMetricsCache keeps that recorder for the table's lifetime: three requests answered
        for (int i = 0; i < 3; i++) {
            resolvedDuringApply.get(0).requestCompleted(200, 1_000_000);
        }

        assertThat(stats.counts(new IngressStats.RuleKey("default/blog", "blog.example", "/", "Prefix")).hits())
                .as("/api/v1/ingresses hits of the added Ingress's rule").isEqualTo(3);
        assertThat(PrometheusText.parse(metrics.scrape()).value("svcproxy_http_requests_total",
                "ingress", "default/blog", "host", "blog.example", "path", "/", "service", "default/blog-svc",
                "code", "200")).as("svcproxy_http_requests_total of the added Ingress's rule").isEqualTo(3);
    }
}
