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
 * From helper-121's review of the admin API against the metrics: a Service removed by a reload while one of its
 * connections drains. {@code /metrics} kept the port's series for the drain ({@code svcproxy_connections_active 1},
 * {@code svcproxy_endpoints{state="draining"} 1}, bytes still counted), but {@code /api/v1/services} (and so the stats
 * page) dropped the port at once: the connection still relayed, and SPEC's {@code "state": "draining"}, were nowhere in
 * the API. The API now lists the removed port, every endpoint with connections draining, until the sweep lets it go.
 * Loopback: endpoint 127.0.0.113, ClusterIP 127.0.10.143:49443.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RemovedWhileDrainingTest {
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
                    clusterIP: 127.0.10.143
                    ports: [{port: 49443}]
                    endpoints: [{ip: 127.0.0.113, port: %d}]
                """.formatted(backend.address().getPort());
        return "proxy: {admin: off, drainTimeout: 30s}\nservices: " + service;
    }

    private static Socket exchange() throws Exception {
        Socket s = new Socket();
        s.setSoTimeout(3000);
        s.connect(new InetSocketAddress("127.0.10.143", 49443), 2000);
        s.getOutputStream().write("x".getBytes(StandardCharsets.UTF_8));
        assertThat(s.getInputStream().read()).isEqualTo('x');
        return s;
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

    @Test
    void aRemovedServiceWhoseConnectionDrainsIsInTheMetricsAndTheApiAlike() throws Exception {
        backend = TestBackend.start(new InetSocketAddress("127.0.0.113", 0), "echo", Mode.ECHO);
        server = ProxyServer.start(ConfigLoader.parse(yaml(true), "h121.yaml"), Transport.select(), 2);
        String endpoint = "127.0.0.113:" + backend.address().getPort();
        try (Socket held = exchange()) {
            server.reload(ConfigLoader.parse(yaml(false), "h121.yaml")); // removed: the held connection drains

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
                    .containsExactly("127.0.0.113 draining active=1");
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(apiEndpoints())
                .as("/api/v1/services once the drained connection closed").isEmpty());
    }
}
