package io.svcproxy.proxy.metrics;

import static io.svcproxy.proxy.metrics.ServicePortFixtures.backend;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.notReady;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.respec;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.servicePort;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.set;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Lease;
import io.svcproxy.config.Protocol;
import io.svcproxy.proxy.dataplane.ServicePort;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MicrometerProxyMetricsTest {
    private static final String[] WEB = {"service", "default/web", "port", "http"};

    private final MicrometerProxyMetrics metrics =
            new MicrometerProxyMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), false);

    private final BackendState a = backend("127.0.0.11", 8080, 1);
    private final BackendState b = backend("127.0.0.12", 8080, 2);
    private final BackendState c = backend("127.0.0.13", 8080, 1).withWeight(0, BackendState.State.DRAINING);
    private final ServicePort web = servicePort("default", "web", "127.0.10.1", 80, "http", "rr",
            List.of(a, b, c), List.of(notReady("127.0.0.14", 8080)));

    @AfterEach
    void close() {
        metrics.close();
    }

    private PrometheusText scrape() {
        return PrometheusText.parse(metrics.scrape());
    }

    private static String[] with(String... more) {
        String[] all = new String[WEB.length + more.length];
        System.arraycopy(WEB, 0, all, 0, WEB.length);
        System.arraycopy(more, 0, all, WEB.length, more.length);
        return all;
    }

    @Test
    void exposesTheSpecNamesWithoutDoubleSuffixes() {
        metrics.servicePortAdded(web);
        metrics.connected(web, a, 1_000_000);
        metrics.connectFailed(web, b, "refused");

        PrometheusText text = scrape();

        assertThat(text.names()).contains(
                "svcproxy_connections_active",
                "svcproxy_connections_total",
                "svcproxy_connect_failures_total",
                "svcproxy_no_endpoint_total",
                "svcproxy_bytes_total",
                "svcproxy_connect_duration_seconds_bucket",
                "svcproxy_connect_duration_seconds_count",
                "svcproxy_connect_duration_seconds_sum",
                "svcproxy_endpoints",
                "svcproxy_config_reloads_total");
        assertThat(text.names()).noneMatch(n -> n.contains("_total_total") || n.contains("_seconds_seconds")
                || n.contains("bytes_bytes"));
        assertThat(metrics.scrape()).contains("# TYPE svcproxy_connect_duration_seconds histogram");
    }

    @Test
    void theTwoFamiliesOfADualStackServiceAreSummedUnderTheirLabelsAndOneOutlivesTheOther() {
        // one Service port per clusterIP, the same service and port labels (as the Kubernetes mapping makes them)
        BackendState v6Endpoint = backend("::1", 8080, 1);
        ServicePort v6 = servicePort("default", "web", "::1", 80, "http", "rr", List.of(v6Endpoint), List.of());
        metrics.servicePortAdded(web);
        metrics.servicePortAdded(v6);
        web.countNoEndpoint();
        v6.countNoEndpoint();
        v6.countNoEndpoint();
        v6.addBytesToEndpoint(1000);
        metrics.connected(v6, v6Endpoint, 1_000_000);
        metrics.connected(web, a, 1_000_000);
        PrometheusText text = scrape();
        assertThat(text.value("svcproxy_no_endpoint_total", WEB)).isEqualTo(3);
        assertThat(text.value("svcproxy_bytes_total", with("direction", "to_endpoint"))).isEqualTo(1000);
        assertThat(text.value("svcproxy_endpoints", with("state", "ready"))).isEqualTo(3); // a, b and ::1
        assertThat(text.value("svcproxy_connect_duration_seconds_count", WEB)).isEqualTo(2);
        assertThat(text.value("svcproxy_connections_total", with("endpoint", "[::1]:8080"))).isZero();

        metrics.servicePortRemoved(web); // the Service becomes single-stack IPv6: its IPv6 half keeps its series
        text = scrape();
        assertThat(text.value("svcproxy_no_endpoint_total", WEB)).as("a counter never falls").isEqualTo(3);
        v6.countNoEndpoint();
        text = scrape();
        assertThat(text.value("svcproxy_no_endpoint_total", WEB)).isEqualTo(4);
        assertThat(text.value("svcproxy_bytes_total", with("direction", "to_endpoint"))).isEqualTo(1000);
        assertThat(text.value("svcproxy_endpoints", with("state", "ready"))).isEqualTo(1);
        assertThat(text.value("svcproxy_connections_total", with("endpoint", "[::1]:8080"))).isZero();
        assertThat(text.find("svcproxy_connections_total", with("endpoint", "127.0.0.11:8080"))).isEmpty();

        metrics.servicePortRemoved(v6);
        assertThat(scrape().find("svcproxy_no_endpoint_total", WEB)).isEmpty();
    }

    @Test
    void aRemovedPortThatDrainsAndItsSuccessorAtTheSameKeyAreBothCounted() {
        metrics.servicePortAdded(web);
        web.countNoEndpoint();
        Lease held = a.counters().lease();
        held.established();
        metrics.servicePortDraining(web); // removed from the table, a connection still open
        BackendState fresh = backend("127.0.0.11", 8080, 1); // the successor's own counters for the endpoint
        ServicePort successor = servicePort("default", "web", "127.0.10.1", 80, "http", "rr", List.of(fresh),
                List.of());
        metrics.servicePortAdded(successor); // re-added at the same key while the removed one drains
        successor.countNoEndpoint();
        fresh.counters().lease().release();
        PrometheusText text = scrape();
        assertThat(text.value("svcproxy_no_endpoint_total", WEB)).isEqualTo(2);
        assertThat(text.value("svcproxy_endpoints", with("state", "draining")))
                .as("the old port's endpoint with a connection left").isEqualTo(1);
        assertThat(text.value("svcproxy_endpoints", with("state", "ready"))).as("the successor's").isEqualTo(1);
        assertThat(text.value("svcproxy_connections_active", with("endpoint", "127.0.0.11:8080"))).isEqualTo(1);
        assertThat(text.value("svcproxy_connections_total", with("endpoint", "127.0.0.11:8080"))).isEqualTo(2);

        held.release();
        metrics.servicePortRemoved(web); // the drain of the old one ends: its counts stay in the totals
        text = scrape();
        assertThat(text.value("svcproxy_no_endpoint_total", WEB)).isEqualTo(2);
        assertThat(text.value("svcproxy_connections_total", with("endpoint", "127.0.0.11:8080"))).isEqualTo(2);
        assertThat(text.value("svcproxy_endpoints", with("state", "draining"))).isZero();
        assertThat(text.find("svcproxy_connections_total", with("endpoint", "127.0.0.12:8080"))).isEmpty();
    }

    @Test
    void aUdpSuccessorOfATcpPortWithTheSameLabelsHasItsOwnFlowMeters() {
        // a single-port Service changed from 80/TCP to 80/UDP: the TCP port drains while the UDP one serves
        metrics.servicePortAdded(web);
        a.counters().lease().established(); // a TCP connection, still open
        metrics.servicePortDraining(web);
        BackendState flowEndpoint = backend("127.0.0.11", 8080, 1);
        ServicePort udp = servicePort("default", "web", "127.0.10.1", 80, "http", Protocol.UDP, "rr",
                List.of(flowEndpoint), List.of());
        metrics.servicePortAdded(udp);
        flowEndpoint.counters().lease(); // a UDP flow, alive
        flowEndpoint.counters().lease().release(); // one that ended

        String[] endpoint = with("endpoint", "127.0.0.11:8080");
        PrometheusText text = scrape();
        assertThat(text.value("svcproxy_udp_flows_total", endpoint)).as("flows only").isEqualTo(2);
        assertThat(text.value("svcproxy_udp_flows_active", endpoint)).isEqualTo(1);
        assertThat(text.value("svcproxy_connections_total", endpoint)).as("connections and flows").isEqualTo(3);
        assertThat(text.value("svcproxy_connections_active", endpoint)).isEqualTo(1);

        metrics.servicePortRemoved(web); // the TCP port's drain ends
        text = scrape();
        assertThat(text.value("svcproxy_udp_flows_total", endpoint)).isEqualTo(2);
        assertThat(text.value("svcproxy_connections_total", endpoint)).isEqualTo(3);
        assertThat(text.value("svcproxy_connections_active", endpoint)).isZero();

        BackendState again = backend("127.0.0.11", 8080, 1); // the UDP port lists it with new counters
        metrics.servicePortRemoved(udp);
        ServicePort tcpAgain = servicePort("default", "web", "127.0.10.1", 80, "http", "rr", List.of(again),
                List.of());
        metrics.servicePortAdded(tcpAgain);
        assertThat(scrape().find("svcproxy_udp_flows_total", endpoint)).as("a TCP port's endpoint alone").isEmpty();
    }

    @Test
    void aPortRelabelledAwayAndBackCountsOnlyWhatItAddedUnderEachLabel() {
        metrics.servicePortAdded(web);
        web.addBytesToEndpoint(100);
        web.countArrival(io.svcproxy.proxy.dataplane.AddressKind.CLUSTER);
        ServicePort twin = servicePort("default", "web", "::1", 80, "http", "rr", List.of(), List.of());
        metrics.servicePortAdded(twin); // keeps the http labels alive meanwhile
        web.update(respecPort(web, "web2"), web.backendSet());
        metrics.servicePortChanged(web); // http -> web2
        web.addBytesToEndpoint(10);
        assertThat(scrape().value("svcproxy_bytes_total", "service", "default/web", "port", "web2", "direction",
                "to_endpoint")).as("what it relayed under web2").isEqualTo(10);
        assertThat(scrape().value("svcproxy_address_connections_total", "service", "default/web", "port", "web2",
                "address", "cluster")).as("a counter the new labels made after it joined: from then on too").isZero();
        web.update(respecPort(web, "http"), web.backendSet());
        metrics.servicePortChanged(web); // web2 -> http
        assertThat(scrape().value("svcproxy_bytes_total", with("direction", "to_endpoint")))
                .as("100 before it left; counted once, not again when it came back").isEqualTo(100);
        web.addBytesToEndpoint(1);
        assertThat(scrape().value("svcproxy_bytes_total", with("direction", "to_endpoint"))).isEqualTo(101);
    }

    private static io.svcproxy.config.ServicePortSpec respecPort(ServicePort port, String name) {
        io.svcproxy.config.ServicePortSpec s = port.spec();
        io.svcproxy.config.PortSpec p = s.port();
        return new io.svcproxy.config.ServicePortSpec(s.key(), s.service(), new io.svcproxy.config.PortSpec(name,
                p.protocol(), p.port(), p.targetPort(), p.udpIdleTimeout(), p.udpResponses(), p.proxyProtocol()),
                s.endpoints());
    }

    @Test
    void aPortThatMovesSharesItsEndpointsSeriesWithItsPredecessorAndKeepsThemAfterIt() {
        metrics.servicePortAdded(web);
        a.counters().lease().release();
        // the same Service port at another address: the reconciler hands it the endpoints' counters
        ServicePort moved = servicePort("default", "web", "127.0.10.2", 80, "http", "rr", List.of(a, b), List.of());
        metrics.servicePortAdded(moved);
        metrics.servicePortDraining(web);
        a.counters().lease().release();
        assertThat(scrape().value("svcproxy_connections_total", with("endpoint", "127.0.0.11:8080"))).isEqualTo(2);
        metrics.servicePortRemoved(web);
        a.counters().lease().release();
        PrometheusText text = scrape();
        assertThat(text.value("svcproxy_connections_total", with("endpoint", "127.0.0.11:8080"))).isEqualTo(3);
        assertThat(text.value("svcproxy_endpoints", with("state", "ready"))).isEqualTo(2);
        metrics.connectFailed(moved, a, "refused");
        assertThat(scrape().value("svcproxy_connect_failures_total", with("endpoint", "127.0.0.11:8080", "reason",
                "refused"))).isEqualTo(1);
    }

    @Test
    void reportsEndpointConnectionsFromTheLiveCounters() {
        metrics.servicePortAdded(web);
        Lease first = a.counters().lease();
        first.established();
        a.counters().lease();
        b.counters().lease().release();

        PrometheusText text = scrape();

        assertThat(text.value("svcproxy_connections_active", with("endpoint", "127.0.0.11:8080"))).isEqualTo(1);
        assertThat(text.value("svcproxy_connections_total", with("endpoint", "127.0.0.11:8080"))).isEqualTo(2);
        assertThat(text.value("svcproxy_connections_active", with("endpoint", "127.0.0.12:8080"))).isEqualTo(0);
        assertThat(text.value("svcproxy_connections_total", with("endpoint", "127.0.0.12:8080"))).isEqualTo(1);
        assertThat(text.value("svcproxy_connections_total", with("endpoint", "127.0.0.13:8080"))).isEqualTo(0);
    }

    @Test
    void countsEndpointsByState() {
        metrics.servicePortAdded(web);

        PrometheusText text = scrape();

        assertThat(text.value("svcproxy_endpoints", with("state", "ready"))).isEqualTo(2);
        assertThat(text.value("svcproxy_endpoints", with("state", "draining"))).isEqualTo(1);
        assertThat(text.value("svcproxy_endpoints", with("state", "not_ready"))).isEqualTo(1);
    }

    @Test
    void reportsPortCountersAtZero() {
        metrics.servicePortAdded(web);

        PrometheusText text = scrape();

        assertThat(text.value("svcproxy_no_endpoint_total", WEB)).isEqualTo(0);
        assertThat(text.value("svcproxy_bytes_total", with("direction", "to_endpoint"))).isEqualTo(0);
        assertThat(text.value("svcproxy_bytes_total", with("direction", "to_client"))).isEqualTo(0);
    }

    @Test
    void recordsConnectDurationsInSecondBuckets() {
        metrics.servicePortAdded(web);
        metrics.connected(web, a, TimeUnit.MICROSECONDS.toNanos(300));
        metrics.connected(web, b, TimeUnit.MILLISECONDS.toNanos(3));

        PrometheusText text = scrape();

        assertThat(text.value("svcproxy_connect_duration_seconds_count", WEB)).isEqualTo(2);
        assertThat(text.value("svcproxy_connect_duration_seconds_sum", WEB)).isCloseTo(0.0033, within(1e-9));
        assertThat(text.value("svcproxy_connect_duration_seconds_bucket", with("le", "5.0E-4"))).isEqualTo(1);
        assertThat(text.value("svcproxy_connect_duration_seconds_bucket", with("le", "0.005"))).isEqualTo(2);
        assertThat(text.value("svcproxy_connect_duration_seconds_bucket", with("le", "+Inf"))).isEqualTo(2);
    }

    @Test
    void countsConnectFailuresByEndpointAndReason() {
        metrics.servicePortAdded(web);
        metrics.connectFailed(web, a, "refused");
        metrics.connectFailed(web, a, "refused");
        metrics.connectFailed(web, a, "timeout");

        PrometheusText text = scrape();

        assertThat(text.value("svcproxy_connect_failures_total",
                with("endpoint", "127.0.0.11:8080", "reason", "refused"))).isEqualTo(2);
        assertThat(text.value("svcproxy_connect_failures_total",
                with("endpoint", "127.0.0.11:8080", "reason", "timeout"))).isEqualTo(1);
    }

    @Test
    void registersBothReloadResultsAtZero() {
        assertThat(scrape().value("svcproxy_config_reloads_total", "result", "applied")).isEqualTo(0);
        assertThat(scrape().value("svcproxy_config_reloads_total", "result", "rejected")).isEqualTo(0);

        metrics.reload(true);
        metrics.reload(false);
        metrics.reload(false);

        assertThat(scrape().value("svcproxy_config_reloads_total", "result", "applied")).isEqualTo(1);
        assertThat(scrape().value("svcproxy_config_reloads_total", "result", "rejected")).isEqualTo(2);
    }

    @Test
    void removesTheMetersOfEndpointsThatLeft() {
        metrics.servicePortAdded(web);
        metrics.connectFailed(web, b, "refused");
        BackendState d = backend("127.0.0.15", 8080, 1);
        web.update(respec(web, List.of(a, d), List.of()), set("rr", List.of(a, d)));

        metrics.servicePortChanged(web);

        PrometheusText text = scrape();
        assertThat(text.find("svcproxy_connections_total")).extracting(s -> s.labels().get("endpoint"))
                .containsExactlyInAnyOrder("127.0.0.11:8080", "127.0.0.15:8080");
        assertThat(text.find("svcproxy_connections_active")).hasSize(2);
        assertThat(text.find("svcproxy_connect_failures_total")).isEmpty();
        assertThat(text.value("svcproxy_endpoints", with("state", "ready"))).isEqualTo(2);
        assertThat(text.value("svcproxy_endpoints", with("state", "draining"))).isEqualTo(0);
        assertThat(text.value("svcproxy_endpoints", with("state", "not_ready"))).isEqualTo(0);
    }

    @Test
    void followsAnEndpointThatCameBackWithNewCounters() {
        metrics.servicePortAdded(web);
        a.counters().lease();
        BackendState again = backend("127.0.0.11", 8080, 1);
        web.update(respec(web, List.of(again, b), List.of()), set("rr", List.of(again, b)));

        metrics.servicePortChanged(web);

        assertThat(scrape().value("svcproxy_connections_total", with("endpoint", "127.0.0.11:8080"))).isEqualTo(0);
        again.counters().lease();
        assertThat(scrape().value("svcproxy_connections_total", with("endpoint", "127.0.0.11:8080"))).isEqualTo(1);
    }

    @Test
    void removesEveryMeterOfARemovedServicePort() {
        ServicePort other = servicePort("prod", "db", "127.0.10.2", 5432, "", "lc",
                List.of(backend("127.0.0.21", 5432, 1)), List.of());
        metrics.servicePortAdded(web);
        metrics.servicePortAdded(other);
        metrics.connected(web, a, 1000);
        metrics.connectFailed(web, a, "reset");

        metrics.servicePortRemoved(web);

        String text = metrics.scrape();
        assertThat(text).doesNotContain("default/web");
        assertThat(PrometheusText.parse(text).value("svcproxy_connections_total",
                "service", "prod/db", "port", "5432", "endpoint", "127.0.0.21:5432")).isEqualTo(0);
        assertThat(metrics.registry().getMeters()).noneMatch(m -> "default/web".equals(m.getId().getTag("service")));
    }

    @Test
    void ignoresEventsOfAServicePortItDoesNotKnow() {
        metrics.connected(web, a, 1000);
        metrics.connectFailed(web, a, "refused");

        assertThat(metrics.scrape()).doesNotContain("default/web");
    }

    @Test
    void bindsJvmAndProcessMetricsByDefault() {
        try (MicrometerProxyMetrics full =
                     new MicrometerProxyMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
            List<String> names = PrometheusText.parse(full.scrape()).names();
            assertThat(names).contains("jvm_memory_used_bytes", "jvm_threads_live_threads",
                    "jvm_classes_loaded_classes", "process_uptime_seconds", "system_cpu_count",
                    "svcproxy_config_reloads_total");
        }
    }
}
