package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.metrics.PrometheusText;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Ingress of a running svcproxy, started from a YAML config on loopback (Ingress 127.0.10.150, ClusterIPs
 * 127.0.10.151-154, endpoints 127.0.0.151-155): routing by host and path to the Services' own endpoint sets, the
 * proxy's own status codes, reload of the rules under load, the metrics and {@code /api/v1/ingresses}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IngressEndToEndTest {
    private static final String SHOP = "shop.example";

    @TempDir
    Path dir;

    private final List<TestBackend> backends = new ArrayList<>();
    private final Map<String, String> names = new HashMap<>(); // ip:port -> backend name
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private ProxyServer proxy;
    private Path config;
    private int deadPort;
    private com.sun.net.httpserver.HttpServer slow;
    private final AtomicInteger slowRequests = new AtomicInteger();
    private final List<String> slowTargets = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        for (int i = 1; i <= 3; i++) {
            backend("127.0.0.15" + i, "api-" + i);
        }
        backend("127.0.0.154", "web-1");
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.155"))) {
            deadPort = s.getLocalPort(); // closed again: connects are refused
        }
        config = dir.resolve("svcproxy.yaml");
        // an endpoint that answers one second after the request
        slow = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress("127.0.0.158", 0), 10);
        slow.createContext("/", exchange -> {
            slowRequests.incrementAndGet();
            slowTargets.add(exchange.getRequestURI().toString());
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = "slow-1\n".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        slow.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        slow.start();
    }

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.forEach(TestBackend::close);
        slow.stop(0);
    }

    private void backend(String ip, String name) throws Exception {
        TestBackend b = TestBackend.start(new InetSocketAddress(ip, 0), name, Mode.HTTP);
        backends.add(b);
        names.put(ip + ":" + b.address().getPort(), name);
    }

    private int port(String name) {
        return backends.stream().filter(b -> b.name().equals(name)).findFirst().orElseThrow().address().getPort();
    }

    /** The config: Services api (3 endpoints), web, empty (no endpoint), dead (refuses); Ingress shop. */
    private String yaml(String extraPaths, String apiEndpoints, String extraIngresses) {
        return """
                proxy:
                  admin: "127.0.0.1:0"
                  connectTimeout: 1s
                  ingress: {http: "127.0.10.150:0", responseTimeout: 5s}
                services:
                  - name: api
                    clusterIP: 127.0.10.151
                    scheduler: rr
                    ports: [{name: http, port: 18151}]
                    endpoints: [%s]
                  - name: web
                    clusterIP: 127.0.10.152
                    ports: [{port: 18152}]
                    endpoints: [{ip: 127.0.0.154, port: %d}]
                  - name: empty
                    clusterIP: 127.0.10.153
                    selector: {app: none}
                    ports: [{port: 18153}]
                  - name: dead
                    clusterIP: 127.0.10.154
                    ports: [{port: 18154}]
                    endpoints: [{ip: 127.0.0.155, port: %d}]
                  - name: slow
                    clusterIP: 127.0.10.155
                    ports: [{port: 18155}]
                    endpoints: [{ip: 127.0.0.158, port: %d}]
                ingresses:
                  - name: shop
                    rules:
                      - host: shop.example
                        http:
                          paths:
                            - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
                            - {path: /login, pathType: Exact, backend: {service: {name: web, port: {number: 18152}}}}
                            - {path: /empty, pathType: Prefix, backend: {service: {name: empty, port: {number: 18153}}}}
                            - {path: /dead, pathType: Prefix, backend: {service: {name: dead, port: {number: 18154}}}}
                            - {path: /slow, pathType: Prefix, backend: {service: {name: slow, port: {number: 18155}}}}
                %s%s""".formatted(apiEndpoints, port("web-1"), deadPort, slow.getAddress().getPort(), extraPaths,
                extraIngresses);
    }

    private String allApiEndpoints() {
        return "{ip: 127.0.0.151, port: %d}, {ip: 127.0.0.152, port: %d}, {ip: 127.0.0.153, port: %d}"
                .formatted(port("api-1"), port("api-2"), port("api-3"));
    }

    private void start(String yaml) throws Exception {
        Files.writeString(config, yaml);
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
    }

    private InetSocketAddress ingress() {
        return proxy.ingress().httpAddress();
    }

    @Test
    void curlWithTheHostHeaderReachesTheApiEndpointsInRrOrderSharedWithTheClusterIp() throws Exception {
        start(yaml("", allApiEndpoints(), ""));
        List<String> order = new ArrayList<>();
        for (BackendState b : proxy.table().portsOf("default/api").get(0).backendSet().backends()) {
            order.add(names.get(b.address().getHostAddress() + ":" + b.port()));
        }
        assertThat(order).containsExactlyInAnyOrder("api-1", "api-2", "api-3");
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            seen.add(i % 2 == 0 ? curl(SHOP, "/api/x") : viaClusterIp());
        }
        // one rr cycle across both listeners: the Ingress and the ClusterIP take turns on the same position
        int start = order.indexOf(seen.get(0));
        for (int i = 0; i < seen.size(); i++) {
            assertThat(seen.get(i)).as("pick %d of %s", i, seen).isEqualTo(order.get((start + i) % 3));
        }
        assertThat(curl(SHOP, "/login")).isEqualTo("web-1");
    }

    @Test
    void answersItsOwnCodesAndKeepsTheConnectionOpen() throws Exception {
        start(yaml("", allApiEndpoints(), ""));
        try (HttpClientConnection c = new HttpClientConnection(ingress())) {
            assertThat(c.get("other.example", "/api/x").status()).isEqualTo(404);
            assertThat(c.get(SHOP, "/").status()).isEqualTo(404);
            assertThat(c.get(SHOP, "/login/x").status()).isEqualTo(404); // Exact
            assertThat(c.get(SHOP, "/empty").status()).isEqualTo(503);
            assertThat(c.get(SHOP, "/dead/x").status()).isEqualTo(502);
            HttpClientConnection.Response ok = c.get(SHOP + ":8080", "/api/y");
            assertThat(ok.status()).isEqualTo(200);
            assertThat(ok.body()).startsWith("api-");
        }
    }

    @Test
    void routesByTheNormalisedPathAsIngressNginxDoesAndForwardsTheTargetAsReceived() throws Exception {
        start(yaml("", allApiEndpoints(), ""));
        try (HttpClientConnection c = new HttpClientConnection(ingress())) {
            assertThat(c.get(SHOP, "/login/../api/x").body()).startsWith("api-"); // as sent: no rule, 404
            assertThat(c.get(SHOP, "/api/%2e%2e/login").body().trim()).isEqualTo("web-1"); // as sent: the api rule
            assertThat(c.get(SHOP, "//api//x").body()).startsWith("api-");
            assertThat(c.get(SHOP, "/api/../slow/x?q=/..").body().trim()).isEqualTo("slow-1");
        }
        assertThat(slowTargets).containsExactly("/api/../slow/x?q=/..");
        for (String invalid : List.of("/../api", "/api/%zz", "/api/%00")) {
            try (HttpClientConnection c = new HttpClientConnection(ingress())) {
                assertThat(c.get(SHOP, invalid).status()).as(invalid).isEqualTo(400);
            }
        }
        Process p = new ProcessBuilder("curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "--path-as-is",
                "-H", "Host: " + SHOP, "-w", " %{http_version}",
                "http://127.0.10.150:" + ingress().getPort() + "/api/%2e%2e/login").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor()).as("curl: %s", out).isZero();
        assertThat(out.replaceAll("\\s+", " ")).as("answered by web over HTTP/2").isEqualTo("web-1 2");
    }

    @Test
    void anEndpointThatNeverAnswersItsConnectIsA502AfterProxyConnectTimeout() throws Exception {
        // an endpoint whose accept queue (backlog 1) is full: the kernel drops further SYNs, connects hang
        try (ServerSocket full = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.159"));
             java.net.Socket filler1 = new java.net.Socket(); java.net.Socket filler2 = new java.net.Socket()) {
            filler1.connect(full.getLocalSocketAddress(), 1000);
            filler2.connect(full.getLocalSocketAddress(), 1000);
            String hang = "  - name: hang\n    clusterIP: 127.0.10.156\n    ports: [{port: 18156}]\n"
                    + "    endpoints: [{ip: 127.0.0.159, port: " + full.getLocalPort() + "}]\n";
            start(yaml("            - {path: /hang, pathType: Prefix, backend: {service: {name: hang, port: "
                    + "{number: 18156}}}}\n", allApiEndpoints(), "").replace("ingresses:\n", hang + "ingresses:\n"));
            try (HttpClientConnection c = new HttpClientConnection(ingress())) {
                long start = System.nanoTime();
                assertThat(c.get(SHOP, "/hang").status()).as("connects failed: 502, not the 5-s response timeout's 504")
                        .isEqualTo(502);
                // proxy.connectTimeout is 1 s per attempt, one attempt per distinct endpoint: one here
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(900),
                        Duration.ofMillis(4900));
            }
        }
    }

    @Test
    void anHttp10KeepAliveClientKeepsItsConnectionAcrossTheProxysOwnAnswers() throws Exception {
        start(yaml("", allApiEndpoints(), ""));
        try (Socket s = new Socket()) {
            s.connect(ingress(), 2000);
            s.setSoTimeout(5000);
            for (String[] ask : new String[][] {{"/", "404"}, {"/empty", "503"}, {"/api/x", "200"}, {"/", "404"}}) {
                s.getOutputStream().write(("GET " + ask[0] + " HTTP/1.0\r\nHost: " + SHOP
                        + "\r\nConnection: keep-alive\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                String head = io.svcproxy.proxy.testing.RawHttp.read(s.getInputStream()).head();
                assertThat(head).as(ask[0]).startsWith("HTTP/1.1 " + ask[1]).containsIgnoringCase(
                        "connection: keep-alive"); // else an HTTP/1.0 client waits for the close (RFC 9112 C.2.2)
            }
        }
    }


    @Test
    void aBackendServiceTheFileDoesNotDefineIsRefusedAtItsLine() throws Exception {
        Files.writeString(config, yaml("            - {path: /x, pathType: Prefix, backend: {service: {name: gone, port: "
                + "{number: 80}}}}\n", allApiEndpoints(), ""));
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> ConfigLoader.load(config)))
                .hasMessageContaining(config + ":38:")
                .hasMessageContaining("name: gone (expected: a Service of namespace default defined in this file");
    }

    @Test
    void reloadsRulesUnderLoadWithoutAFailedRequest() throws Exception {
        start(yaml("", allApiEndpoints(), ""));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = new CopyOnWriteArrayList<>();
        List<Thread> clients = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            Thread client = new Thread(() -> {
                try (HttpClientConnection c = new HttpClientConnection(ingress())) {
                    for (int i = 0; i < 20_000 && !stop.get(); i++) {
                        HttpClientConnection.Response r = c.get(SHOP, "/api/load?i=" + i);
                        if (r.status() != 200 || !r.body().startsWith("api-")) {
                            failures.add(r.status() + " " + r.body());
                        } else {
                            ok.incrementAndGet();
                        }
                    }
                } catch (IOException e) {
                    failures.add(e.toString());
                }
            }, "load-" + t);
            client.start();
            clients.add(client);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> ok.get() > 200);

        // 1. a new rule
        Files.writeString(config, yaml("            - {path: /new, pathType: Prefix, backend: {service: {name: web, "
                + "port: {number: 18152}}}}\n", allApiEndpoints(), ""));
        assertThat(proxy.reloadFromFile()).isTrue();
        assertThat(curl(SHOP, "/new/page")).isEqualTo("web-1");
        int before = ok.get();
        await().atMost(Duration.ofSeconds(20)).until(() -> ok.get() > before + 200);

        // 2. a rejected change: the last good table keeps serving
        Files.writeString(config, yaml("            - {path: /bad, pathType: Bogus, backend: {service: {name: web, "
                + "port: {number: 18152}}}}\n", allApiEndpoints(), ""));
        assertThat(proxy.reloadFromFile()).isFalse();
        assertThat(curl(SHOP, "/new/page")).isEqualTo("web-1");

        // 3. an endpoint less, and a second Ingress with a default backend
        Files.writeString(config, yaml("", "{ip: 127.0.0.151, port: %d}, {ip: 127.0.0.152, port: %d}"
                .formatted(port("api-1"), port("api-2")), """
                  - name: fallback
                    defaultBackend: {service: {name: web, port: {number: 18152}}}
                """));
        assertThat(proxy.reloadFromFile()).isTrue();
        assertThat(curl("unknown.example", "/anything")).isEqualTo("web-1");
        // the rule is gone: shop.example's host has rules, none matches, so the default backend answers
        assertThat(proxy.ingress().table().match(SHOP, "/new/page").isDefaultBackend()).isTrue();
        assertThat(curl(SHOP, "/new/page")).isEqualTo("web-1");
        int before3 = ok.get();
        await().atMost(Duration.ofSeconds(20)).until(() -> ok.get() > before3 + 200);

        stop.set(true);
        for (Thread client : clients) {
            client.join(30_000);
        }
        assertThat(failures).isEmpty();
        assertThat(ok.get()).isGreaterThan(600);
    }

    /**
     * A reload that moves the listener binds the new address and drains the old one's connections as a shutdown
     * does (nginx's and HAProxy's reloads do the same): a kept-alive connection between requests is closed, nothing
     * in progress is cut.
     */
    @Test
    void aReloadMovesTheListenerAndDrainsItsEstablishedConnections() throws Exception {
        start(yaml("", allApiEndpoints(), ""));
        InetSocketAddress before = ingress();
        int free;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.10.150"))) {
            free = s.getLocalPort();
        }
        try (HttpClientConnection kept = new HttpClientConnection(before)) {
            assertThat(kept.get(SHOP, "/api/1").status()).isEqualTo(200);
            Files.writeString(config, yaml("", allApiEndpoints(), "").replace("127.0.10.150:0", "127.0.10.150:" + free));
            assertThat(proxy.reloadFromFile()).isTrue();
            assertThat(ingress().getPort()).isEqualTo(free);
            assertThat(curl(SHOP, "/login")).isEqualTo("web-1"); // on the new port
            assertThat(kept.closedByPeer()).as("the old listener's idle connection is closed").isTrue();
        }
        try (java.net.Socket refused = new java.net.Socket()) {
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> refused.connect(before, 2000)))
                    .isInstanceOf(java.net.ConnectException.class);
        }
    }

    @Test
    void aReloadOfTheTimeoutsKeepsTheListenerAndAppliesToTheConnectionsItAcceptsThen() throws Exception {
        start(yaml("", allApiEndpoints(), ""));
        InetSocketAddress before = ingress();
        try (HttpClientConnection kept = new HttpClientConnection(before)) {
            assertThat(kept.get(SHOP, "/api/1").status()).isEqualTo(200);
            Files.writeString(config, yaml("", allApiEndpoints(), "").replace("responseTimeout: 5s",
                    "responseTimeout: 500ms"));
            assertThat(proxy.reloadFromFile()).isTrue();
            assertThat(ingress()).as("the same listener, not closed and bound again").isEqualTo(before);
            try (HttpClientConnection fresh = new HttpClientConnection(before)) {
                assertThat(fresh.get(SHOP, "/slow").status()).as("the endpoint answers after 1 s").isEqualTo(504);
            }
            // accepted under the old settings: keeps its 5-s response timeout
            assertThat(kept.get(SHOP, "/slow").status()).isEqualTo(200);
        }
        assertThat(proxy.ingress().httpOptions().responseTimeout()).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void aReloadToAnAddressInUseNamesItAndMakesTheProxyNotReady() throws Exception {
        start(yaml("", allApiEndpoints(), ""));
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.10.150"))) {
            Files.writeString(config, yaml("", allApiEndpoints(), "")
                    .replace("127.0.10.150:0", "127.0.10.150:" + taken.getLocalPort()));
            assertThat(proxy.reloadFromFile()).isTrue();
            assertThat(proxy.table().isReady()).as("a listener of the config in force is not bound").isFalse();
            assertThat(ingress()).isNull();
        }
        // the sync runner binds it once the address is free
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> ingress() != null && proxy.table().isReady());
    }

    @Test
    void countsRequestsInTheMetricsAndTheAdminApi() throws Exception {
        // api-3 quiesced (weight 0): listed, but not counted among the endpoints that take requests
        start(yaml("", allApiEndpoints().replace(port("api-3") + "}", port("api-3") + ", weight: 0}"), ""));
        try (HttpClientConnection c = new HttpClientConnection(ingress())) {
            for (int i = 0; i < 5; i++) {
                assertThat(c.get(SHOP, "/api/m").status()).isEqualTo(200);
            }
            assertThat(c.get(SHOP, "/empty").status()).isEqualTo(503);
            assertThat(c.get("nowhere.example", "/").status()).isEqualTo(404);
        }
        try (Socket raw = new Socket(ingress().getAddress(), ingress().getPort())) {
            // no Host field: refused before any rule, counted under a 404's labels
            raw.getOutputStream().write("GET /x HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String status = new String(raw.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(status).isEqualTo("HTTP/1.1 400");
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            PrometheusText metrics = PrometheusText.parse(admin("/metrics"));
            assertThat(metrics.value("svcproxy_http_requests_total", "ingress", "default/shop", "host", SHOP,
                    "path", "/api", "service", "default/api", "code", "200")).isEqualTo(5);
            assertThat(metrics.value("svcproxy_http_requests_total", "ingress", "default/shop", "host", SHOP,
                    "path", "/empty", "service", "default/empty", "code", "503")).isEqualTo(1);
            assertThat(metrics.value("svcproxy_http_requests_total", "ingress", "", "host", "", "path", "",
                    "service", "", "code", "404")).isEqualTo(1);
            assertThat(metrics.value("svcproxy_http_requests_total", "ingress", "", "host", "", "path", "",
                    "service", "", "code", "400")).isEqualTo(1);
            assertThat(metrics.value("svcproxy_http_request_duration_seconds_count", "ingress", "default/shop",
                    "service", "default/api")).isEqualTo(5);
        });
        JsonNode json = new ObjectMapper().readTree(admin("/api/v1/ingresses"));
        assertThat(json.get("listeners").get("http").asText()).isEqualTo("127.0.10.150:" + ingress().getPort());
        JsonNode shop = json.get("ingresses").get(0);
        assertThat(shop.get("name").asText()).isEqualTo("shop");
        JsonNode api = shop.get("rules").get(0);
        assertThat(api.get("path").asText()).isEqualTo("/api");
        assertThat(api.get("service").asText()).isEqualTo("default/api");
        assertThat(api.get("port").asText()).isEqualTo("http");
        assertThat(api.get("endpoints").asInt()).isEqualTo(2);
        assertThat(api.get("hits").asLong()).isEqualTo(5);
        assertThat(api.get("codes").get("200").asLong()).isEqualTo(5);
        JsonNode empty = shop.get("rules").get(2);
        assertThat(empty.get("endpoints").asInt()).isZero();
        assertThat(empty.get("codes").get("503").asLong()).isEqualTo(1);
        // no rule took them: the 404, and the 400 refused before any rule
        assertThat(json.get("notFound").get("hits").asLong()).isEqualTo(2);
        assertThat(json.get("notFound").get("codes").get("404").asLong()).isEqualTo(1);
        assertThat(json.get("notFound").get("codes").get("400").asLong()).isEqualTo(1);
    }

    @Test
    void requestsReportTheirConnectsToTheServicePortAsItsClusterIpDoes() throws Exception {
        // api: one live endpoint and one that refuses; rr sends every other request to it, tried again on the live
        // one: its failures are counted and, at outlierDetection's 5 in a row, it is ejected, as for the ClusterIP
        String dead = "127.0.0.155:" + deadPort;
        start(yaml("", "{ip: 127.0.0.151, port: %d}, {ip: 127.0.0.155, port: %d}".formatted(port("api-1"), deadPort),
                ""));
        ServicePort api = proxy.table().portsOf("default/api").get(0);
        try (HttpClientConnection c = new HttpClientConnection(ingress())) {
            for (int i = 0; i < 10; i++) {
                assertThat(c.get(SHOP, "/api/" + i).status()).isEqualTo(200);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> api.backendSet().backends().get(1).state()
                    == BackendState.State.EJECTED);
            for (int i = 0; i < 4; i++) {
                assertThat(c.get(SHOP, "/api/" + i).status()).isEqualTo(200);
            }
            assertThat(c.get(SHOP, "/empty").status()).isEqualTo(503);
        }
        BackendState ejected = api.backendSet().backends().get(1);
        assertThat(ejected.counters().connectFailures()).as("none tried after the ejection").isEqualTo(5);
        assertThat(ejected.counters().health().ejections()).isEqualTo(1);
        PrometheusText metrics = PrometheusText.parse(admin("/metrics"));
        assertThat(metrics.value("svcproxy_connect_failures_total", "service", "default/api", "endpoint", dead,
                "reason", "refused")).isEqualTo(5);
        assertThat(metrics.value("svcproxy_ejections_total", "service", "default/api", "endpoint", dead))
                .isEqualTo(1);
        assertThat(metrics.value("svcproxy_connect_duration_seconds_count", "service", "default/api"))
                .isGreaterThanOrEqualTo(1);
        assertThat(metrics.value("svcproxy_no_endpoint_total", "service", "default/empty")).isEqualTo(1);
        assertThat(metrics.value("svcproxy_no_endpoint_total", "service", "default/api")).isZero();
    }

    @Test
    void shutdownLetsARequestInFlightFinishWithinTheDrainTimeout() throws Exception {
        start(yaml("", allApiEndpoints(), ""));
        java.util.concurrent.CompletableFuture<String> response = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> {
                    try {
                        return curl(SHOP, "/slow");
                    } catch (Exception e) {
                        return e.toString();
                    }
                });
        await().atMost(Duration.ofSeconds(10)).until(() -> slowRequests.get() == 1);
        try (HttpClientConnection idle = new HttpClientConnection(ingress())) {
            assertThat(idle.get(SHOP, "/api/x").status()).isEqualTo(200);
            ProxyServer stopping = proxy;
            proxy = null;
            // the listeners close at once; the request's response comes a second later
            java.util.concurrent.CompletableFuture<Void> stopped =
                    java.util.concurrent.CompletableFuture.runAsync(stopping::shutdown);
            // a kept-alive connection between requests is closed by the drain, not left to the drain timeout
            assertThat(idle.closedByPeer()).isTrue();
            assertThat(response).as("closed before the slow response (1 s) ended the shutdown").isNotDone();
            assertThat(response.get(20, TimeUnit.SECONDS)).isEqualTo("slow-1");
            stopped.get(20, TimeUnit.SECONDS);
        }
    }

    private String admin(String path) throws Exception {
        InetSocketAddress a = proxy.adminAddress();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.getPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    /** Runs {@code curl -H 'Host: HOST' http://INGRESS/PATH}, as the done-when does, and returns the body. */
    private String curl(String host, String path) throws Exception {
        Process p = new ProcessBuilder("curl", "-sS", "--max-time", "10", "-H", "Host: " + host,
                "http://127.0.10.150:" + ingress().getPort() + path).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor()).as("curl: %s", out).isZero();
        return out;
    }

    /** One connection to the api Service's ClusterIP (one pick of its scheduler), answered by an endpoint's name. */
    private static String viaClusterIp() throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.10.151", 18151), 5000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return response.substring(response.indexOf("\r\n\r\n") + 4).trim();
        }
    }
}
