package io.svcproxy.proxy.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusNamingConvention;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.ingress.TlsHandshakeFailure;
import io.svcproxy.proxy.dataplane.Rejection;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters;
import io.svcproxy.proxy.docs.DocFiles.Snippet;
import io.svcproxy.proxy.metrics.MicrometerProxyMetrics;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The metric names and admin paths the docs name are the proxy's. A proxy on loopback (127.0.154.x) with a TCP, a
 * UDP, a LoadBalancer Service with source ranges and both Ingress listeners carries a little of each kind of
 * traffic (a refused endpoint ejected, a client outside the ranges, a datagram without endpoint, an Ingress
 * request, a TLS handshake left unfinished); then every {@code svcproxy_...} name in the docs must be in its
 * {@code /metrics}, with the labels the docs give it, or, for a metric only some event makes, be the Prometheus
 * name of one of the code's meter names. Every admin path the docs name answers something else than 404.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DocMetricsAndAdminTest {
    private static final Pattern METRIC = Pattern.compile("\\b((?:svcproxy|process)_[a-z0-9_]*[a-z0-9])(\\{[^}]*})?");
    private static final Pattern ADMIN_PATH = Pattern.compile("^(?:GET )?/?((?:api/v1/[a-z]+)|healthz|readyz|metrics)\\b");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** The whole set of values of the labels whose values the code enumerates. */
    static final Map<String, Set<String>> KNOWN_VALUES = Map.of(
            "svcproxy_udp_dropped_total{reason}", labels(UdpCounters.Drop.values(), UdpCounters.Drop::label),
            "svcproxy_rejected_connections_total{reason}", labels(Rejection.values(), Rejection::label),
            "svcproxy_ingress_tls_handshake_failures_total{reason}",
            labels(TlsHandshakeFailure.values(), TlsHandshakeFailure::label));
    /** Labels whose every value has a series from the start (a gauge per state, both reload results at 0). */
    static final Set<String> ALL_VALUES_LIVE = Set.of("svcproxy_endpoints{state}",
            "svcproxy_config_reloads_total{result}");

    static <T> Set<String> labels(T[] values, java.util.function.Function<T, String> label) {
        Set<String> set = new TreeSet<>();
        for (T v : values) {
            set.add(label.apply(v));
        }
        return set;
    }

    static final List<TestBackend> backends = new ArrayList<>();
    static ProxyServer server;
    static String scrape;

    @BeforeAll
    static void startAndCarryTraffic() throws Exception {
        TestBackend echo = TestBackend.start(new InetSocketAddress("127.0.154.21", 0), "echo", Mode.ECHO);
        TestBackend web = TestBackend.start(new InetSocketAddress("127.0.154.22", 0), "web", Mode.HTTP);
        backends.add(echo);
        backends.add(web);
        int refusing;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.154.23"))) {
            refusing = s.getLocalPort(); // closed again: connects to it are refused
        }
        try (DatagramSocket udpEndpoint = new DatagramSocket(new InetSocketAddress("127.0.154.24", 0))) {
            String yaml = """
                    proxy:
                      admin: "127.0.154.1:0"
                      outlierDetection: {consecutiveFailures: 1}
                      ingress: {http: "127.0.154.2:18080", https: "127.0.154.2:18443"}
                    services:
                      - name: tcp
                        clusterIP: 127.0.154.10
                        ports: [{name: echo, port: 18100}]
                        endpoints: [{ip: 127.0.154.21, port: %d}, {ip: 127.0.154.23, port: %d}]
                      - name: dns
                        clusterIP: 127.0.154.11
                        ports: [{name: dns, protocol: UDP, port: 18153, targetPort: %d}]
                        endpoints: [{ip: 127.0.154.24}]
                      - name: none
                        clusterIP: 127.0.154.12
                        ports: [{name: u, protocol: UDP, port: 18154}, {name: t, port: 18155}]
                        selector: {app: none}
                      - name: lb
                        type: LoadBalancer
                        clusterIP: 127.0.154.13
                        loadBalancerIPs: [127.0.154.31]
                        loadBalancerSourceRanges: [127.0.154.200/32]
                        ports: [{port: 18156, nodePort: 30156}]
                        endpoints: [{ip: 127.0.154.21, port: %d}]
                      - name: web
                        clusterIP: 127.0.154.14
                        ports: [{name: http, port: 18157}]
                        endpoints: [{ip: 127.0.154.22, port: %d}]
                    ingresses:
                      - name: site
                        rules: [{host: site.example, http: {paths: [{path: /, pathType: Prefix,
                                 backend: {service: {name: web, port: {name: http}}}}]}}]
                    """.formatted(echo.address().getPort(), refusing, udpEndpoint.getLocalPort(),
                    echo.address().getPort(), web.address().getPort());
            server = ProxyServer.start(ConfigLoader.parse(yaml, "docs-metrics.yaml"), Transport.select(), 2);
            for (int i = 0; i < 2; i++) { // rr: one of the two is the refusing endpoint, ejected, then retried
                try (Socket s = connect(null, "127.0.154.10", 18100)) {
                    s.getOutputStream().write('x');
                    assertThat(s.getInputStream().read()).isEqualTo('x');
                }
            }
            try (Socket outside = connect("127.0.154.99", "127.0.154.31", 18156)) {
                assertThat(outside.getInputStream().read()).isEqualTo(-1); // source_range
            }
            try (Socket noEndpoint = connect(null, "127.0.154.12", 18155)) {
                assertThat(noEndpoint.getInputStream().read()).isEqualTo(-1);
            }
            try (DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.154.99", 0))) {
                byte[] query = "q".getBytes(StandardCharsets.US_ASCII);
                client.send(new DatagramPacket(query, query.length, new InetSocketAddress("127.0.154.11", 18153)));
                client.send(new DatagramPacket(query, query.length, new InetSocketAddress("127.0.154.12", 18154)));
                udpEndpoint.setSoTimeout(5000);
                udpEndpoint.receive(new DatagramPacket(new byte[16], 16));
            }
            try (Socket ingress = connect(null, "127.0.154.2", 18080)) {
                ingress.getOutputStream().write("GET / HTTP/1.1\r\nHost: site.example\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(ingress.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1))
                        .startsWith("HTTP/1.1 200");
            }
            connect(null, "127.0.154.2", 18443).close(); // a TLS handshake never begun: reason closed
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                scrape = get("/metrics").body();
                return scrape.contains("svcproxy_ingress_tls_handshake_failures_total{")
                        && scrape.contains("svcproxy_udp_dropped_total{") && scrape.contains("reason=\"source_range\"")
                        && scrape.contains("svcproxy_ejections_total{");
            });
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        backends.forEach(TestBackend::close);
    }

    static Socket connect(String from, String ip, int port) throws IOException {
        Socket s = new Socket();
        if (from != null) {
            s.bind(new InetSocketAddress(from, 0));
        }
        s.setSoTimeout(5000);
        s.connect(new InetSocketAddress(ip, port), 2000);
        return s;
    }

    static HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.154.1:" + server.adminAddress().getPort()
                + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The label names of each metric family of the scrape (histogram samples under their family's name). */
    static Map<String, Set<String>> liveLabels() {
        Map<String, Set<String>> labels = new HashMap<>();
        Matcher type = Pattern.compile("(?m)^# TYPE (\\S+) (\\S+)$").matcher(scrape);
        while (type.find()) {
            labels.putIfAbsent(type.group(1), new TreeSet<>());
        }
        Matcher sample = Pattern.compile("(?m)^([a-z_0-9]+)(?:\\{([^}]*)})? ").matcher(scrape);
        while (sample.find()) {
            String name = sample.group(1);
            String family = name.replaceFirst("_(bucket|count|sum|max|created)$", "");
            Set<String> names = labels.computeIfAbsent(labels.containsKey(family) ? family : name,
                    k -> new TreeSet<>());
            labels.computeIfAbsent(name, k -> new TreeSet<>());
            if (sample.group(2) != null) {
                for (String pair : sample.group(2).split(",(?=[a-z_]+=)")) {
                    String label = pair.substring(0, pair.indexOf('='));
                    if (!label.equals("le")) {
                        names.add(label);
                    }
                }
            }
        }
        return labels;
    }

    /** The values {@code label} has in the scrape's series of {@code name}. */
    static Set<String> liveValues(String name, String label) {
        Set<String> values = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{[^}]*\\b" + label + "=\"([^\"]*)\"").matcher(scrape);
        while (m.find()) {
            values.add(m.group(1));
        }
        return values;
    }

    /**
     * The Prometheus names of the meters the code names ({@code svcproxy.*} constants of the metrics classes), as
     * any meter type and base unit would expose them: for the metrics only an event creates.
     */
    static Set<String> codeNames() throws IllegalAccessException {
        Set<String> names = new TreeSet<>();
        PrometheusNamingConvention convention = new PrometheusNamingConvention();
        for (Class<?> c : List.of(MicrometerProxyMetrics.class,
                classNamed("io.svcproxy.proxy.metrics.HttpRequestMeters"))) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
                    f.setAccessible(true);
                    String value = (String) f.get(null);
                    if (value != null && value.startsWith("svcproxy.")) {
                        for (Meter.Type t : Meter.Type.values()) {
                            for (String unit : new String[] {null, "seconds", "bytes"}) {
                                String name = convention.name(value, t, unit);
                                names.add(name);
                                names.add(name + "_total"); // the Prometheus client's suffix of a counter
                            }
                        }
                    }
                }
            }
        }
        return names;
    }

    private static Class<?> classNamed(String name) {
        try {
            return Class.forName(name);
        } catch (ClassNotFoundException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void everyMetricTheDocsNameIsTheProxys() throws Exception {
        Map<String, Set<String>> live = liveLabels();
        Set<String> code = codeNames();
        List<String> problems = new ArrayList<>();
        int mentions = 0;
        for (Snippet line : DocFiles.allLines()) {
            Matcher m = METRIC.matcher(line.text());
            while (m.find()) {
                mentions++;
                String name = m.group(1);
                Set<String> labels = live.get(name);
                if (labels == null) {
                    if (!code.contains(name)) {
                        problems.add(line.where() + ": " + name + " is neither in /metrics nor a meter of the code");
                    }
                    continue;
                }
                if (m.group(2) != null) {
                    for (String part : m.group(2).substring(1, m.group(2).length() - 1).split(",")) {
                        String label = part.trim().replaceFirst("\\s*(=~|!=|=).*", "");
                        if (!label.isEmpty() && !labels.contains(label)) {
                            problems.add(line.where() + ": " + name + " has no label '" + label + "' (its labels: "
                                    + labels + ")");
                        }
                        Matcher value = Pattern.compile("^\\s*([a-z_]+)=\"([a-z_]+)\"\\s*$").matcher(part);
                        String key = value.find() ? name + "{" + value.group(1) + "}" : "";
                        Set<String> values = ALL_VALUES_LIVE.contains(key) ? liveValues(name, value.group(1))
                                : KNOWN_VALUES.get(key);
                        if (values != null && !values.contains(value.group(2))) {
                            problems.add(line.where() + ": " + name + "{" + value.group(1) + "=\"" + value.group(2)
                                    + "\"}: no such value (the code's: " + values + ")");
                        }
                    }
                }
            }
        }
        assertThat(mentions).as("metric names found in the docs").isGreaterThan(40);
        problems.addAll(tableProblems(live));
        assertThat(problems).isEmpty();
    }

    /**
     * The metric tables of the docs ({@code | `name` | type | labels | meaning |}, docs/operations.md): a metric in
     * {@code /metrics} has there the type and the labels the table gives it.
     */
    static List<String> tableProblems(Map<String, Set<String>> live) {
        List<String> problems = new ArrayList<>();
        Pattern row = Pattern.compile("^\\|\\s*`((?:svcproxy|process)_[a-z0-9_]+)`[^|]*\\|\\s*(counter|gauge|histogram)\\s*"
                + "\\|([^|]*)\\|");
        Map<String, String> types = new HashMap<>();
        Matcher type = Pattern.compile("(?m)^# TYPE (\\S+) (\\S+)$").matcher(scrape);
        while (type.find()) {
            types.put(type.group(1), type.group(2));
        }
        int rows = 0;
        for (Snippet line : DocFiles.tableRows()) {
            Matcher m = row.matcher(line.text());
            if (!m.find() || !live.containsKey(m.group(1))) {
                continue;
            }
            rows++;
            String name = m.group(1);
            Set<String> documented = new TreeSet<>();
            for (String label : m.group(3).split(",")) {
                if (!label.isBlank()) {
                    documented.add(label.trim().replaceFirst("\\s.*", ""));
                }
            }
            if (!documented.equals(live.get(name))) {
                problems.add(line.where() + ": " + name + " has the labels " + live.get(name) + ", the table says "
                        + documented);
            }
            String liveType = types.getOrDefault(name, types.get(name.replaceFirst("_total$", "")));
            if (liveType != null && !liveType.equals(m.group(2))) {
                problems.add(line.where() + ": " + name + " is a " + liveType + ", the table says " + m.group(2));
            }
        }
        if (rows == 0) {
            problems.add("no metric table row found in the docs");
        }
        return problems;
    }

    @Test
    void aMadeUpMetricNameIsCaught() throws Exception {
        assertThat(liveLabels()).doesNotContainKey("svcproxy_connections_dropped_total");
        assertThat(codeNames()).doesNotContain("svcproxy_connections_dropped_total")
                .contains("svcproxy_ejections_total", "svcproxy_http_requests_total");
    }

    @Test
    void everyAdminPathTheDocsNameIsServed() throws Exception {
        Map<String, String> paths = new java.util.TreeMap<>(); // path -> where a doc first names it
        for (Snippet span : DocFiles.inlineCode()) {
            Matcher m = ADMIN_PATH.matcher(span.text());
            if (m.find()) {
                paths.putIfAbsent("/" + m.group(1), span.where());
            }
        }
        for (Snippet block : DocFiles.codeBlocks()) {
            block.text().lines().map(ADMIN_PATH::matcher).filter(Matcher::find)
                    .forEach(m -> paths.putIfAbsent("/" + m.group(1), block.where()));
        }
        assertThat(paths).containsKeys("/metrics", "/healthz", "/readyz", "/api/v1/services", "/api/v1/ingresses",
                "/api/v1/simulate");
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, String> path : paths.entrySet()) {
            if (get(path.getKey()).statusCode() == 404) {
                missing.add(path.getValue() + ": GET " + path.getKey() + " is 404");
            }
        }
        assertThat(missing).isEmpty();
        assertThat(get("/api/v1/made-up").statusCode()).isEqualTo(404);
    }
}
