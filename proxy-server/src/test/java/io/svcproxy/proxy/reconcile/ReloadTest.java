package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Applying changed configs to a running proxy: by difference, without cutting established connections. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ReloadTest {
    static final String VIP = "127.0.10.5";

    @TempDir
    Path dir;

    final Map<String, TestBackend> backends = new LinkedHashMap<>();
    ProxyServer server;

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close();
        }
        backends.values().forEach(TestBackend::close);
    }

    TestBackend backend(String name, String ip, Mode mode) throws Exception {
        TestBackend b = TestBackend.start(new InetSocketAddress(ip, 0), name, mode);
        backends.put(name, b);
        return b;
    }

    static String endpoint(TestBackend b, int weight) {
        return "{ip: " + b.address().getAddress().getHostAddress() + ", port: " + b.address().getPort()
                + ", weight: " + weight + "}";
    }

    static String config(String proxy, String... services) {
        StringBuilder yaml = new StringBuilder("proxy: {admin: off" + proxy + "}\nservices:\n");
        for (String s : services) {
            yaml.append(s);
        }
        return yaml.toString();
    }

    static String service(String name, int port, String scheduler, String... endpoints) {
        return "  - name: " + name + "\n    clusterIP: " + VIP + "\n    scheduler: " + scheduler
                + "\n    ports: [{port: " + port + "}]\n    endpoints: [" + String.join(", ", endpoints) + "]\n";
    }

    /** {@link #service} at another clusterIP: the same Service port, moved there. */
    static String serviceAt(String clusterIP, String name, int port, String scheduler, String... endpoints) {
        return service(name, port, scheduler, endpoints).replace("clusterIP: " + VIP, "clusterIP: " + clusterIP);
    }

    static Socket connectTo(String clusterIP, int port) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(5000);
        s.connect(new InetSocketAddress(clusterIP, port), 2000);
        return s;
    }

    ProxyConfig parse(String yaml) throws Exception {
        Path file = dir.resolve("svcproxy.yaml");
        Files.writeString(file, yaml);
        return ConfigLoader.load(file);
    }

    void start(String yaml) throws Exception {
        server = ProxyServer.start(parse(yaml), Transport.select(), 2);
    }

    void reload(String yaml) throws Exception {
        server.reload(parse(yaml));
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(5000);
        s.connect(new InetSocketAddress(VIP, port), 2000);
        return s;
    }

    static String name(int port) throws IOException {
        try (Socket s = connect(port)) {
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        }
    }

    static String echo(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
        return new String(s.getInputStream().readNBytes(text.length()), StandardCharsets.UTF_8);
    }

    ServicePort port(int port) {
        return server.table().servicePorts().stream().filter(p -> p.key().port() == port).findFirst().orElseThrow();
    }

    @Test
    void addedAndReweightedEndpointsTakeEffect() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.NAME);
        TestBackend b = backend("B", "127.0.0.12", Mode.NAME);
        start(config("", service("web", 18090, "wrr", endpoint(a, 1))));
        assertThat(name(18090)).isEqualTo("A");
        reload(config("", service("web", 18090, "wrr", endpoint(a, 1), endpoint(b, 2))));
        StringBuilder seq = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            seq.append(name(18090));
        }
        // ip_vs_wrr_dest_changed: the scan restarts at the head and cw (1) is kept since it is <= the new max
        assertThat(seq.toString()).isEqualTo("ABBABB");
        reload(config("", service("web", 18090, "wrr", endpoint(a, 0), endpoint(b, 2))));
        for (int i = 0; i < 4; i++) {
            assertThat(name(18090)).isEqualTo("B");
        }
        assertThat(server.table().version()).isEqualTo(3);
    }

    @Test
    void changingTheSchedulerKeepsTheListener() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.NAME);
        TestBackend b = backend("B", "127.0.0.12", Mode.NAME);
        start(config("", service("web", 18091, "rr", endpoint(a, 1), endpoint(b, 1))));
        assertThat(List.of(name(18091), name(18091))).containsExactly("A", "B");
        reload(config("", service("web", 18091, "sh", endpoint(a, 1), endpoint(b, 1))));
        assertThat(port(18091).backendSet().schedulerName()).isEqualTo("sh");
        String first = name(18091);
        for (int i = 0; i < 4; i++) {
            assertThat(name(18091)).isEqualTo(first);
        }
    }

    @Test
    void anUnchangedEndpointListKeepsTheRoundRobinPosition() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.NAME);
        TestBackend b = backend("B", "127.0.0.12", Mode.NAME);
        TestBackend c = backend("C", "127.0.0.13", Mode.NAME);
        String svc = service("web", 18092, "rr", endpoint(a, 1), endpoint(b, 1), endpoint(c, 1));
        start(config("", svc));
        assertThat(name(18092)).isEqualTo("A");
        reload(config(", connectTimeout: 3s", svc)); // another change, same list
        assertThat(name(18092)).isEqualTo("B");
    }

    @Test
    void aReloadThatLeavesAServicePortAsItWasKeepsItsVerySetAndSaysNothingOfIt() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.NAME);
        String svc = service("web", 18099, "rr", endpoint(a, 1));
        start(config("", svc));
        io.svcproxy.balancer.BackendSet before = port(18099).backendSet();
        ch.qos.logback.classic.Logger reconciler =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(Reconciler.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log =
                new ch.qos.logback.core.read.ListAppender<>();
        log.start();
        reconciler.addAppender(log);
        try {
            reload(config(", connectTimeout: 3s", svc)); // another change, this port's the same (helper-90's review)
        } finally {
            reconciler.detachAppender(log);
        }
        assertThat(port(18099).backendSet()).as("the set in force stays").isSameAs(before);
        assertThat(log.list).as("every reload logged every port as updated")
                .noneMatch(e -> e.getFormattedMessage().startsWith("Updated service port"));
    }

    @Test
    void aRemovedEndpointDrainsItsConnectionsThenResetsThemAtDrainTimeout() throws Exception {
        // endpoint A: a plain echo that tells how its connection ended (EOF or reset)
        java.util.concurrent.atomic.AtomicReference<String> endedAs = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
        try (java.net.ServerSocket a = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.11"))) {
            Thread echoA = new Thread(() -> {
                try (Socket s = a.accept()) {
                    accepted.incrementAndGet();
                    byte[] buffer = new byte[1024];
                    int n;
                    while ((n = s.getInputStream().read(buffer)) > 0) {
                        s.getOutputStream().write(buffer, 0, n);
                    }
                    endedAs.set("eof");
                } catch (IOException e) {
                    endedAs.set(String.valueOf(e.getMessage()));
                }
            }, "echo-a");
            echoA.setDaemon(true);
            echoA.start();
            TestBackend b = backend("B", "127.0.0.12", Mode.ECHO);
            String endpointA = "{ip: 127.0.0.11, port: " + a.getLocalPort() + ", weight: 1}";
            start(config(", drainTimeout: 2s", service("web", 18093, "rr", endpointA, endpoint(b, 1))));
            try (Socket onA = connect(18093)) {
                assertThat(echo(onA, "a")).isEqualTo("a");
                reload(config(", drainTimeout: 2s", service("web", 18093, "rr", endpoint(b, 1))));
                BackendState draining = port(18093).backendSet().backends().get(0);
                assertThat(draining.state()).isEqualTo(BackendState.State.DRAINING);
                assertThat(draining.weight()).isZero();
                assertThat(draining.activeConnections()).isEqualTo(1);
                for (int i = 0; i < 5; i++) {
                    try (Socket s = connect(18093)) {
                        assertThat(echo(s, "new")).isEqualTo("new");
                    }
                }
                assertThat(accepted.get()).isEqualTo(1); // no new connection went to the drained endpoint
                assertThat(echo(onA, "still")).isEqualTo("still");
                long removedAt = System.nanoTime();
                // cut at drainTimeout (2 s, swept each 1 s): a reset, not a FIN that would read as a complete stream
                assertThatThrownBy(() -> onA.getInputStream().read()).isInstanceOf(java.net.SocketException.class)
                        .hasMessageContaining("reset");
                assertThat(Duration.ofNanos(System.nanoTime() - removedAt)).isLessThan(Duration.ofSeconds(5));
                await().atMost(Duration.ofSeconds(5)).until(() -> endedAs.get() != null);
                assertThat(endedAs.get()).as("the endpoint is reset too").contains("reset");
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> port(18093).backendSet().backends().size() == 1);
        }
    }

    @Test
    void aDrainingEndpointLeavesTheListOnceItsLastConnectionEnds() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.ECHO);
        TestBackend b = backend("B", "127.0.0.12", Mode.ECHO);
        start(config("", service("web", 18094, "rr", endpoint(a, 1), endpoint(b, 1))));
        Socket onA = connect(18094);
        assertThat(echo(onA, "a")).isEqualTo("a");
        reload(config("", service("web", 18094, "rr", endpoint(b, 1))));
        assertThat(port(18094).backendSet().backends()).hasSize(2);
        onA.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> port(18094).backendSet().backends().size() == 1);
        assertThat(port(18094).backendSet().backends().get(0).address().getHostAddress()).isEqualTo("127.0.0.12");
    }

    @Test
    void addedAndRemovedServicesAreBoundAndUnbound() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.ECHO);
        start(config(", drainTimeout: 30s", service("one", 18095, "rr", endpoint(a, 1))));
        assertThatThrownBy(() -> connect(18096)).isInstanceOf(IOException.class);
        reload(config(", drainTimeout: 30s", service("one", 18095, "rr", endpoint(a, 1)),
                service("two", 18096, "rr", endpoint(a, 1))));
        try (Socket held = connect(18095)) {
            assertThat(echo(held, "x")).isEqualTo("x");
            try (Socket s = connect(18096)) {
                assertThat(echo(s, "two")).isEqualTo("two");
            }
            reload(config(", drainTimeout: 30s", service("two", 18096, "rr", endpoint(a, 1))));
            assertThatThrownBy(() -> connect(18095)).isInstanceOf(IOException.class);
            assertThat(echo(held, "kept")).isEqualTo("kept"); // established connections outlive their listener
        }
        assertThat(server.table().keys()).hasSize(1);
    }

    @Test
    void aRemovedServicePortKeepsItsSeriesWhileItsConnectionsDrainWithEveryEndpointDraining() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.ECHO);
        start(config(", drainTimeout: 30s", service("one", 18097, "rr", endpoint(a, 1)),
                service("two", 18098, "rr", endpoint(a, 1))));
        io.micrometer.core.instrument.MeterRegistry registry = server.meterRegistry();
        try (Socket held = connect(18097)) {
            assertThat(echo(held, "x")).isEqualTo("x");
            reload(config(", drainTimeout: 30s", service("two", 18098, "rr", endpoint(a, 1))));
            assertThat(echo(held, "kept")).isEqualTo("kept");
            // the bytes of a draining connection are still counted, under its Service's series
            assertThat(registry.find("svcproxy.bytes").tag("service", "default/one").tag("direction", "to_endpoint")
                    .functionCounter().count()).isEqualTo(5);
            assertThat(registry.find("svcproxy.endpoints").tag("service", "default/one").tag("state", "draining")
                    .gauge().value()).isEqualTo(1);
            assertThat(registry.find("svcproxy.endpoints").tag("service", "default/one").tag("state", "ready")
                    .gauge().value()).isZero();
            assertThat(registry.find("svcproxy.connections.active").tag("service", "default/one").gauge().value())
                    .isEqualTo(1);
        }
        // its last connection closed: the sweep (every second) removes the port and its series
        await().atMost(Duration.ofSeconds(5)).until(() -> registry.find("svcproxy.bytes")
                .tag("service", "default/one").functionCounters().isEmpty());
        assertThat(registry.find("svcproxy.endpoints").tag("service", "default/one").gauges()).isEmpty();
        assertThat(registry.find("svcproxy.bytes").tag("service", "default/two").functionCounters()).hasSize(2);
    }

    @Test
    void aKeyThatTakesEffectAtRestartIsWarnedOfAgainstTheValueInForceNotTheLastReload() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.ECHO);
        start(config(", vipInterface: \"\"", service("web", 18092, "rr", endpoint(a, 1))));
        Logger logger = (Logger) LoggerFactory.getLogger(ProxyServer.class);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
        try {
            reload(config(", vipInterface: svc0", service("web", 18092, "rr", endpoint(a, 1))));
            reload(config(", vipInterface: svc0", service("web", 18092, "rr", endpoint(a, 2)))); // another change
            reload(config(", vipInterface: \"\"", service("web", 18092, "rr", endpoint(a, 2)))); // back
        } finally {
            logger.detachAppender(log);
        }
        assertThat(log.list).filteredOn(e -> e.getFormattedMessage().startsWith("proxy.vipInterface"))
                .extracting(e -> e.getLevel() + " " + e.getFormattedMessage()).containsExactly(
                        "WARN proxy.vipInterface changed from '' to 'svc0': takes effect at restart",
                        "INFO proxy.vipInterface back to the value in force: ''");
    }

    @Test
    void aServicePortThatMovesTakesItsEndpointsCountersAlongAndTheirSeriesStay() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.ECHO);
        start(config("", service("web", 18091, "rr", endpoint(a, 1))));
        io.micrometer.core.instrument.MeterRegistry registry = server.meterRegistry();
        String endpoint = "127.0.0.11:" + a.address().getPort();
        java.util.function.DoubleSupplier total = () -> registry.find("svcproxy.connections")
                .tag("service", "default/web").tag("endpoint", endpoint).functionCounter().count();
        io.svcproxy.balancer.ConnectionCounters before = port(18091).backendSet().backends().get(0).counters();
        try (Socket held = connect(18091)) {
            assertThat(echo(held, "x")).isEqualTo("x");
            reload(config("", serviceAt("127.0.10.63", "web", 18091, "rr", endpoint(a, 1)))); // moved
            assertThat(port(18091).backendSet().backends().get(0).counters()).as("health and counts move along")
                    .isSameAs(before);
            try (Socket s = connectTo("127.0.10.63", 18091)) {
                assertThat(echo(s, "new")).isEqualTo("new");
            }
            assertThat(total.getAsDouble()).isEqualTo(2);
        }
        // the old address's last connection closed: the sweep drops the old port, the series stay with the new one
        await().atMost(Duration.ofSeconds(5)).until(() -> server.table().keys().size() == 1
                && port(18091).connections().isEmpty());
        Thread.sleep(1500); // a sweep (every second) has run
        try (Socket s = connectTo("127.0.10.63", 18091)) {
            assertThat(echo(s, "again")).isEqualTo("again");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> total.getAsDouble() == 3);
    }

    @Test
    void aMovedPortKeepsItsCountsAndAnEjectionThroughItsPredecessorShowsInItsList() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.ECHO);
        TestBackend b = backend("B", "127.0.0.12", Mode.ECHO);
        start(config("", service("web", 18088, "rr", endpoint(a, 1), endpoint(b, 1))));
        io.micrometer.core.instrument.MeterRegistry registry = server.meterRegistry();
        java.util.function.DoubleSupplier bytes = () -> registry.find("svcproxy.bytes").tag("service", "default/web")
                .tag("direction", "to_endpoint").functionCounter().count();
        ServicePort old = port(18088);
        try (Socket s = connect(18088)) {
            assertThat(echo(s, "xyz")).isEqualTo("xyz");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> bytes.getAsDouble() == 3);
        reload(config("", serviceAt("127.0.10.64", "web", 18088, "rr", endpoint(a, 1), endpoint(b, 1)))); // moved
        assertThat(server.table().keys()).singleElement().asString().contains("127.0.10.64");
        assertThat(bytes.getAsDouble()).as("the counts of the old address stay in the labels' totals").isEqualTo(3);
        // a connect still under way on the old port fails and ejects B: the port in force shows it out of service
        old.maybeEject(old.backendSet().backends().get(1), 5, io.svcproxy.config.OutlierDetection.defaults(), "");
        await().atMost(Duration.ofSeconds(5)).until(() -> port(18088).backendSet().backends().get(1).state()
                == BackendState.State.EJECTED);
    }

    @Test
    void aServicePortThatMovesKeepsServingAtItsOldAddressUntilTheNewOneCanBeBound() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.ECHO);
        start(config("", service("web", 18098, "rr", endpoint(a, 1))));
        try (java.net.ServerSocket squatter = new java.net.ServerSocket()) {
            squatter.bind(new InetSocketAddress(VIP, 18099));
            try (Socket held = connect(18098)) {
                reload(config("", service("web", 18099, "rr", endpoint(a, 1))));
                assertThat(echo(held, "kept")).isEqualTo("kept");
                try (Socket s = connect(18098)) { // the last good config keeps serving
                    assertThat(echo(s, "old")).isEqualTo("old");
                }
                assertThat(server.table().isReady()).isFalse();
                assertThat(server.table().lastReload().result()).isEqualTo("applied");
                assertThat(server.table().lastReload().errors()).isEmpty();
                assertThat(server.table().unbound()).singleElement().asString()
                        .startsWith("cannot bind " + VIP + ":18099");
                squatter.close();
                await().atMost(Duration.ofSeconds(5)).until(() -> server.table().isReady());
                assertThat(server.table().unbound()).isEmpty();
                assertThat(echo(held, "still")).isEqualTo("still");
            }
        }
        try (Socket s = connect(18099)) {
            assertThat(echo(s, "new")).isEqualTo("new");
        }
        assertThatThrownBy(() -> connect(18098)).isInstanceOf(IOException.class);
        assertThat(server.table().keys()).extracting(k -> k.port()).containsExactly(18099);
    }

    @Test
    void aDualStackServicesPortsMoveEachInItsFamily() throws Exception {
        io.svcproxy.config.ServicePortSpec v4 = io.svcproxy.config.ServicePorts.resolve(
                parse(config("", service("web", 18102, "rr")))).get(0);
        io.svcproxy.config.ServicePortSpec v4Moved = new io.svcproxy.config.ServicePortSpec(
                new io.svcproxy.config.ServiceKey(v4.key().clusterIP(), 18103, v4.key().protocol()), v4.service(),
                v4.port(), v4.endpoints());
        io.svcproxy.config.ServicePortSpec v6 = new io.svcproxy.config.ServicePortSpec(
                new io.svcproxy.config.ServiceKey(java.net.InetAddress.getByName("::1"), 18102, v4.key().protocol()),
                v4.service(), v4.port(), v4.endpoints());
        assertThat(Reconciler.PortIdentity.of(v4Moved)).as("another port: the same Service port")
                .isEqualTo(Reconciler.PortIdentity.of(v4));
        assertThat(Reconciler.PortIdentity.of(v6)).as("the other family's, which moves on its own")
                .isNotEqualTo(Reconciler.PortIdentity.of(v4));
    }

    @Test
    void aServicePortThatMovesHandsItsNodePortOver() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.ECHO);
        String node = ", nodeAddresses: [127.0.30.1]";
        start(config(node, service("web", 18100, "rr", endpoint(a, 1)).replace("ports: [{port: 18100}]",
                "type: NodePort\n    ports: [{port: 18100, nodePort: 30100}]")));
        reload(config(node, service("web", 18101, "rr", endpoint(a, 1)).replace("ports: [{port: 18101}]",
                "type: NodePort\n    ports: [{port: 18101, nodePort: 30100}]")));
        assertThat(server.table().isReady()).isTrue();
        assertThat(server.table().lastReload().errors()).isEmpty();
        try (Socket s = new Socket()) {
            s.setSoTimeout(5000);
            s.connect(new InetSocketAddress("127.0.30.1", 30100), 2000);
            assertThat(echo(s, "node")).isEqualTo("node");
        }
        assertThatThrownBy(() -> connect(18100)).isInstanceOf(IOException.class);
    }

    @Test
    void aRejectedFileKeepsTheLastGoodConfigServing() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.NAME);
        start(config("", service("web", 18097, "rr", endpoint(a, 1))));
        Files.writeString(dir.resolve("svcproxy.yaml"), "services:\n  - name: web\n    clusterIP: 10.0.0.300\n");
        assertThat(server.reloadFromFile()).isFalse();
        assertThat(name(18097)).isEqualTo("A");
        assertThat(server.meterRegistry().find("svcproxy.config.reloads").tag("result", "rejected").counter()
                .count()).isEqualTo(1);
        assertThat(server.table().version()).isEqualTo(1);
    }

    @Test
    void aBadEditUndoneClearsTheRejectionItReported() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.NAME);
        String good = config("", service("web", 18097, "rr", endpoint(a, 1)));
        start(good);
        Files.writeString(dir.resolve("svcproxy.yaml"), good.replace("scheduler: rr", "scheduler: lcx"));
        assertThat(server.reloadFromFile()).isFalse();
        assertThat(server.table().lastReload().result()).isEqualTo("rejected");
        Files.writeString(dir.resolve("svcproxy.yaml"), good);
        server.reloadFromFile();
        assertThat(server.table().lastReload().result()).isEqualTo("applied");
        assertThat(server.table().lastReload().errors()).isEmpty();
        assertThat(server.table().version()).as("nothing to apply").isEqualTo(1);
        assertThat(name(18097)).isEqualTo("A");
    }

    @Test
    void editsToTheConfigAndRegistryFilesAreInEffectWithinTwoSeconds() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.NAME);
        TestBackend b = backend("B", "127.0.0.12", Mode.NAME);
        Path pods = dir.resolve("pods.yaml");
        Files.writeString(pods, "pods:\n  - {name: a, ip: 127.0.0.11, labels: {app: web}, ports: [{name: http, "
                + "containerPort: " + a.address().getPort() + "}]}\n");
        String yaml = """
                proxy: {admin: off}
                registry: {files: [pods.yaml]}
                services:
                  - name: web
                    clusterIP: %s
                    selector: {app: web}
                    ports: [{port: 18099, targetPort: http}]
                """.formatted(VIP);
        start(yaml);
        assertThat(name(18099)).isEqualTo("A");
        // the registry file: Pod a leaves, Pod b comes (replaced by a rename, as editors do)
        Path tmp = dir.resolve(".pods.yaml.tmp");
        Files.writeString(tmp, "pods:\n  - {name: b, ip: 127.0.0.12, labels: {app: web}, ports: [{name: http, "
                + "containerPort: " + b.address().getPort() + "}]}\n");
        Files.move(tmp, pods, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        await().atMost(Duration.ofSeconds(2)).until(() -> name(18099).equals("B"));
        // the config file, rewritten in place: a second port
        Files.writeString(dir.resolve("svcproxy.yaml"), yaml.replace("ports: [{port: 18099, targetPort: http}]",
                "ports: [{name: one, port: 18099, targetPort: http}, {name: two, port: 18089, targetPort: http}]"));
        await().atMost(Duration.ofSeconds(2)).until(() -> {
            try {
                return name(18089).equals("B");
            } catch (IOException e) {
                return false;
            }
        });
        // a broken edit is rejected and counted; the last good config keeps serving
        Files.writeString(dir.resolve("svcproxy.yaml"), "services: [{name: web, clusterIP: nope}]\n");
        await().atMost(Duration.ofSeconds(2)).until(() -> server.meterRegistry().find("svcproxy.config.reloads")
                .tag("result", "rejected").counter().count() == 1);
        assertThat(name(18089)).isEqualTo("B");
        assertThat(name(18099)).isEqualTo("B");
    }

    @Test
    void fiftyReloadsUnderLoadLoseNoConnection() throws Exception {
        TestBackend a = backend("A", "127.0.0.11", Mode.ECHO);
        TestBackend b = backend("B", "127.0.0.12", Mode.ECHO);
        TestBackend c = backend("C", "127.0.0.13", Mode.ECHO);
        List<String> sets = List.of(
                service("web", 18098, "rr", endpoint(a, 1), endpoint(b, 1)),
                service("web", 18098, "wlc", endpoint(b, 2), endpoint(c, 1)),
                service("web", 18098, "sh", endpoint(a, 1), endpoint(c, 3)),
                service("web", 18098, "rr", endpoint(a, 1), endpoint(b, 1), endpoint(c, 1)));
        start(config(", drainTimeout: 60s", sets.get(0)));
        List<Socket> longLived = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Socket s = connect(18098);
            assertThat(echo(s, "hello-" + i)).isEqualTo("hello-" + i);
            longLived.add(s);
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(3);
        List<Future<?>> loops = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            loops.add(clients.submit(() -> {
                for (int i = 0; i < 20_000 && !stop.get(); i++) { // bounded: stops itself
                    try (Socket s = connect(18098)) {
                        if (echo(s, "req" + i).equals("req" + i)) {
                            ok.incrementAndGet();
                        } else {
                            failed.incrementAndGet();
                        }
                    } catch (IOException e) {
                        failed.incrementAndGet();
                    }
                }
            }));
        }
        try {
            // 50 edits of the watched file; each is in effect before the next (within 2 s, as SPEC says)
            for (int i = 1; i <= 50; i++) {
                long before = server.table().version();
                Files.writeString(dir.resolve("svcproxy.yaml"), config(", drainTimeout: 60s",
                        sets.get(i % sets.size())));
                await().atMost(Duration.ofSeconds(2)).until(() -> server.table().version() > before);
            }
        } finally {
            stop.set(true);
            for (Future<?> loop : loops) {
                loop.get(60, TimeUnit.SECONDS);
            }
            clients.shutdownNow();
        }
        assertThat(failed.get()).isZero();
        assertThat(ok.get()).isGreaterThan(50);
        for (int i = 0; i < longLived.size(); i++) {
            assertThat(echo(longLived.get(i), "after-" + i)).isEqualTo("after-" + i);
            longLived.get(i).close();
        }
        assertThat(server.table().version()).isEqualTo(51);
        assertThat(server.meterRegistry().find("svcproxy.config.reloads").tag("result", "applied").counter()
                .count()).isEqualTo(50);
    }
}
