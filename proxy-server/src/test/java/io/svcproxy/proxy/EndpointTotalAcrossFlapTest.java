package io.svcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SPEC "Admin HTTP": "{@code total} counts every connection the endpoint was given since svcproxy started": also
 * for an endpoint (a Pod) whose readiness flaps, in the admin API and in {@code svcproxy_connections_total}
 * (helper-90's review: both started over at 0), and its connect failures in {@code svcproxy_connect_failures_total}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EndpointTotalAcrossFlapTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
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

    private String yaml(boolean ready) {
        return """
                proxy: {admin: "127.0.0.1:0", drainTimeout: 1s}
                services:
                  - name: web
                    clusterIP: 127.0.10.91
                    selector: {app: web}
                    ports: [{name: http, port: 49391, targetPort: %d}]
                pods:
                  - {name: web-1, ip: 127.0.0.91, labels: {app: web}, ready: %s}
                """.formatted(backend.address().getPort(), ready);
    }

    private JsonNode endpoints() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + server.adminAddress().getPort() + "/api/v1/services")).build(), HttpResponse.BodyHandlers.ofString());
        return new ObjectMapper().readTree(r.body()).get("services").get(0).get("endpoints");
    }

    private long total() throws Exception {
        return endpoints().get(0).get("total").asLong();
    }

    private long active() throws Exception {
        return endpoints().get(0).get("active").asLong() + endpoints().get(0).get("inactive").asLong();
    }

    @Test
    void anEndpointsTotalCountsSinceStartAcrossAReadinessFlap() throws Exception {
        backend = TestBackend.start(new InetSocketAddress("127.0.0.91", 0), "web-1", Mode.ECHO);
        server = ProxyServer.start(ConfigLoader.parse(yaml(true), "flap.yaml"), Transport.select(), 2);
        for (int i = 0; i < 3; i++) {
            try (Socket s = new Socket()) {
                s.setSoTimeout(3000);
                s.connect(new InetSocketAddress("127.0.10.91", 49391), 2000);
                s.getOutputStream().write("x".getBytes(StandardCharsets.UTF_8));
                assertThat(s.getInputStream().read()).isEqualTo('x');
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> active() == 0); // the three ended: nothing drains
        assertThat(total()).isEqualTo(3);

        server.reload(ConfigLoader.parse(yaml(false), "flap.yaml")); // the Pod is not ready for a moment
        assertThat(endpoints().get(0).get("state").asText()).as("out of the list").isEqualTo("not ready");
        // listed with the counts kept for its return, not zero (stop 43's found-and-left)
        assertThat(total()).as("total of 127.0.0.91 while not ready").isEqualTo(3);
        assertThat(endpoints().get(0).get("bytesToEndpoint").asLong()).isEqualTo(3);
        server.reload(ConfigLoader.parse(yaml(true), "flap.yaml")); // and ready again

        assertThat(total()).as("total of 127.0.0.91 after a readiness flap (SPEC: since svcproxy started)")
                .isEqualTo(3);
        assertThat(server.meterRegistry().scrape()).contains(
                "svcproxy_connections_total{endpoint=\"127.0.0.91:" + backend.address().getPort()
                        + "\",port=\"http\",service=\"default/web\"} 3.0");
    }

    /**
     * {@code svcproxy_connect_failures_total} goes on across a flap as the connections do: the series was taken away
     * with the endpoint and came back at 0 with its next failure (stop 43's found-and-left).
     */
    @Test
    void anEndpointsConnectFailuresCountOnAcrossAReadinessFlap() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.92"))) {
            closed = s.getLocalPort(); // nothing listens there afterwards: every connect is refused
        }
        String config = """
                proxy: {admin: "127.0.0.1:0", drainTimeout: 1s, connectAttempts: 1}
                services:
                  - name: web
                    clusterIP: 127.0.10.92
                    selector: {app: web}
                    ports: [{name: http, port: 49392, targetPort: %d}]
                pods:
                  - {name: web-1, ip: 127.0.0.92, labels: {app: web}, ready: %s}
                """;
        server = ProxyServer.start(ConfigLoader.parse(config.formatted(closed, true), "flap.yaml"), Transport.select(),
                2);
        try (Socket s = new Socket()) {
            s.setSoTimeout(3000);
            s.connect(new InetSocketAddress("127.0.10.92", 49392), 2000);
            assertThat(s.getInputStream().read()).as("refused behind the proxy: reset or closed").isLessThan(1);
        } catch (IOException e) {
            // reset: the connect was refused
        }
        String series = "svcproxy_connect_failures_total{endpoint=\"127.0.0.92:" + closed
                + "\",port=\"http\",reason=\"refused\",service=\"default/web\"} 1.0";
        await().atMost(Duration.ofSeconds(5)).until(() -> server.meterRegistry().scrape().contains(series));

        server.reload(ConfigLoader.parse(config.formatted(closed, false), "flap.yaml")); // not ready for a moment
        assertThat(server.meterRegistry().scrape()).doesNotContain("endpoint=\"127.0.0.92:" + closed);
        server.reload(ConfigLoader.parse(config.formatted(closed, true), "flap.yaml")); // and ready again
        assertThat(server.meterRegistry().scrape()).as("the endpoint's failures since svcproxy started")
                .contains(series);
    }
}
