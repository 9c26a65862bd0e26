package io.svcproxy.proxy.simulate;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.balancer.sim.Connection;
import io.svcproxy.balancer.sim.SchedulerResult;
import io.svcproxy.balancer.sim.Simulation;
import io.svcproxy.balancer.sim.Target;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The simulator picks what the live proxy picked, connection for connection: a generated sequence of connections
 * (which client address opens one, how many of the open ones close first) goes through a {@link ProxyServer} on
 * loopback with the connection log on, once per scheduler, each from a fresh proxy; the log is then replayed by
 * {@link Simulation} (per-connection endpoints) and by {@link SimulationRun}, the code of {@code svcproxy
 * simulate} (per-endpoint counts), and both must equal what the proxy did. Each step waits until the proxy has
 * taken or released the lease, so the order of starts and ends the log records is the order the proxy saw.
 *
 * <p>{@code random} is left out: the proxy draws from each event loop's own generator, so it is not
 * deterministic given the sequence (the simulator's {@code --seed} makes only the replay repeatable).
 */
class SimulatorMatchesProxyPropertyTest {
    static final List<String> SCHEDULERS = List.of("rr", "wrr", "lc", "wlc", "sed", "nq", "dh", "sh", "mh");
    private static final String CLUSTER_IP = "127.0.10.210";
    private static final int PORT = 18210;
    private static final int CLIENTS = 30; // 127.0.10.220 .. 127.0.10.249
    private static final int MAX_OPEN = 6;
    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\": (\"(?:[^\"\\\\]|\\\\.)*\"|[0-9.]+)");

    private static final List<TestBackend> backends = new ArrayList<>();

    @BeforeContainer
    static void startBackends() throws Exception {
        for (int i = 0; i < 3; i++) {
            backends.add(TestBackend.start(new InetSocketAddress("127.0.0.21" + i, 0), "e" + i,
                    TestBackend.Mode.ECHO));
        }
    }

    @AfterContainer
    static void stopBackends() {
        backends.forEach(TestBackend::close);
        backends.clear();
    }

    @Provide
    Arbitrary<List<SettledTraffic.Step>> steps() {
        Arbitrary<SettledTraffic.Step> step = Combinators.combine(Arbitraries.integers().between(0, CLIENTS - 1),
                Arbitraries.integers().between(0, 2).withDistribution(
                        net.jqwik.api.RandomDistribution.uniform())).as(SettledTraffic.Step::new);
        return step.list().ofMinSize(200).ofMaxSize(300);
    }

    @Provide
    Arbitrary<List<Integer>> weights() {
        return Arbitraries.integers().between(1, 4).list().ofSize(3);
    }

    @Property(tries = 3, shrinking = net.jqwik.api.ShrinkingMode.OFF)
    void everySchedulerPicksInTheReplayWhatTheProxyPicked(@ForAll("steps") List<SettledTraffic.Step> steps,
                                                           @ForAll("weights") List<Integer> weights)
            throws Exception {
        for (String scheduler : SCHEDULERS) {
            Path dir = Files.createTempDirectory("svcproxy-simprop-");
            try {
                check(scheduler, steps, weights, dir);
            } finally {
                try (var files = Files.list(dir)) {
                    for (Path f : files.toList()) {
                        Files.deleteIfExists(f);
                    }
                }
                Files.deleteIfExists(dir);
            }
        }
    }

    private static void check(String scheduler, List<SettledTraffic.Step> steps, List<Integer> weights, Path dir) throws Exception {
        Path log = dir.resolve("connections.log");
        StringBuilder yaml = new StringBuilder("proxy: {admin: off, connectionLog: " + log + "}\n"
                + "services:\n  - name: web\n    namespace: sim\n    clusterIP: " + CLUSTER_IP + "\n"
                + "    scheduler: " + scheduler + "\n    ports: [{port: " + PORT + "}]\n    endpoints:\n");
        for (int i = 0; i < backends.size(); i++) {
            InetSocketAddress a = backends.get(i).address();
            yaml.append("      - {ip: ").append(a.getAddress().getHostAddress()).append(", port: ")
                    .append(a.getPort()).append(", weight: ").append(weights.get(i)).append("}\n");
        }
        ProxyConfig config = ConfigLoader.parse(yaml.toString(), "sim.yaml");
        Map<String, Long> live = new LinkedHashMap<>();
        try (ProxyServer server = ProxyServer.start(config, Transport.select(), 2)) {
            ServicePort port = server.table().servicePorts().get(0);
            List<String> clients = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                clients.add("127.0.10." + (220 + i));
            }
            SettledTraffic.drive(port, new InetSocketAddress(CLUSTER_IP, PORT), steps, clients, MAX_OPEN, s -> {
                s.getOutputStream().write(7);
                assertThat(s.getInputStream().read()).isEqualTo(7); // relayed: the lease is established
            });
            for (BackendState b : port.backendSet().backends()) {
                live.put(b.endpoint(), b.counters().total());
            }
        } // close() writes what the log queued
        List<Map<String, String>> lines = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            lines.add(fields(line));
        }
        assertThat(lines).as(scheduler).hasSize(steps.size());

        // per connection: the replay's pick against the endpoint the proxy logged, in start order (ties: file order)
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingLong((Integer i) -> micros(lines.get(i).get("start"))).thenComparing(i -> i));
        List<String> replayed = new ArrayList<>();
        List<Target> targets = new ArrayList<>();
        for (int i = 0; i < backends.size(); i++) {
            InetSocketAddress a = backends.get(i).address();
            targets.add(new Target(a.getAddress(), a.getPort(), weights.get(i)));
        }
        Simulation sim = Simulation.create(List.of(scheduler), Set.of(), SessionAffinity.NONE,
                InetAddress.getByName(CLUSTER_IP), targets, List.of(), 1).onPick((s, c, e) -> replayed.add(e));
        List<String> logged = new ArrayList<>();
        for (int i : order) {
            Map<String, String> l = lines.get(i);
            sim.accept(new Connection(micros(l.get("start")) * 1000, InetAddress.getByName(l.get("client")),
                    Integer.parseInt(l.get("clientPort")), micros(l.get("duration")) * 1000));
            logged.add(l.get("endpoint"));
        }
        sim.finish();
        assertThat(replayed).as("%s weights %s: replayed picks against logged ones", scheduler, weights)
                .isEqualTo(logged);

        // per endpoint: svcproxy simulate's own path over the log file against the proxy's counters
        SimulationRun.Report report = SimulationRun.run(config, "sim.yaml", log, null, List.of(scheduler), null, 1);
        SchedulerResult result = report.results().get(0);
        assertThat(report.connections()).isEqualTo(steps.size());
        for (Map.Entry<String, Long> e : live.entrySet()) {
            assertThat(result.connectionsOf(e.getKey())).as("%s %s", scheduler, e.getKey()).isEqualTo(e.getValue());
        }
    }

    private static long micros(String seconds) {
        int dot = seconds.indexOf('.');
        return Long.parseLong(seconds.substring(0, dot)) * 1_000_000L + Long.parseLong(seconds.substring(dot + 1));
    }

    private static Map<String, String> fields(String line) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = FIELD.matcher(line);
        while (m.find()) {
            String v = m.group(2);
            out.put(m.group(1), v.startsWith("\"") ? v.substring(1, v.length() - 1) : v);
        }
        return out;
    }
}
