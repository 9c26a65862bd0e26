package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.simulate.SettledTraffic;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /api/v1/simulate}, the "what if" card's numbers: the Service port's recorded connections replayed
 * in memory give exactly what {@code svcproxy simulate --json} prints for the connection log of the same traffic;
 * bad queries are answered with what is wrong.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WhatIfApiTest {
    private static final String CLUSTER_IP = "127.0.10.241";
    private static final int PORT = 18241;

    @TempDir
    Path dir;
    private final List<TestBackend> backends = new ArrayList<>();
    private ProxyServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        backends.forEach(TestBackend::close);
    }

    private String yaml(Path log) throws Exception {
        StringBuilder b = new StringBuilder("proxy:\n  admin: 127.0.10.240:0\n");
        if (log != null) {
            b.append("  connectionLog: ").append(log).append('\n');
        }
        b.append("services:\n  - name: web\n    namespace: shop\n    clusterIP: ").append(CLUSTER_IP)
                .append("\n    scheduler: wrr\n    ports:\n      - {name: http, port: ").append(PORT)
                .append("}\n      - {name: other, port: ").append(PORT + 1).append("}\n    endpoints:\n");
        for (int i = 0; i < backends.size(); i++) {
            InetSocketAddress a = backends.get(i).address();
            b.append("      - {ip: ").append(a.getAddress().getHostAddress()).append(", ports: {http: ")
                    .append(a.getPort()).append(", other: ").append(a.getPort()).append("}, weight: ")
                    .append(i + 1).append("}\n");
        }
        return b.toString();
    }

    private HttpResponse<String> get(String pathAndQuery) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.10.240:"
                + server.adminAddress().getPort() + pathAndQuery)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void givesTheCommandsNumbersForTheSameRecording() throws Exception {
        for (int i = 0; i < 3; i++) {
            backends.add(TestBackend.start(new InetSocketAddress("127.0.0.24" + i, 0), "b" + i,
                    TestBackend.Mode.ECHO));
        }
        Path log = dir.resolve("c.log");
        server = ProxyServer.start(ConfigLoader.parse(yaml(log), "c.yaml"), Transport.select(), 2);
        ServicePort port = server.table().servicePorts().stream().filter(p -> p.portLabel().equals("http"))
                .findFirst().orElseThrow();
        List<String> clients = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            clients.add("127.0.10." + (242 + i));
        }
        SettledTraffic.drive(port, new InetSocketAddress(CLUSTER_IP, PORT), SettledTraffic.steps(3, 120, 8),
                clients, 5, s -> {
                    s.getOutputStream().write(1);
                    assertThat(s.getInputStream().read()).isEqualTo(1);
                });
        HttpResponse<String> api = get("/api/v1/simulate?service=shop/web&port=http&schedulers=rr,wrr,lc,sh,mh");
        assertThat(api.statusCode()).isEqualTo(200);
        assertThat(api.headers().firstValue("content-type")).hasValue("application/json");

        Path config = dir.resolve("c.yaml");
        Files.writeString(config, yaml(null));
        server.close(); // the log is complete once closed
        server = null;
        CommandLineTest.Result command = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                log.toString(), "--service", "shop/web:http", "--schedulers", "rr,wrr,lc,sh,mh", "--json");
        assertThat(command.err()).isEmpty();
        assertThat(api.body()).isEqualTo(command.out().strip());
        assertThat(api.body()).contains("\"connections\": 120");
    }

    @Test
    void answersBadQueriesWithWhatIsWrong() throws Exception {
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.240", 0), "b0", TestBackend.Mode.ECHO));
        server = ProxyServer.start(ConfigLoader.parse(yaml(null), "c.yaml"), Transport.select(), 2);
        assertThat(get("/api/v1/simulate").statusCode()).isEqualTo(400);
        HttpResponse<String> unknown = get("/api/v1/simulate?service=shop/nope");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).contains("no Service port shop/nope", "shop/web:http", "shop/web:other");
        HttpResponse<String> two = get("/api/v1/simulate?service=shop/web");
        assertThat(two.statusCode()).isEqualTo(400);
        assertThat(two.body()).contains("has 2 ports");
        HttpResponse<String> scheduler = get("/api/v1/simulate?service=shop/web&port=" + PORT + "&schedulers=xx");
        assertThat(scheduler.statusCode()).isEqualTo(400);
        assertThat(scheduler.body()).startsWith("schedulers: unknown scheduler: xx (expected: rr");
        HttpResponse<String> empty = get("/api/v1/simulate?service=shop/web&port=other&schedulers=rr");
        assertThat(empty.statusCode()).isEqualTo(200);
        assertThat(empty.body()).contains("\"connections\": 0");
        assertThat(get("/api/v1/simulate?service=shop/web&port=http&seed=x").statusCode()).isEqualTo(400);
    }
}
