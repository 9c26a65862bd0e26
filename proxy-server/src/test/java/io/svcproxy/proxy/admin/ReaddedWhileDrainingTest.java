package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.metrics.PrometheusText;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-110's review: a Service removed while a connection drains and added back before the drain ends (same
 * labels, same endpoint). {@code svcproxy_connections_total} and {@code _active} went on over both Service ports, while
 * {@code /api/v1/services} listed the new port's endpoint afresh (total 0, active 0) and stayed apart for good. The
 * port added back now takes its predecessor's endpoints over with their counters, as a port that moves does.
 * Loopback: endpoint 127.0.0.93, ClusterIP 127.0.10.93:49393.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReaddedWhileDrainingTest {
    private static final String[] LABELS = {"service", "default/echo", "port", "49393", "endpoint", null};
    private ProxyServer server;
    private TestBackend backend;

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private String yaml(boolean withService) {
        String service = !withService ? "[]" : """

                  - name: echo
                    clusterIP: 127.0.10.93
                    ports: [{port: 49393}]
                    endpoints: [{ip: 127.0.0.93, port: %d}]
                """.formatted(backend.address().getPort());
        return "proxy: {admin: off, drainTimeout: 30s}\nservices: " + service;
    }

    private static Socket exchange() throws Exception {
        Socket s = new Socket();
        s.setSoTimeout(3000);
        s.connect(new InetSocketAddress("127.0.10.93", 49393), 2000);
        s.getOutputStream().write("x".getBytes(StandardCharsets.UTF_8));
        assertThat(s.getInputStream().read()).isEqualTo('x');
        return s;
    }

    private JsonNode endpoint() throws Exception {
        return new ObjectMapper().readTree(new ServicesJson().render(server.table()))
                .get("services").get(0).get("endpoints").get(0);
    }

    private double metric(String name) {
        String[] labels = LABELS.clone();
        labels[5] = "127.0.0.93:" + backend.address().getPort();
        return PrometheusText.parse(server.meterRegistry().scrape()).value(name, labels);
    }

    @Test
    void aServiceAddedBackWhileItsPortDrainsGoesOnWithItsEndpointsCounts() throws Exception {
        backend = TestBackend.start(new InetSocketAddress("127.0.0.93", 0), "echo", Mode.ECHO);
        server = ProxyServer.start(ConfigLoader.parse(yaml(true), "readd.yaml"), Transport.select(), 2);
        for (int i = 0; i < 3; i++) {
            exchange().close();
        }
        try (Socket held = exchange()) {
            server.reload(ConfigLoader.parse(yaml(false), "readd.yaml")); // removed: the held connection drains
            server.reload(ConfigLoader.parse(yaml(true), "readd.yaml")); // and added back before the drain ends
            exchange().close();

            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                JsonNode e = endpoint();
                assertThat(e.get("total").asDouble()).as("total since svcproxy started: JSON and metrics")
                        .isEqualTo(5).isEqualTo(metric("svcproxy_connections_total"));
                assertThat(e.get("active").asDouble()).as("the held connection, in JSON and metrics")
                        .isEqualTo(1).isEqualTo(metric("svcproxy_connections_active"));
            });
            held.getOutputStream().write("y".getBytes(StandardCharsets.UTF_8));
            assertThat(held.getInputStream().read()).as("the held connection goes on").isEqualTo('y');
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(endpoint().get("active").asInt()).isZero();
            assertThat(metric("svcproxy_connections_active")).isZero();
            assertThat(endpoint().get("total").asDouble()).isEqualTo(5).isEqualTo(metric("svcproxy_connections_total"));
        });
    }

    /** The {@code (state, active)} of every endpoint {@code /api/v1/services} lists for Service {@code default/echo}. */
    private List<String> apiEndpoints() throws Exception {
        JsonNode doc = new ObjectMapper().readTree(new ServicesJson().render(server.table()));
        List<String> out = new ArrayList<>();
        for (JsonNode s : doc.get("services")) {
            if (s.get("name").asText().equals("echo")) {
                for (JsonNode e : s.get("endpoints")) {
                    out.add(e.get("ip").asText() + " " + e.get("state").asText() + " active=" + e.get("active"));
                }
            }
        }
        return out;
    }

    /**
     * From helper-121's review of the admin API against the metrics: a Service removed by a reload while one of its
     * connections drains. {@code /metrics} kept the port's series for the drain ({@code svcproxy_connections_active
     * 1}, {@code svcproxy_endpoints{state="draining"} 1}, bytes still counted), but {@code /api/v1/services} (and so
     * the stats page) dropped the port at once. The API now lists the removed port, every endpoint with connections
     * draining, until the sweep lets it go.
     */
    @Test
    void aRemovedServiceWhoseConnectionDrainsIsInTheMetricsAndTheApiAlike() throws Exception {
        backend = TestBackend.start(new InetSocketAddress("127.0.0.93", 0), "echo", Mode.ECHO);
        server = ProxyServer.start(ConfigLoader.parse(yaml(true), "removed.yaml"), Transport.select(), 2);
        String endpoint = "127.0.0.93:" + backend.address().getPort();
        try (Socket held = exchange()) {
            server.reload(ConfigLoader.parse(yaml(false), "removed.yaml")); // removed: the held connection drains

            held.getOutputStream().write("y".getBytes(StandardCharsets.UTF_8));
            assertThat(held.getInputStream().read()).as("the held connection goes on").isEqualTo('y');
            PrometheusText metrics = PrometheusText.parse(server.meterRegistry().scrape());
            assertThat(metrics.value("svcproxy_connections_active", "service", "default/echo", "endpoint", endpoint))
                    .as("/metrics: the drained connection").isEqualTo(1);
            assertThat(metrics.value("svcproxy_endpoints", "service", "default/echo", "state", "draining"))
                    .as("/metrics: its endpoint draining").isEqualTo(1);

            // the API, which the stats page draws, should say the same while the connection drains
            assertThat(apiEndpoints())
                    .as("/api/v1/services while /metrics shows svcproxy_connections_active{endpoint=\"%s\"} 1"
                            + " and svcproxy_endpoints{state=\"draining\"} 1", endpoint)
                    .containsExactly("127.0.0.93 draining active=1");
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(apiEndpoints())
                .as("/api/v1/services once the drained connection closed").isEmpty());
    }
}
