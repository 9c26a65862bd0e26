package io.svcproxy.proxy.admin;

import static io.svcproxy.proxy.metrics.ServicePortFixtures.backend;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.notReady;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.servicePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Lease;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.dataplane.ReloadStatus;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.metrics.MicrometerProxyMetrics;
import io.svcproxy.proxy.metrics.PrometheusText;
import io.svcproxy.proxy.metrics.ServicePortFixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class AdminServerTest {
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final ServiceTable table = new ServiceTable();
    private final MicrometerProxyMetrics metrics =
            new MicrometerProxyMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), false);
    private final BackendState a = backend("127.0.0.11", 8080, 1);
    private final BackendState b = backend("127.0.0.12", 8080, 3);
    private final BackendState c = backend("127.0.0.13", 8080, 1).withWeight(0, BackendState.State.DRAINING);
    private final ServicePort web = servicePort("default", "web", "127.0.10.1", 80, "http", "wlc",
            List.of(a, b, c), List.of(notReady("127.0.0.14", 8080)));
    private AdminServer server;
    private URI base;

    @BeforeEach
    void start() throws BindException {
        table.put(web);
        table.setVersion(7);
        metrics.servicePortAdded(web);
        server = new AdminServer(new InetSocketAddress("127.0.0.1", 0), table, metrics.registry());
        server.start();
        base = URI.create("http://127.0.0.1:" + server.boundAddress().getPort());
    }

    @AfterEach
    void stop() {
        server.stop();
        metrics.close();
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET());
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return CLIENT.send(request.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void answersHealthz() throws Exception {
        HttpResponse<String> response = get("/healthz");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("ok\n");
    }

    @Test
    void answersReadyzOnceTheTableIsReady() throws Exception {
        HttpResponse<String> before = get("/readyz");
        table.setReady(true);
        HttpResponse<String> after = get("/readyz");

        assertThat(before.statusCode()).isEqualTo(503);
        assertThat(before.body()).isEqualTo("not ready\n");
        assertThat(after.statusCode()).isEqualTo(200);
        assertThat(after.body()).isEqualTo("ok\n");
    }

    @Test
    void listsServicePortsAsJson() throws Exception {
        Lease lease = a.counters().lease();
        lease.established();
        a.counters().lease();
        b.counters().lease().release();

        HttpResponse<String> response = get("/api/v1/services");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
        JsonNode root = new ObjectMapper().readTree(response.body());
        assertThat(root.get("version").asLong()).isEqualTo(7);
        assertThat(root.get("services")).hasSize(1);
        JsonNode service = root.get("services").get(0);
        assertThat(service.get("namespace").asText()).isEqualTo("default");
        assertThat(service.get("name").asText()).isEqualTo("web");
        assertThat(service.get("clusterIP").asText()).isEqualTo("127.0.10.1");
        assertThat(service.get("port").asInt()).isEqualTo(80);
        assertThat(service.get("portName").asText()).isEqualTo("http");
        assertThat(service.get("protocol").asText()).isEqualTo("TCP");
        assertThat(service.get("scheduler").asText()).isEqualTo("wlc");
        assertThat(service.get("sessionAffinity").asText()).isEqualTo("None");
        assertThat(service.get("sessionAffinityTimeoutSeconds").asLong()).isEqualTo(10800);
        assertThat(service.get("schedulerFlags")).isEmpty();
        assertThat(service.get("noEndpoint").asLong()).isZero();
        JsonNode endpoints = service.get("endpoints");
        assertThat(endpoints).hasSize(4);
        assertEndpoint(endpoints.get(0), "127.0.0.11", 1, "ready", 1, 1, 2);
        assertEndpoint(endpoints.get(1), "127.0.0.12", 3, "ready", 0, 0, 1);
        assertEndpoint(endpoints.get(2), "127.0.0.13", 0, "draining", 0, 0, 0);
        assertEndpoint(endpoints.get(3), "127.0.0.14", 1, "not ready", 0, 0, 0);
    }

    @Test
    void listsTheBytesAndConnectFailuresOfEachEndpoint() throws Exception {
        a.counters().addBytesToEndpoint(100);
        a.counters().addBytesToClient(2500);
        b.counters().countConnectFailure();
        b.counters().countConnectFailure();

        JsonNode endpoints = new ObjectMapper().readTree(get("/api/v1/services").body())
                .get("services").get(0).get("endpoints");

        assertThat(endpoints.get(0).get("bytesToEndpoint").asLong()).isEqualTo(100);
        assertThat(endpoints.get(0).get("bytesToClient").asLong()).isEqualTo(2500);
        assertThat(endpoints.get(0).get("connectFailures").asLong()).isZero();
        assertThat(endpoints.get(1).get("connectFailures").asLong()).isEqualTo(2);
        assertThat(endpoints.get(3).get("bytesToClient").asLong()).isZero();
    }

    @Test
    void listsADrainingEndpointOnceEvenWhenItIsNotReady() throws Exception {
        web.update(ServicePortFixtures.respec(web, List.of(a, b), List.of(notReady("127.0.0.13", 8080))),
                web.backendSet());

        JsonNode endpoints = new ObjectMapper().readTree(get("/api/v1/services").body())
                .get("services").get(0).get("endpoints");

        assertThat(endpoints).hasSize(3);
        assertThat(endpoints.get(2).get("ip").asText()).isEqualTo("127.0.0.13");
        assertThat(endpoints.get(2).get("state").asText()).isEqualTo("draining");
    }

    private static void assertEndpoint(JsonNode e, String ip, int weight, String state, int active, int inactive,
                                       long total) {
        assertThat(e.get("ip").asText()).isEqualTo(ip);
        assertThat(e.get("port").asInt()).isEqualTo(8080);
        assertThat(e.get("weight").asInt()).isEqualTo(weight);
        assertThat(e.get("state").asText()).isEqualTo(state);
        assertThat(e.get("active").asInt()).isEqualTo(active);
        assertThat(e.get("inactive").asInt()).isEqualTo(inactive);
        assertThat(e.get("total").asLong()).isEqualTo(total);
    }

    @Test
    void servesEverySpecMetricInPrometheusText() throws Exception {
        a.counters().lease().established();
        metrics.connected(web, a, 2_000_000);
        metrics.connectFailed(web, b, "refused");
        metrics.reload(false);

        HttpResponse<String> response = get("/metrics");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type"))
                .hasValue("text/plain; version=0.0.4; charset=utf-8");
        PrometheusText text = PrometheusText.parse(response.body());
        String[] web = {"service", "default/web", "port", "http"};
        assertThat(text.value("svcproxy_connections_active", "service", "default/web", "port", "http",
                "endpoint", "127.0.0.11:8080")).isEqualTo(1);
        assertThat(text.value("svcproxy_connections_total", "service", "default/web", "port", "http",
                "endpoint", "127.0.0.11:8080")).isEqualTo(1);
        assertThat(text.value("svcproxy_connect_failures_total", "service", "default/web", "port", "http",
                "endpoint", "127.0.0.12:8080", "reason", "refused")).isEqualTo(1);
        assertThat(text.value("svcproxy_no_endpoint_total", web)).isZero();
        assertThat(text.value("svcproxy_bytes_total", "service", "default/web", "port", "http",
                "direction", "to_endpoint")).isZero();
        assertThat(text.value("svcproxy_bytes_total", "service", "default/web", "port", "http",
                "direction", "to_client")).isZero();
        assertThat(text.value("svcproxy_connect_duration_seconds_count", web)).isEqualTo(1);
        assertThat(text.value("svcproxy_connect_duration_seconds_bucket", "service", "default/web", "port", "http",
                "le", "0.002")).isEqualTo(1);
        assertThat(text.value("svcproxy_endpoints", "service", "default/web", "port", "http", "state", "ready"))
                .isEqualTo(2);
        assertThat(text.value("svcproxy_endpoints", "service", "default/web", "port", "http", "state",
                "not_ready")).isEqualTo(1);
        assertThat(text.value("svcproxy_endpoints", "service", "default/web", "port", "http", "state",
                "draining")).isEqualTo(1);
        assertThat(text.value("svcproxy_config_reloads_total", "result", "applied")).isZero();
        assertThat(text.value("svcproxy_config_reloads_total", "result", "rejected")).isEqualTo(1);
    }

    @Test
    void dropsTheMetersOfARemovedServicePort() throws Exception {
        table.remove(web.key());
        metrics.servicePortRemoved(web);

        HttpResponse<String> response = get("/metrics");

        assertThat(response.body()).doesNotContain("default/web").contains("svcproxy_config_reloads_total");
        assertThat(new ObjectMapper().readTree(get("/api/v1/services").body()).get("services")).isEmpty();
    }

    @Test
    void servesTheStatsPageWithRelativeUrlsOnly() throws Exception {
        HttpResponse<String> response = get("/");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
        assertThat(response.headers().firstValue("cache-control")).hasValue("no-cache");
        assertThat(response.body())
                .contains("<script type=\"module\" src=\"static/app.js\"></script>")
                .contains("href=\"static/style.css\"", "href=\"metrics\"", "href=\"api/v1/services\"",
                        "href=\"healthz\"", "href=\"readyz\"")
                .doesNotContain("http://", "https://", "src=\"/", "href=\"/", "<style", "style=\"");
        assertThat(get("/static/app.js").body()).contains("'api/v1/services'").doesNotContain("http://",
                "https://", "innerHTML", "fetch('/");
    }

    @Test
    void servesThePageFilesWithTheirContentTypes() throws Exception {
        assertThat(get("/static/app.js").headers().firstValue("content-type"))
                .hasValue("text/javascript; charset=utf-8");
        assertThat(get("/static/style.css").headers().firstValue("content-type"))
                .hasValue("text/css; charset=utf-8");
        assertThat(get("/static/favicon.svg").headers().firstValue("content-type")).hasValue("image/svg+xml");
    }

    @Test
    void answers304WhileThePageFileIsUnchanged() throws Exception {
        HttpResponse<String> first = get("/static/app.js");
        String etag = first.headers().firstValue("etag").orElseThrow();

        HttpResponse<String> again = send(HttpRequest.newBuilder(base.resolve("/static/app.js"))
                .header("If-None-Match", etag));
        HttpResponse<String> other = send(HttpRequest.newBuilder(base.resolve("/static/app.js"))
                .header("If-None-Match", "\"something-else\""));

        assertThat(etag).as("weak: the gzipped and the plain bytes share it").matches("W/\"[0-9a-f]{24}\"");
        assertThat(again.statusCode()).isEqualTo(304);
        assertThat(again.body()).isEmpty();
        assertThat(again.headers().firstValue("etag")).hasValue(etag);
        assertThat(other.statusCode()).isEqualTo(200);
        assertThat(other.body()).isEqualTo(first.body());
    }

    @Test
    void sendsSecurityHeadersOnEveryAnswer() throws Exception {
        for (String path : List.of("/", "/static/app.js", "/api/v1/services", "/metrics", "/healthz", "/nope")) {
            HttpResponse<String> response = get(path);

            assertThat(response.headers().firstValue("x-content-type-options")).as(path).hasValue("nosniff");
            assertThat(response.headers().firstValue("content-security-policy")).as(path)
                    .hasValueSatisfying(csp -> assertThat(csp).contains("default-src 'none'",
                            "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                            "frame-ancestors 'none'").doesNotContain("unsafe"));
        }
    }

    @Test
    void servesOnlyTheAllowListedFiles() throws Exception {
        for (String path : List.of("/index.html", "/static/", "/static", "/static/../static/app.js",
                "/static/%2e%2e/AdminHandler.class", "/static/app.js/", "//static/app.js", "/static/APP.JS",
                "/io/svcproxy/proxy/admin/static/app.js", "/static/app.js%00")) {
            // raw requests: an HTTP client would normalize the paths before sending them
            assertThat(exchange("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                    .as(path).startsWith("HTTP/1.1 404 ");
        }
    }

    @Test
    void reportsTheLastReloadAndTheProcess() throws Exception {
        JsonNode before = new ObjectMapper().readTree(get("/api/v1/services").body());
        table.setLastReload(new ReloadStatus(Instant.parse("2025-03-04T05:06:07.123456Z"), false,
                "svcproxy.yaml:3:5: weight: -1 (expected: 0..65535)"));
        table.setReady(true);
        table.setUnbound(List.of("cannot bind 127.0.10.9:80: Address already in use"));

        JsonNode after = new ObjectMapper().readTree(get("/api/v1/services").body());
        assertThat(before.get("unbound")).isEmpty();
        assertThat(after.get("unbound")).singleElement().extracting(JsonNode::asText)
                .isEqualTo("cannot bind 127.0.10.9:80: Address already in use");

        assertThat(before.get("lastReload").isNull()).isTrue();
        assertThat(before.get("ready").asBoolean()).isFalse();
        assertThat(after.get("ready").asBoolean()).isTrue();
        assertThat(after.get("lastReload").get("at").asText()).isEqualTo("2025-03-04T05:06:07.123Z");
        assertThat(after.get("lastReload").get("result").asText()).isEqualTo("rejected");
        assertThat(after.get("lastReload").get("errors").asText())
                .isEqualTo("svcproxy.yaml:3:5: weight: -1 (expected: 0..65535)");
        assertThat(after.get("svcproxyVersion").asText()).isNotEmpty();
        Instant startedAt = Instant.parse(after.get("startedAt").asText());
        Instant now = Instant.parse(after.get("now").asText());
        assertThat(startedAt).isBefore(now);
        assertThat(now).isBetween(Instant.now().minusSeconds(60), Instant.now().plusSeconds(1));
    }

    @Test
    void anAbsoluteFormTargetIsAnsweredByItsPath() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", server.boundAddress().getPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(io.svcproxy.proxy.testing.RawHttp.read(s.getInputStream()).head()).startsWith("HTTP/1.1 200");
        }
        assertThat(AdminHandler.originForm("HTTP://a:9901/api/v1/services?x=1")).isEqualTo("/api/v1/services?x=1");
        assertThat(AdminHandler.originForm("http://a?x")).isEqualTo("/?x");
        assertThat(AdminHandler.originForm("/metrics")).isEqualTo("/metrics");
        assertThat(AdminHandler.originForm("ftp://a/metrics")).isEqualTo("ftp://a/metrics");
    }

    @Test
    void answersUnknownPathsWith404() throws Exception {
        assertThat(get("/nope").statusCode()).isEqualTo(404);
        assertThat(get("/metrics/x").statusCode()).isEqualTo(404);
    }

    @Test
    void ignoresTheQueryString() throws Exception {
        assertThat(get("/healthz?verbose=1").body()).isEqualTo("ok\n");
    }

    @Test
    void refusesMethodsOtherThanGetAndHeadWith405() throws Exception {
        HttpResponse<String> post = send(HttpRequest.newBuilder(base.resolve("/healthz"))
                .POST(HttpRequest.BodyPublishers.ofString("x")));
        HttpResponse<String> delete = send(HttpRequest.newBuilder(base.resolve("/api/v1/services")).DELETE());

        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("allow")).hasValue("GET, HEAD");
        assertThat(delete.statusCode()).isEqualTo(405);
    }

    @Test
    void answersHeadWithoutABody() throws Exception {
        String response = exchange("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        assertThat(response).startsWith("HTTP/1.1 200 OK\r\n").containsIgnoringCase("content-length: 3\r\n")
                .endsWith("\r\n\r\n");
    }

    @Test
    void rejectsAnOversizedBodyWith413() throws Exception {
        int size = AdminServer.MAX_CONTENT_LENGTH + 1;
        String response = exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                + size + "\r\n\r\n" + "x".repeat(size));

        assertThat(response).startsWith("HTTP/1.1 413 ");
    }

    @Test
    void rejectsAHugeHeaderWith431() throws Exception {
        String response = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + "y".repeat(20_000)
                + "\r\n\r\n");

        assertThat(response).startsWith("HTTP/1.1 431 ");
    }

    @Test
    void keepsTheConnectionAliveAcrossRequests() throws Exception {
        String request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        String last = "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

        String response = exchange(request + request + last);

        assertThat(response.split("HTTP/1.1 ", -1)).hasSize(4);
        assertThat(response).contains("HTTP/1.1 503 ").endsWith("not ready\n");
    }

    @Test
    void failsToBindNamingTheAddress() {
        InetSocketAddress taken = server.boundAddress();
        AdminServer second = new AdminServer(taken, table, metrics.registry());

        assertThatThrownBy(second::start).isInstanceOf(BindException.class)
                .hasMessageContaining("127.0.0.1:" + taken.getPort());
        assertThat(second.boundAddress()).isNull();
    }

    @Test
    void stopsIdempotently() {
        server.stop();
        server.stop();

        assertThat(server.boundAddress()).isNull();
        assertThatThrownBy(() -> new Socket("127.0.0.1", base.getPort()).close()).isInstanceOf(IOException.class);
    }

    /** The admin handler's log lines at WARN or above while {@code action} runs. */
    private static List<String> warnings(ThrowingRunnable action) throws Exception {
        ch.qos.logback.classic.Logger logger =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(AdminHandler.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
                new ch.qos.logback.core.read.ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        try {
            action.run();
        } finally {
            logger.detachAppender(lines);
        }
        return lines.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN))
                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void aMalformedPercentEscapeIsTheClients400NotAWarning() throws Exception {
        List<String> answers = new java.util.ArrayList<>();
        List<String> warned = warnings(() -> {
            for (String target : List.of("/%zz", "/api/v1/simulate?service=%zz", "/metrics?x=%4")) {
                answers.add(exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            }
        });
        assertThat(answers).allSatisfy(a -> assertThat(a).startsWith("HTTP/1.1 400 ")
                .contains("malformed percent-encoding"));
        assertThat(warned).isEmpty();
    }

    @Test
    void aClientThatClosesInsideItsRequestBodyIsNoWarning() throws Exception {
        List<String> warned = warnings(() -> {
            try (Socket socket = new Socket("127.0.0.1", base.getPort())) {
                socket.getOutputStream().write(("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab")
                        .getBytes(StandardCharsets.ISO_8859_1));
                socket.getOutputStream().flush();
            }
            // the close reaches the server's loop after the socket's: wait for the connection to be gone
            Thread.sleep(300);
        });
        assertThat(warned).isEmpty();
    }

    @Test
    void a304HasNoContentLength() throws Exception {
        String etag = get("/static/app.js").headers().firstValue("etag").orElseThrow();
        String answer = exchange("GET /static/app.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag
                + "\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 304 ");
        assertThat(answer.toLowerCase(java.util.Locale.ROOT)).doesNotContain("content-length");
    }

    @Test
    void largeAnswersAreGzippedForClientsThatAcceptIt() throws Exception {
        HttpResponse<byte[]> gzipped = CLIENT.send(HttpRequest.newBuilder(base.resolve("/metrics"))
                .header("Accept-Encoding", "gzip").timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        HttpResponse<String> plain = get("/metrics");
        assertThat(gzipped.headers().firstValue("content-encoding")).hasValue("gzip");
        assertThat(plain.headers().firstValue("content-encoding")).isEmpty();
        String unzipped = new String(new java.util.zip.GZIPInputStream(
                new java.io.ByteArrayInputStream(gzipped.body())).readAllBytes(), StandardCharsets.UTF_8);
        assertThat(unzipped).contains("svcproxy_endpoints{");
        assertThat(gzipped.body().length).isLessThan(plain.body().length() / 3);
    }

    @Test
    @Timeout(60)
    void clientsThatAskAndNeverReadCannotMakeTheProxyHoldAnswerAfterAnswer() throws Exception {
        // a registry whose scrape (about 6 MB) is more than loopback's socket buffers hold for a client that reads
        // nothing: its answer waits in the proxy, counted against the budget (1 MiB here) until the write timeout
        PrometheusMeterRegistry big = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        for (int i = 0; i < 200_000; i++) {
            big.counter("padding_total", "i", Integer.toString(i));
        }
        server.stop();
        server = new AdminServer(new InetSocketAddress("127.0.0.1", 0), table, big)
                .pendingLimits(1024 * 1024, Duration.ofSeconds(2));
        server.start();
        base = URI.create("http://127.0.0.1:" + server.boundAddress().getPort());
        try (Socket stuck = new Socket()) {
            stuck.setReceiveBufferSize(4096);
            stuck.connect(server.boundAddress());
            stuck.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            // the scrape is written and waits: the next large answer is refused, the probes are not
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> get("/metrics").statusCode() == 503);
            HttpResponse<String> busy = get("/api/v1/services");
            assertThat(busy.statusCode()).isEqualTo(503);
            assertThat(busy.headers().firstValue("retry-after")).hasValue("1");
            assertThat(get("/healthz").statusCode()).isEqualTo(200);
            // the write timeout closes the connection that does not read: its answer is let go
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> get("/api/v1/services").statusCode() == 200);
            assertThat(stuck.getInputStream().readAllBytes().length).as("cut short, then closed")
                    .isLessThan(6_000_000);
        } finally {
            big.close();
        }
    }

    /** Writes raw bytes and reads until the server closes the connection. */
    private String exchange(String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", base.getPort())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            try {
                out.write(request.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } catch (IOException e) {
                // the server may answer and close before it read everything: the answer is still there to read
            }
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    received.write(buf, 0, n);
                }
            } catch (IOException e) {
                // a reset after the answer: keep what arrived
            }
            return received.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void probesAreAnsweredWhileAScrapeIsMadeAndPipelinedRequestsInOrder() throws Exception {
        // a scrape that takes a second (thousands of Service ports take as long): the probes must not wait for it
        PrometheusMeterRegistry slow = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        java.util.concurrent.CountDownLatch scraping = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch probed = new java.util.concurrent.CountDownLatch(1);
        io.micrometer.core.instrument.Gauge.builder("slow_gauge", () -> {
            scraping.countDown();
            try {
                probed.await(10, java.util.concurrent.TimeUnit.SECONDS); // held until the probe was answered
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 1;
        }).register(slow);
        server.stop();
        server = new AdminServer(new InetSocketAddress("127.0.0.1", 0), table, slow);
        server.start();
        base = URI.create("http://127.0.0.1:" + server.boundAddress().getPort());
        try (Socket scrape = new Socket("127.0.0.1", server.boundAddress().getPort())) {
            scrape.setSoTimeout(10_000);
            // pipelined on one connection: the scrape, then a probe, answered in that order
            scrape.getOutputStream().write(("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(scraping.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            // the scrape is under way and holds: another connection's probe is answered now
            HttpResponse<String> probe = get("/healthz");
            assertThat(probe.statusCode()).isEqualTo(200);
            assertThat(get("/readyz").statusCode()).isEqualTo(503);
            probed.countDown();
            String answers = new String(scrape.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(answers).startsWith("HTTP/1.1 200 ");
            int metrics = answers.indexOf("slow_gauge 1.0");
            int ok = answers.indexOf("\r\n\r\nok\n");
            assertThat(metrics).as("the scrape first").isPositive();
            assertThat(ok).as("then the probe behind it").isGreaterThan(metrics);
        } finally {
            probed.countDown();
            slow.close();
        }
    }

    @Test
    void oneClientsIdleConnectionsCannotShutOutAnotherClient() throws Exception {
        server.stop();
        server = new AdminServer(new InetSocketAddress("127.0.0.1", 0), table, metrics.registry())
                .limits(8, 3, Duration.ofSeconds(10));
        server.start();
        InetSocketAddress at = server.boundAddress();
        List<Socket> idle = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                idle.add(new Socket(at.getAddress(), at.getPort()));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> server.openConnections() == 3);
            try (Socket fourth = new Socket(at.getAddress(), at.getPort())) {
                fourth.setSoTimeout(5000);
                assertThat(fourth.getInputStream().read()).as("a fourth from the same address: closed").isEqualTo(-1);
            }
            // the kubelet's probe comes from another address: answered
            try (Socket probe = new Socket(at.getAddress(), at.getPort(),
                    java.net.InetAddress.getByName("127.0.0.2"), 0)) {
                probe.setSoTimeout(5000);
                probe.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(probe.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .startsWith("HTTP/1.1 200 ");
            }
            // a connection of the first client that closes gives its place back
            idle.remove(0).close();
            await().atMost(Duration.ofSeconds(5)).until(() -> server.openConnections() == 2);
            try (Socket again = new Socket(at.getAddress(), at.getPort())) {
                again.setSoTimeout(5000);
                again.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(again.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .startsWith("HTTP/1.1 200 ");
            }
        } finally {
            for (Socket s1 : idle) {
                s1.close();
            }
        }
    }

    @Test
    void aSlowlorisClientIsClosedAtTheRequestDeadlineAndConnectionsAreCapped() throws Exception {
        server.stop();
        server = new AdminServer(new InetSocketAddress("127.0.0.1", 0), table, metrics.registry())
                .limits(3, Duration.ofMillis(1500));
        server.start();
        InetSocketAddress at = server.boundAddress();
        List<java.net.Socket> slow = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                java.net.Socket s = new java.net.Socket(at.getAddress(), at.getPort());
                s.setSoTimeout(5000);
                s.getOutputStream().write("GET /healthz HTTP/1.1\r\nX".getBytes(StandardCharsets.US_ASCII));
                slow.add(s);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> server.openConnections() == 3);
            try (java.net.Socket fourth = new java.net.Socket(at.getAddress(), at.getPort())) {
                fourth.setSoTimeout(5000);
                long accepted = System.nanoTime();
                assertThat(fourth.getInputStream().read()).as("over the cap: closed as accepted").isEqualTo(-1);
                assertThat(Duration.ofNanos(System.nanoTime() - accepted)).as("not by its request deadline")
                        .isLessThan(Duration.ofMillis(1000));
            }
            long start = System.nanoTime();
            for (java.net.Socket s : slow) {
                try {
                    s.getOutputStream().write('-'); // a byte now and then does not extend the deadline
                } catch (IOException e) {
                    // closed already
                }
            }
            for (java.net.Socket s : slow) {
                assertThat(closedByServer(s)).as("closed at the deadline").isTrue();
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
            await().atMost(Duration.ofSeconds(5)).until(() -> server.openConnections() == 0);
            // a kept-alive client that asks in time is served request after request
            try (java.net.Socket s = new java.net.Socket(at.getAddress(), at.getPort())) {
                s.setSoTimeout(5000);
                for (int i = 0; i < 3; i++) {
                    Thread.sleep(300);
                    s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    assertThat(io.svcproxy.proxy.testing.RawHttp.read(s.getInputStream()).head())
                            .startsWith("HTTP/1.1 200");
                }
            }
        } finally {
            for (java.net.Socket s : slow) {
                s.close();
            }
        }
    }

    /** Whether the server closed {@code s}: the end of the stream, or a reset (a byte it sent arrived after the close). */
    private static boolean closedByServer(java.net.Socket s) throws IOException {
        try {
            return s.getInputStream().read() == -1;
        } catch (java.net.SocketException e) {
            return String.valueOf(e.getMessage()).contains("reset");
        }
    }
}
