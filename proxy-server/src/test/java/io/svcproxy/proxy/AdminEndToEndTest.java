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
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The admin API and the metrics of a proxy carrying real traffic. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminEndToEndTest {
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    final List<TestBackend> backends = new ArrayList<>();
    ProxyServer server;

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close();
        }
        backends.forEach(TestBackend::close);
    }

    String get(String path) throws Exception {
        InetSocketAddress admin = server.adminAddress();
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + admin.getPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(path).isEqualTo(200);
        return response.body();
    }

    static double metric(String text, String name, String labels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$").matcher(text);
        while (m.find()) {
            boolean all = true;
            for (String label : labels.split(",")) {
                all &= m.group(1).contains(label);
            }
            if (all) {
                return Double.parseDouble(m.group(2));
            }
        }
        throw new AssertionError("no " + name + "{" + labels + "} in\n" + text);
    }

    static Socket open(String ip, int port) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(5000);
        s.connect(new InetSocketAddress(ip, port), 2000);
        return s;
    }

    static void echo(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        assertThat(new String(s.getInputStream().readNBytes(text.length()), StandardCharsets.UTF_8))
                .isEqualTo(text);
    }

    @Test
    void servicesAndMetricsShowTheLiveCounts() throws Exception {
        TestBackend a = TestBackend.start(new InetSocketAddress("127.0.0.11", 0), "a", Mode.ECHO);
        TestBackend b = TestBackend.start(new InetSocketAddress("127.0.0.12", 0), "b", Mode.ECHO);
        backends.add(a);
        backends.add(b);
        String yaml = """
                proxy: {admin: "127.0.0.1:0"}
                services:
                  - name: web
                    namespace: shop
                    clusterIP: 127.0.10.6
                    ports: [{name: http, port: 18100}]
                    endpoints: [{ip: 127.0.0.11, port: %d}, {ip: 127.0.0.12, port: %d, weight: 2}]
                  - name: empty
                    clusterIP: 127.0.10.6
                    selector: {app: none}
                    ports: [{port: 18101}]
                """.formatted(a.address().getPort(), b.address().getPort());
        server = ProxyServer.start(ConfigLoader.parse(yaml, "admin.yaml"), Transport.select(), 2);
        assertThat(get("/healthz").trim()).isEqualTo("ok");
        assertThat(get("/readyz").trim()).isEqualTo("ok");

        Socket held1 = open("127.0.10.6", 18100); // rr: a
        echo(held1, "hello");
        Socket held2 = open("127.0.10.6", 18100); // rr: b
        echo(held2, "world!");
        for (int i = 0; i < 4; i++) { // a, b, a, b
            try (Socket s = open("127.0.10.6", 18100)) {
                echo(s, "x");
            }
        }
        try (Socket s = open("127.0.10.6", 18101)) {
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        String endpointA = "127.0.0.11:" + a.address().getPort();
        await().atMost(Duration.ofSeconds(5)).until(() -> server.table().servicePorts().stream()
                .flatMap(p -> p.backendSet().backends().stream())
                .mapToInt(be -> be.activeConnections() + be.inactiveConnections()).sum() == 2);

        JsonNode services = new ObjectMapper().readTree(get("/api/v1/services"));
        assertThat(services.get("version").asLong()).isEqualTo(1);
        JsonNode web = null;
        for (JsonNode s : services.get("services")) {
            if (s.get("name").asText().equals("web")) {
                web = s;
            }
        }
        assertThat(web).isNotNull();
        assertThat(web.get("namespace").asText()).isEqualTo("shop");
        assertThat(web.get("clusterIP").asText()).isEqualTo("127.0.10.6");
        assertThat(web.get("port").asInt()).isEqualTo(18100);
        assertThat(web.get("portName").asText()).isEqualTo("http");
        assertThat(web.get("protocol").asText()).isEqualTo("TCP");
        assertThat(web.get("scheduler").asText()).isEqualTo("rr");
        assertThat(web.get("sessionAffinity").asText()).isEqualTo("None");
        JsonNode eps = web.get("endpoints");
        assertThat(eps).hasSize(2);
        assertThat(eps.get(0).get("ip").asText()).isEqualTo("127.0.0.11");
        assertThat(eps.get(0).get("state").asText()).isEqualTo("ready");
        assertThat(eps.get(0).get("active").asInt()).isEqualTo(1);
        assertThat(eps.get(0).get("inactive").asInt()).isZero();
        assertThat(eps.get(0).get("total").asInt()).isEqualTo(3);
        assertThat(eps.get(1).get("weight").asInt()).isEqualTo(2);
        assertThat(eps.get(1).get("active").asInt()).isEqualTo(1);
        assertThat(eps.get(1).get("total").asInt()).isEqualTo(3);

        String metrics = get("/metrics");
        String web1 = "service=\"shop/web\",port=\"http\"";
        assertThat(metric(metrics, "svcproxy_connections_total", "endpoint=\"" + endpointA + "\"," + "service=\"shop/web\""))
                .isEqualTo(3);
        assertThat(metric(metrics, "svcproxy_connections_active", "endpoint=\"" + endpointA + "\"")).isEqualTo(1);
        assertThat(metric(metrics, "svcproxy_no_endpoint_total", "service=\"default/empty\",port=\"18101\""))
                .isEqualTo(1);
        assertThat(metric(metrics, "svcproxy_bytes_total", "direction=\"to_endpoint\",port=\"http\""))
                .isEqualTo(5 + 6 + 4);
        await().atMost(Duration.ofSeconds(5)).until(() -> metric(get("/metrics"), "svcproxy_bytes_total",
                "direction=\"to_client\",port=\"http\"") == 15);
        assertThat(metric(metrics, "svcproxy_endpoints", "state=\"ready\",service=\"shop/web\"")).isEqualTo(2);
        assertThat(metric(metrics, "svcproxy_connect_duration_seconds_count", web1.split(",")[0])).isEqualTo(6);
        assertThat(metric(metrics, "svcproxy_config_reloads_total", "result=\"applied\"")).isZero();
        assertThat(metrics).contains("jvm_memory_used_bytes").contains("process_cpu_usage");
        held1.close();
        held2.close();
    }

    @Test
    void aPodThatIsNotReadyIsListedAndCountedAsNotReadyAndNeverPicked() throws Exception {
        TestBackend a = TestBackend.start(new InetSocketAddress("127.0.0.11", 0), "a", Mode.NAME);
        TestBackend b = TestBackend.start(new InetSocketAddress("127.0.0.12", a.address().getPort()), "b",
                Mode.NAME);
        backends.add(a);
        backends.add(b);
        String yaml = """
                proxy: {admin: "127.0.0.1:0"}
                services:
                  - name: web
                    clusterIP: 127.0.10.6
                    selector: {app: web}
                    ports: [{port: 18102, targetPort: %d}]
                pods:
                  - {name: web-1, ip: 127.0.0.11, labels: {app: web}}
                  - {name: web-2, ip: 127.0.0.12, labels: {app: web}, ready: false}
                """.formatted(a.address().getPort());
        server = ProxyServer.start(ConfigLoader.parse(yaml, "not-ready.yaml"), Transport.select(), 2);
        for (int i = 0; i < 4; i++) {
            try (Socket s = open("127.0.10.6", 18102)) {
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip()).isEqualTo("a");
            }
        }
        JsonNode eps = new ObjectMapper().readTree(get("/api/v1/services")).get("services").get(0).get("endpoints");
        assertThat(eps).hasSize(2);
        assertThat(eps.get(0).get("ip").asText()).isEqualTo("127.0.0.11");
        assertThat(eps.get(0).get("state").asText()).isEqualTo("ready");
        assertThat(eps.get(1).get("ip").asText()).isEqualTo("127.0.0.12");
        assertThat(eps.get(1).get("state").asText()).isEqualTo("not ready");
        String metrics = get("/metrics");
        assertThat(metric(metrics, "svcproxy_endpoints", "state=\"ready\",service=\"default/web\"")).isEqualTo(1);
        assertThat(metric(metrics, "svcproxy_endpoints", "state=\"not_ready\",service=\"default/web\""))
                .isEqualTo(1);
    }
}
