package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.ReloadStatus;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * Drives the real stats page in headless Chromium: svcproxy with echo backends, connections held open, a reload
 * that drains an endpoint, a rejected edit of the watched config file, and screenshots at a laptop and a phone
 * width into {@code target/screenshots/} (kept as test artifacts; {@code stats-laptop.png} is the README's
 * {@code docs/stats-page.png}).
 *
 * <p>It uses Debian's {@code chromium} and {@code chromium-driver} ({@code /usr/bin/chromium},
 * {@code /usr/bin/chromedriver}; other paths through {@code -Dsvcproxy.chromium=} and
 * {@code -Dsvcproxy.chromedriver=}). Selenium is given both paths, so Selenium Manager never runs and nothing is
 * downloaded. Without them the test fails, saying what to install: {@code .ci/run} installs them through test.sh.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StatusPageBrowserTest {
    static final Path CHROMIUM = Path.of(System.getProperty("svcproxy.chromium", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getProperty("svcproxy.chromedriver", "/usr/bin/chromedriver"));
    static final Path SCREENSHOTS = Path.of("target", "screenshots");
    static final String WEB = "shop/web:http";
    static final String CACHE = "shop/cache:18778";

    /** Reads every endpoint row of the page: service → endpoint → column → text, plus the row's state. */
    static final String READ_ROWS = """
            const out = {};
            for (const card of document.querySelectorAll('section.card')) {
              const rows = out[card.dataset.service] = {};
              for (const tr of card.querySelectorAll('tr[data-endpoint]')) {
                const row = rows[tr.dataset.endpoint] = {state: tr.dataset.state};
                for (const td of tr.querySelectorAll('td')) {
                  const c = [...td.classList].find(k => k.startsWith('c-'));
                  if (c) row[c.substring(2)] = td.textContent.trim();
                }
              }
            }
            return out;""";

    @TempDir
    Path dir;
    final List<TestBackend> backends = new ArrayList<>();
    final List<Socket> held = new ArrayList<>();
    ProxyServer server;
    ChromeDriver driver;

    @BeforeAll
    static void requireChromium() {
        String install = " (install Debian's packages: apt-get install -y --no-install-recommends chromium "
                + "chromium-driver; .ci/run does it through test.sh)";
        assertThat(Files.isExecutable(CHROMIUM)).as("Chromium not found at " + CHROMIUM + install).isTrue();
        assertThat(Files.isExecutable(CHROMEDRIVER)).as("ChromeDriver not found at " + CHROMEDRIVER + install)
                .isTrue();
    }

    @AfterEach
    void tearDown() throws IOException {
        if (driver != null) {
            driver.quit();
        }
        for (Socket s : held) {
            s.close();
        }
        if (server != null) {
            server.close();
        }
        backends.forEach(TestBackend::close);
    }

    @Test
    void showsLiveCountsADrainedEndpointAndReloads() throws Exception {
        TestBackend a = backend("127.0.0.71", "a");
        TestBackend b = backend("127.0.0.72", "b");
        TestBackend c = backend("127.0.0.73", "c");
        TestBackend d = backend("127.0.0.74", "d");
        Path file = dir.resolve("svcproxy.yaml");
        write(file, config(List.of(a, b, c), d, ""));
        server = ProxyServer.start(ConfigLoader.load(file), Transport.select(), 2);
        String base = "http://127.0.0.1:" + server.adminAddress().getPort() + "/";
        driver = chromium();
        driver.get(base);

        // Five held connections spread over a, b and c by rr, one on the cache, three short ones on the web.
        for (int i = 0; i < 5; i++) {
            held.add(open("127.0.10.77", 18777, "hello " + "x".repeat(100 * i)));
        }
        held.add(open("127.0.10.78", 18778, "ping"));
        for (int i = 0; i < 3; i++) {
            open("127.0.10.77", 18777, "short").close();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> a.openConnections() + b.openConnections()
                + c.openConnections() == 5 && d.openConnections() == 1
                && a.acceptedConnections() + b.acceptedConnections() + c.acceptedConnections() == 8);

        Map<TestBackend, String> endpoints = Map.of(a, endpoint(a), b, endpoint(b), c, endpoint(c));
        await("the page shows each endpoint's active and total connections").atMost(Duration.ofSeconds(15))
                .ignoreExceptions().untilAsserted(() -> {
                    Map<String, Map<String, String>> web = rows().get(WEB);
                    for (Map.Entry<TestBackend, String> e : endpoints.entrySet()) {
                        Map<String, String> row = web.get(e.getValue());
                        assertThat(row).as(e.getValue()).containsEntry("state", "ready")
                                .containsEntry("active", String.valueOf(e.getKey().openConnections()))
                                .containsEntry("total", String.valueOf(e.getKey().acceptedConnections()))
                                .containsEntry("inactive", "0").containsEntry("failures", "0");
                        assertThat(row.get("toEndpoint")).isNotEqualTo("0 B");
                    }
                    assertThat(rows().get(CACHE).get(endpoint(d))).containsEntry("active", "1");
                    assertThat(text("#total-connections")).isEqualTo("6");
                    assertThat(text("#ready")).isEqualTo("ready");
                    assertThat(text("#config-version")).isEqualTo("1");
                    assertThat(text("#reload")).contains("none since start");
                });
        assertThat(text("#build")).startsWith("v");
        assertThat(text("#live")).isEqualTo("live");

        // Traffic for the charts, then a reload that removes c while it holds a connection: c drains.
        traffic(Duration.ofSeconds(4));
        int heldByC = c.openConnections();
        assertThat(heldByC).isPositive();
        write(file, config(List.of(a, b), d, ""));
        await("the page shows c draining after an applied reload").atMost(Duration.ofSeconds(15))
                .ignoreExceptions().untilAsserted(() -> {
                    Map<String, String> row = rows().get(WEB).get(endpoint(c));
                    assertThat(row).containsEntry("state", "draining").containsEntry("weight", "0")
                            .containsEntry("active", String.valueOf(heldByC));
                    assertThat(attribute("#reload", "data-result")).isEqualTo("applied");
                    assertThat(text("#reload")).startsWith("applied");
                    assertThat(text("#config-version")).isEqualTo("2");
                    assertThat(driver.findElement(By.id("reload-errors")).isDisplayed()).isFalse();
                });
        traffic(Duration.ofSeconds(2));
        screenshot("stats-laptop.png", 1366, 0);

        // An invalid edit of the watched file is rejected, with its error on the page; the config in force stays.
        write(file, config(List.of(a, b), d, "weight: -1"));
        await().atMost(Duration.ofSeconds(15)).until(() -> server.table().lastReload() != null
                && !server.table().lastReload().applied());
        ReloadStatus rejected = server.table().lastReload();
        assertThat(rejected.errors()).contains("weight");
        await("the page shows the rejection and its error").atMost(Duration.ofSeconds(15))
                .ignoreExceptions().untilAsserted(() -> {
                    assertThat(attribute("#reload", "data-result")).isEqualTo("rejected");
                    assertThat(text("#reload")).startsWith("rejected");
                    assertThat(driver.findElement(By.id("reload-errors")).isDisplayed()).isTrue();
                    assertThat(text("#reload-error-text")).isEqualTo(rejected.errors().strip());
                    assertThat(text("#config-version")).isEqualTo("2");
                    assertThat(rows().get(WEB).get(endpoint(c))).containsEntry("state", "draining");
                });
        screenshot("stats-laptop-rejected.png", 1366, 0);
        screenshot("stats-phone.png", 390, 844);
        screenshot("stats-phone-full.png", 390, 0);

        // The edit undone: the rejection is over. Then the Service renamed at the same address: its card follows.
        write(file, config(List.of(a, b), d, ""));
        await("the undone edit clears the rejection").atMost(Duration.ofSeconds(15))
                .ignoreExceptions().untilAsserted(() -> {
                    assertThat(attribute("#reload", "data-result")).isEqualTo("applied");
                    assertThat(driver.findElement(By.id("reload-errors")).isDisplayed()).isFalse();
                });
        write(file, config(List.of(a, b), d, "").replace("name: web", "name: store"));
        await("the card takes the new name").atMost(Duration.ofSeconds(15)).ignoreExceptions()
                .untilAsserted(() -> {
                    assertThat(rows()).containsKey("shop/store:http").doesNotContainKey(WEB);
                    assertThat(driver.findElement(By.cssSelector("section.card[data-service='shop/store:http'] "
                            + ".svc-name")).getText()).isEqualTo("shop/store");
                    assertThat(driver.findElement(By.cssSelector("section.card[data-service='shop/store:http'] "
                            + "a.whatif-link")).getAttribute("href")).endsWith("#whatif=shop%2Fstore%3Ahttp");
                });
        // A Service added at an address another process holds: named on the page until it is bound.
        try (java.net.ServerSocket squatter = new java.net.ServerSocket(18779, 50,
                java.net.InetAddress.getByName("127.0.10.79"))) {
            write(file, config(List.of(a, b), d, "").replace("name: web", "name: store")
                    + "  - {name: late, namespace: shop, clusterIP: 127.0.10.79, ports: [{port: 18779}], "
                    + "endpoints: [{ip: 127.0.0.74, port: " + d.address().getPort() + "}]}\n");
            await("the page names the address it cannot bind").atMost(Duration.ofSeconds(15)).ignoreExceptions()
                    .untilAsserted(() -> {
                        assertThat(driver.findElement(By.id("unbound")).isDisplayed()).isTrue();
                        assertThat(text("#unbound-text")).startsWith("cannot bind 127.0.10.79:18779");
                        assertThat(text("#ready")).isEqualTo("not ready");
                    });
        }
        await("bound once the address is free").atMost(Duration.ofSeconds(15)).ignoreExceptions()
                .untilAsserted(() -> {
                    assertThat(driver.findElement(By.id("unbound")).isDisplayed()).isFalse();
                    assertThat(rows()).containsKey("shop/late:18779");
                });
        // the cards stand in the answer's order (placed in one walk over the page, not looked up per port)
        com.fasterxml.jackson.databind.JsonNode services = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(base + "api/v1/services")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString()).body()).get("services");
        List<String> order = new java.util.ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode svc : services) {
            String portLabel = svc.hasNonNull("portName") && !svc.get("portName").asText().isEmpty()
                    ? svc.get("portName").asText() : svc.get("port").asText();
            order.add(svc.get("namespace").asText() + "/" + svc.get("name").asText() + ":" + portLabel);
        }
        assertThat(order).hasSizeGreaterThanOrEqualTo(3);
        await("the cards in the answer's order").atMost(Duration.ofSeconds(5)).ignoreExceptions()
                .untilAsserted(() -> assertThat(driver.findElements(By.cssSelector("#services > section.card"))
                        .stream().map(e -> e.getAttribute("data-service")).toList()).isEqualTo(order));

        assertOnlySameOriginRequests(base);
        assertNoConsoleErrors();
    }

    private TestBackend backend(String ip, String name) throws Exception {
        TestBackend backend = TestBackend.start(new InetSocketAddress(ip, 0), name, Mode.ECHO);
        backends.add(backend);
        return backend;
    }

    private static String endpoint(TestBackend backend) {
        return backend.address().getAddress().getHostAddress() + ":" + backend.address().getPort();
    }

    @Test
    void showsAUdpPortWithItsFlowsAndDatagrams() throws Exception {
        try (java.net.DatagramSocket endpoint = new java.net.DatagramSocket(new InetSocketAddress("127.0.0.75", 0))) {
            Thread echo = new Thread(() -> {
                byte[] buffer = new byte[1500];
                while (!endpoint.isClosed()) {
                    try {
                        java.net.DatagramPacket in = new java.net.DatagramPacket(buffer, buffer.length);
                        endpoint.receive(in);
                        endpoint.send(new java.net.DatagramPacket(in.getData(), in.getLength(), in.getSocketAddress()));
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "udp-echo");
            echo.setDaemon(true);
            echo.start();
            Path file = dir.resolve("svcproxy.yaml");
            write(file, """
                    proxy: {admin: "127.0.0.1:0"}
                    services:
                      - name: dns
                        namespace: kube-system
                        clusterIP: 127.0.10.79
                        ports: [{name: dns, protocol: UDP, port: 18779}]
                        endpoints: [{ip: 127.0.0.75, port: %d}]
                    """.formatted(endpoint.getLocalPort()));
            server = ProxyServer.start(ConfigLoader.load(file), Transport.select(), 2);
            try (java.net.DatagramSocket client = new java.net.DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                client.setSoTimeout(3000);
                client.connect(new InetSocketAddress("127.0.10.79", 18779));
                for (int i = 0; i < 3; i++) {
                    byte[] out = ("q" + i).getBytes(StandardCharsets.UTF_8);
                    client.send(new java.net.DatagramPacket(out, out.length));
                    client.receive(new java.net.DatagramPacket(new byte[1500], 1500));
                }
                driver = chromium();
                driver.get("http://127.0.0.1:" + server.adminAddress().getPort() + "/");
                await("the UDP card shows its flow and datagrams").atMost(Duration.ofSeconds(15)).ignoreExceptions()
                        .untilAsserted(() -> {
                            String card = (String) driver.executeScript("const c = [...document.querySelectorAll("
                                    + "'section.card')].find(x => x.dataset.service === 'kube-system/dns:dns');"
                                    + " return c ? c.textContent : '';");
                            assertThat(card).contains("/UDP").contains("flows 1").doesNotContain("connections")
                                    .contains("3 \u2192 endpoint").contains("3 \u2192 client");
                        });
                screenshot("stats-udp.png", 1366, 0);
            }
        }
    }

    @Test
    void showsTheAddressesOfALoadBalancerServiceTheirConnectionsAndRefusals() throws Exception {
        TestBackend web = backend("127.0.0.76", "lb");
        Path file = dir.resolve("svcproxy.yaml");
        write(file, """
                proxy: {admin: "127.0.0.1:0", nodeAddresses: [127.0.20.76]}
                services:
                  - name: front
                    namespace: shop
                    type: LoadBalancer
                    clusterIP: 127.0.10.76
                    externalIPs: [127.0.30.76]
                    loadBalancerIPs: [127.0.31.76]
                    loadBalancerSourceRanges: [127.0.21.0/24]
                    ports: [{name: http, port: 18776, nodePort: 30776}]
                    endpoints: [{ip: 127.0.0.76, port: %d}]
                """.formatted(web.address().getPort()));
        server = ProxyServer.start(ConfigLoader.load(file), Transport.select(), 2);
        open("127.0.10.76", 18776, "cluster").close();
        open("127.0.20.76", 30776, "node").close();
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress("127.0.22.76", 0)); // outside the source ranges: closed at once
            s.connect(new InetSocketAddress("127.0.31.76", 18776), 2000);
            s.setSoTimeout(5000);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        driver = chromium();
        String base = "http://127.0.0.1:" + server.adminAddress().getPort() + "/";
        driver.get(base);
        await("the card names every address, the connections by kind and the refusal").atMost(Duration.ofSeconds(15))
                .ignoreExceptions().untilAsserted(() -> {
                    String card = (String) driver.executeScript("const c = [...document.querySelectorAll("
                            + "'section.card')].find(x => x.dataset.service === 'shop/front:http');"
                            + " return c ? c.textContent : '';");
                    assertThat(card).contains("127.0.10.76:18776/TCP")
                            .contains("also 127.0.20.76:30776 (node), 127.0.30.76:18776 (external), "
                                    + "127.0.31.76:18776 (lb)")
                            .contains("type LoadBalancer")
                            .contains("by address cluster 1, node 1, external 0, lb 1")
                            .contains("refused 1 source range");
                });
        screenshot("stats-service-types.png", 1366, 0);
        assertOnlySameOriginRequests(base);
        assertNoConsoleErrors();
    }

    /**
     * The "what if" card: a Service port card's link opens it with the port's recorded connections replayed under
     * other schedulers; its numbers are api/v1/simulate's, and the row of the scheduler in use is the live count.
     */
    @Test
    void theWhatIfCardReplaysTheRecordedConnectionsUnderOtherSchedulers() throws Exception {
        List<TestBackend> web = List.of(backend("127.0.0.236", "a"), backend("127.0.0.237", "b"),
                backend("127.0.0.238", "c"));
        StringBuilder yaml = new StringBuilder("""
                proxy: {admin: "127.0.10.239:0"}
                services:
                  - name: web
                    namespace: shop
                    clusterIP: 127.0.10.238
                    scheduler: rr
                    ports: [{name: http, port: 18238}]
                    endpoints:
                """);
        for (TestBackend b : web) {
            yaml.append("      - {ip: ").append(b.address().getAddress().getHostAddress()).append(", port: ")
                    .append(b.address().getPort()).append("}\n");
        }
        Path file = dir.resolve("svcproxy.yaml");
        write(file, yaml.toString());
        server = ProxyServer.start(ConfigLoader.load(file), Transport.select(), 2);
        // 40 short connections from 8 client addresses, one after the other (a few held across the next ones)
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Socket s = new Socket();
            s.setSoTimeout(5000);
            s.bind(new InetSocketAddress("127.0.10." + (242 + i % 8), 0));
            s.connect(new InetSocketAddress("127.0.10.238", 18238), 2000);
            echo(s, "hi".getBytes(StandardCharsets.UTF_8));
            open.add(s);
            if (i % 3 != 0) {
                open.remove(0).close();
            }
        }
        for (Socket s : open) {
            s.close();
        }
        io.svcproxy.proxy.dataplane.ServicePort port = server.table().servicePorts().get(0);
        await().atMost(Duration.ofSeconds(10)).until(() -> port.recent().total() == 40);
        String base = "http://127.0.10.239:" + server.adminAddress().getPort() + "/";
        driver = chromium();
        driver.get(base);
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions().until(() -> driver.findElement(By.cssSelector(
                "section.card[data-service='shop/web:http'] a.whatif-link")).isDisplayed());
        driver.findElement(By.cssSelector("section.card[data-service='shop/web:http'] a.whatif-link")).click();
        await("the card shows the replay").atMost(Duration.ofSeconds(15)).ignoreExceptions()
                .until(() -> "ready".equals(attribute("#whatif", "data-state")));
        assertThat(driver.getCurrentUrl()).endsWith("#whatif=shop%2Fweb%3Ahttp");
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> card = (Map<String, Map<String, Object>>) driver.executeScript("""
                const out = {};
                for (const tr of document.querySelectorAll('#whatif tr[data-scheduler]')) {
                  const row = out[tr.dataset.scheduler] = {inUse: tr.classList.contains('in-use'),
                      imbalance: tr.querySelector('.c-imbalance').textContent,
                      refused: tr.querySelector('.c-refused').textContent};
                  for (const td of tr.querySelectorAll('td[data-endpoint]')) row[td.dataset.endpoint] = td.dataset.connections;
                }
                return out;""");
        assertThat(card).containsOnlyKeys("rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "mh", "random");
        assertThat(text("#whatif-count")).startsWith("40 recorded connections");
        com.fasterxml.jackson.databind.JsonNode api = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                        base + "api/v1/simulate?service=shop/web&port=http&schedulers=rr,wrr,lc,wlc,sed,nq,sh,dh,mh,"
                                + "random"))
                        .build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body());
        for (Map.Entry<String, Map<String, Object>> row : card.entrySet()) {
            com.fasterxml.jackson.databind.JsonNode numbers = api.get("schedulers").get(row.getKey());
            for (com.fasterxml.jackson.databind.JsonNode e : numbers.get("endpoints")) {
                assertThat(row.getValue()).as(row.getKey()).containsEntry(e.get("endpoint").asText(),
                        e.get("connections").asText());
            }
            assertThat(row.getValue()).containsEntry("imbalance", String.format(java.util.Locale.ROOT, "%.3f",
                    numbers.get("imbalance").asDouble())).containsEntry("refused", numbers.get("refused").asText());
            assertThat(row.getValue().get("inUse")).isEqualTo(row.getKey().equals("rr"));
        }
        for (TestBackend b : web) { // rr is in use: its row is what the proxy did
            assertThat(card.get("rr")).containsEntry(endpoint(b), String.valueOf(b.acceptedConnections()));
        }
        screenshot("stats-whatif.png", 1366, 0);
        // the Service renamed while its what-if card is open: the card follows, as the Service port's card does
        write(file, yaml.toString().replace("name: web", "name: store"));
        await("the open what-if card follows the rename").atMost(Duration.ofSeconds(15)).ignoreExceptions()
                .until(() -> driver.getCurrentUrl().endsWith("#whatif=shop%2Fstore%3Ahttp")
                        && "ready".equals(attribute("#whatif", "data-state"))
                        && "shop/store:http".equals(attribute("#whatif", "data-service")));
        write(file, yaml.toString());
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
                .until(() -> "shop/web:http".equals(attribute("#whatif", "data-service")));
        driver.findElement(By.cssSelector("#whatif a.whatif-close")).click();
        await().atMost(Duration.ofSeconds(5)).until(() -> !driver.findElement(By.id("whatif")).isDisplayed());
        // a mangled link opens no card and does not stop the page
        driver.get(base + "#whatif=%E0%A4%A");
        driver.navigate().refresh();
        await("the page polls despite the link").atMost(Duration.ofSeconds(15)).ignoreExceptions()
                .until(() -> "live".equals(text("#live")) && driver.findElement(By.cssSelector(
                        "section.card[data-service='shop/web:http']")).isDisplayed());
        assertThat(driver.findElement(By.id("whatif")).isDisplayed()).isFalse();
        assertOnlySameOriginRequests(base);
        assertNoConsoleErrors();
    }

    /** Returns the config: Service shop/web (rr) over {@code web}, shop/cache (lc) over {@code cache}. */
    private static String config(List<TestBackend> web, TestBackend cache, String extraOnFirstEndpoint) {
        List<String> endpoints = new ArrayList<>();
        for (TestBackend backend : web) {
            String extra = endpoints.isEmpty() && !extraOnFirstEndpoint.isEmpty() ? ", " + extraOnFirstEndpoint : "";
            endpoints.add("{ip: " + backend.address().getAddress().getHostAddress() + ", port: "
                    + backend.address().getPort() + extra + "}");
        }
        return """
                proxy: {admin: "127.0.0.1:0", drainTimeout: 10m}
                services:
                  - name: web
                    namespace: shop
                    clusterIP: 127.0.10.77
                    scheduler: rr
                    ports: [{name: http, port: 18777}]
                    endpoints: [%s]
                  - name: cache
                    namespace: shop
                    clusterIP: 127.0.10.78
                    scheduler: lc
                    ports: [{port: 18778}]
                    endpoints: [{ip: %s, port: %d}]
                """.formatted(String.join(", ", endpoints), cache.address().getAddress().getHostAddress(), cache.address().getPort());
    }

    /** Replaces the file in one rename, so the watcher never reads it half-written. */
    @Test
    void showsTheIngressRulesWithTheirRequestsAndResponseCodes() throws Exception {
        TestBackend web = TestBackend.start(new InetSocketAddress("127.0.0.195", 0), "web-1", Mode.HTTP);
        backends.add(web);
        Path file = dir.resolve("svcproxy.yaml");
        write(file, """
                proxy:
                  admin: "127.0.0.1:0"
                  ingress: {http: "127.0.10.195:0"}
                services:
                  - name: web
                    namespace: shop
                    clusterIP: 127.0.10.196
                    ports: [{name: http, port: 18196}]
                    endpoints: [{ip: 127.0.0.195, port: %d}]
                  - name: empty
                    namespace: shop
                    clusterIP: 127.0.10.197
                    selector: {app: none}
                    ports: [{port: 18197}]
                ingresses:
                  - name: front
                    namespace: shop
                    defaultBackend: {service: {name: web, port: {name: http}}}
                    rules:
                      - host: shop.example
                        http:
                          paths:
                            - {path: /api, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
                            - {path: /soon, pathType: Exact, backend: {service: {name: empty, port: {number: 18197}}}}
                """.formatted(web.address().getPort()));
        server = ProxyServer.start(ConfigLoader.load(file), Transport.select(), 2);
        InetSocketAddress ingress = server.ingress().httpAddress();
        for (int i = 0; i < 3; i++) {
            assertThat(httpStatus(ingress, "shop.example", "/api/items")).isEqualTo(200);
        }
        assertThat(httpStatus(ingress, "shop.example", "/soon")).isEqualTo(503);
        assertThat(httpStatus(ingress, "other.example", "/")).isEqualTo(200); // the default backend
        driver = chromium();
        String base = "http://127.0.0.1:" + server.adminAddress().getPort() + "/";
        driver.get(base);
        await("the Ingress card shows each rule's requests and codes").atMost(Duration.ofSeconds(15))
                .ignoreExceptions().untilAsserted(() -> {
                    @SuppressWarnings("unchecked")
                    Map<String, Map<String, String>> rules = (Map<String, Map<String, String>>) driver.executeScript("""
                            const out = {};
                            for (const tr of document.querySelectorAll('#ingress tr[data-rule]')) {
                              const row = out[tr.dataset.rule] = {};
                              for (const td of tr.querySelectorAll('td')) {
                                const c = [...td.classList].find(k => k.startsWith('c-'));
                                if (c) row[c.substring(2)] = td.textContent.trim();
                              }
                            }
                            return out;""");
                    assertThat(rules).containsOnlyKeys("shop/front shop.example Prefix /api",
                            "shop/front shop.example Exact /soon", "shop/front default");
                    Map<String, String> api = rules.get("shop/front shop.example Prefix /api");
                    assertThat(api).containsEntry("backend", "shop/web:http").containsEntry("endpoints", "1")
                            .containsEntry("hits", "3").containsEntry("codes", "200 \u00d73");
                    assertThat(rules.get("shop/front shop.example Exact /soon")).containsEntry("endpoints", "0")
                            .containsEntry("codes", "503 \u00d71");
                    assertThat(rules.get("shop/front default")).containsEntry("host", "default backend")
                            .containsEntry("hits", "1");
                    assertThat(text("#ingress .addr")).isEqualTo("http " + "127.0.10.195:" + ingress.getPort());
                });
        assertThat(attribute("#ingress", "hidden")).isNull();
        screenshot("stats-ingress.png", 1366, 0);
        assertOnlySameOriginRequests(base);
        assertNoConsoleErrors();
    }

    /** Sends one GET with a Host header to the Ingress and returns the status code. */
    private static int httpStatus(InetSocketAddress ingress, String host, String path) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(ingress, 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            return Integer.parseInt(response.substring(9, 12));
        }
    }

    private static void write(Path file, String content) throws IOException {
        Path next = file.resolveSibling(file.getFileName() + ".next");
        Files.writeString(next, content);
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static Socket open(String ip, int port, String greeting) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(5000);
        s.connect(new InetSocketAddress(ip, port), 2000);
        echo(s, greeting.getBytes(StandardCharsets.UTF_8));
        return s;
    }

    private static void echo(Socket s, byte[] bytes) throws IOException {
        s.getOutputStream().write(bytes);
        assertThat(s.getInputStream().readNBytes(bytes.length)).isEqualTo(bytes);
    }

    /** Echoes a few KiB through every held connection, five times a second, so the charts have a shape. */
    private void traffic(Duration duration) throws Exception {
        long end = System.nanoTime() + duration.toNanos();
        for (int round = 0; System.nanoTime() < end; round++) {
            for (int i = 0; i < held.size(); i++) {
                echo(held.get(i), new byte[1024 * (4 + (round + 3 * i) % 9)]);
            }
            Thread.sleep(200);
        }
    }

    private ChromeDriver chromium() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // The flags this machine needs (java-maven.md): no sandbox as root, no background connections that a
        // closed network refuses, a fresh profile.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--window-size=1366,900", "--lang=en-US", "--user-data-dir=" + dir.resolve("profile"));
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        return new ChromeDriver(service, options);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Map<String, Map<String, String>>> rows() {
        return (Map<String, Map<String, Map<String, String>>>) driver.executeScript(READ_ROWS);
    }

    private String text(String selector) {
        return ((String) driver.executeScript("return document.querySelector(arguments[0]).textContent",
                selector)).strip();
    }

    private String attribute(String selector, String name) {
        return driver.findElement(By.cssSelector(selector)).getAttribute(name);
    }

    /**
     * Saves a PNG of the page {@code width} CSS pixels wide (device scale 1): the viewport {@code width} x
     * {@code height}, or the whole page when {@code height} is 0. Waits for one more refresh after resizing.
     */
    private void screenshot(String name, int width, int height) throws Exception {
        // still pictures: no highlight of the cells that just changed (the page honours reduced motion)
        driver.executeCdpCommand("Emulation.setEmulatedMedia", Map.of("features",
                List.of(Map.of("name", "prefers-reduced-motion", "value", "reduce"))));
        boolean mobile = width < 600;
        metrics(width, height > 0 ? height : 200, mobile); // a short viewport first, so that the page's height shows
        if (height == 0) {
            long full = (Long) driver.executeScript("return document.documentElement.scrollHeight");
            metrics(width, (int) full, mobile);
        }
        String polls = attribute("body", "data-polls");
        await().atMost(Duration.ofSeconds(5)).until(() -> !polls.equals(attribute("body", "data-polls")));
        Map<String, Object> shot = driver.executeCdpCommand("Page.captureScreenshot",
                Map.of("format", "png", "fromSurface", true));
        Files.createDirectories(SCREENSHOTS);
        Path png = SCREENSHOTS.resolve(name);
        Files.write(png, Base64.getDecoder().decode((String) shot.get("data")));
        assertThat(Files.size(png)).as(png.toString()).isGreaterThan(10_000);
    }

    private void metrics(int width, int height, boolean mobile) {
        Map<String, Object> params = new HashMap<>();
        params.put("width", width);
        params.put("height", height);
        params.put("deviceScaleFactor", 1);
        params.put("mobile", mobile);
        driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", params);
    }

    private void assertOnlySameOriginRequests(String base) {
        @SuppressWarnings("unchecked")
        List<String> urls = (List<String>) driver.executeScript(
                "return performance.getEntriesByType('resource').map(e => e.name)");
        assertThat(urls).isNotEmpty().allSatisfy(url -> assertThat(url).startsWith(base));
    }

    private void assertNoConsoleErrors() {
        List<String> severe = new ArrayList<>();
        for (LogEntry entry : driver.manage().logs().get(LogType.BROWSER)) {
            if (entry.getLevel().intValue() >= Level.SEVERE.intValue()) {
                severe.add(entry.getMessage());
            }
        }
        assertThat(severe).as("browser console errors (CSP violations, script errors)").isEmpty();
    }
}
