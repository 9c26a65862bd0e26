package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.proxy.metrics.MicrometerProxyMetrics;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The Ingress's counts and series follow the Ingresses in force. */
class IngressStatsTest {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final IngressStats stats = new IngressStats(new MicrometerProxyMetrics(registry, false));
    private final Route<ServiceBackend> solver = new Route<>("default/cm-acme-http-solver-x", "shop.example",
            "/.well-known/acme-challenge/t", PathType.EXACT, new ServiceBackend("default", "kapi", 80, null));

    private List<String> series(String ingress) {
        return Arrays.stream(registry.scrape().split("\n"))
                .filter(l -> l.startsWith("svcproxy_http_request") && l.contains(ingress)).toList();
    }

    /**
     * A request in flight when its Ingress is deleted completes after {@link IngressStats#retain}: its series and
     * counts do not come back (found by a review, helper-87); a 404's and a present Ingress's stay.
     */
    @Test
    void aDeletedIngressesSeriesGoAndARequestCompletingLaterDoesNotBringThemBack() {
        stats.forRoute(solver).requestCompleted(200, 1_000_000);
        stats.forRoute(null).requestCompleted(404, 1_000_000);
        assertThat(series("cm-acme-http-solver-x")).isNotEmpty();

        stats.retain(Set.of("default/web")); // the solver's Ingress is deleted
        stats.forRoute(solver).requestCompleted(200, 1_000_000); // its request in flight completes
        assertThat(series("cm-acme-http-solver-x")).as("series of an Ingress deleted").isEmpty();
        assertThat(stats.counts(new IngressStats.RuleKey("default/cm-acme-http-solver-x", "shop.example",
                "/.well-known/acme-challenge/t", "Exact")).hits()).isZero();
        assertThat(stats.counts(IngressStats.NOT_FOUND).hits()).as("the 404s' stay").isEqualTo(1);
        assertThat(series("ingress=\"\"")).isNotEmpty();
    }
}
