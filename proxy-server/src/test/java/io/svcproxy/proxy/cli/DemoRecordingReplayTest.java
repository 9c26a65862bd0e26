package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.simulate.SettledTraffic;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16's "done when": traffic recorded through the demo's config (its Service and three HTTP backends, on this
 * test's addresses) with the connection log on, replayed by {@code simulate --schedulers rr,lc,sh,mh --html},
 * gives a report whose per-endpoint numbers are the live proxy's, read from {@code /api/v1/services}: for rr
 * those of the recording itself, for lc, sh and mh those of the same traffic served live by a demo switched to
 * that scheduler.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DemoRecordingReplayTest {
    private static final String CLUSTER_IP = "127.0.10.231";
    private static final int PORT = 18231;
    private static final List<String> BACKEND_IPS = List.of("127.0.0.231", "127.0.0.232", "127.0.0.233");

    @TempDir
    Path dir;
    private final List<TestBackend> backends = new ArrayList<>();

    @AfterEach
    void stop() {
        backends.forEach(TestBackend::close);
    }

    @Test
    void theReportOfARecordedDemoMatchesTheLiveCountsOfEveryScheduler() throws Exception {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < BACKEND_IPS.size(); i++) {
            TestBackend b = TestBackend.start(new InetSocketAddress(BACKEND_IPS.get(i), 0), "demo-" + (i + 1),
                    TestBackend.Mode.HTTP);
            backends.add(b);
            ports.add(b.address().getPort());
        }
        String demo = DemoCommand.yaml(CLUSTER_IP, PORT, BACKEND_IPS, ports, null);
        Path demoYaml = dir.resolve("demo.yaml"); // what `demo --write-config` writes, on these addresses
        Files.writeString(demoYaml, demo);
        Path log = dir.resolve("demo.log");
        List<SettledTraffic.Step> steps = SettledTraffic.steps(16, 180, 15);

        Map<String, Long> recorded = serve(demo, "rr", log, steps);
        assertThat(Files.readAllLines(log)).hasSize(steps.size());

        Path html = dir.resolve("report.html");
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", demoYaml.toString(), "--trace",
                log.toString(), "--schedulers", "rr,lc,sh,mh", "--html", html.toString(), "--json");
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.out());
        assertThat(report.get("service").asText()).isEqualTo("default/demo");
        assertThat(report.get("connections").asLong()).isEqualTo(steps.size());
        assertThat(counts(report, "rr")).isEqualTo(recorded);
        for (String scheduler : List.of("lc", "sh", "mh")) {
            assertThat(counts(report, scheduler)).as(scheduler).isEqualTo(serve(demo, scheduler, null, steps));
        }
        String page = Files.readString(html);
        assertThat(page.split("<svg", -1)).hasSize(5); // one chart per scheduler
        assertThat(page).doesNotContain("src=", "href=", "<script", "@import"); // nothing fetched at view time
        for (String scheduler : List.of("rr", "lc", "sh", "mh")) {
            for (Map.Entry<String, Long> e : counts(report, scheduler).entrySet()) {
                assertThat(page).contains(e.getKey());
            }
        }
    }

    /** Serves {@code steps} with the demo under {@code scheduler} and returns the endpoints' totals from the API. */
    private Map<String, Long> serve(String demo, String scheduler, Path log, List<SettledTraffic.Step> steps)
            throws Exception {
        String yaml = "proxy:\n  admin: 127.0.10.232:0\n" + (log == null ? "" : "  connectionLog: " + log + "\n")
                + demo.replace("scheduler: rr", "scheduler: " + scheduler);
        List<String> clients = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            clients.add("127.0.10." + (235 + i));
        }
        try (ProxyServer server = ProxyServer.start(ConfigLoader.parse(yaml, "demo.yaml"), Transport.select(), 2)) {
            ServicePort port = server.table().servicePorts().get(0);
            int[] n = {0};
            SettledTraffic.drive(port, new InetSocketAddress(CLUSTER_IP, PORT), steps, clients, 4, s -> {
                for (int i = 0; i <= n[0] % 3; i++) { // 1 to 3 keep-alive requests, as curl or a browser
                    assertThat(get(s)).startsWith("demo-");
                }
                n[0]++;
            });
            InetSocketAddress admin = server.adminAddress();
            HttpResponse<String> api = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.10.232:" + admin.getPort() + "/api/v1/services")).build(),
                    HttpResponse.BodyHandlers.ofString());
            Map<String, Long> totals = new TreeMap<>();
            for (JsonNode e : new ObjectMapper().readTree(api.body()).get("services").get(0).get("endpoints")) {
                totals.put(e.get("ip").asText() + ":" + e.get("port").asText(), e.get("total").asLong());
            }
            return totals;
        }
    }

    private static Map<String, Long> counts(JsonNode report, String scheduler) {
        Map<String, Long> out = new TreeMap<>();
        for (JsonNode e : report.get("schedulers").get(scheduler).get("endpoints")) {
            out.put(e.get("endpoint").asText(), e.get("connections").asLong());
        }
        return out;
    }

    /** Sends one HTTP/1.1 request on {@code s} and returns the body (the backend's name). */
    private static String get(Socket s) throws IOException {
        s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + CLUSTER_IP + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        return io.svcproxy.proxy.testing.RawHttp.read(s.getInputStream()).body();
    }
}
