package io.svcproxy.proxy.vip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcproxy.proxy.cli.SvcproxyProcess;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A connect to an endpoint that fails on svcproxy's own host (EADDRNOTAVAIL: every local port already has a
 * connection to that endpoint's address and port) is svcproxy's failure, not the endpoint's: the client is tried on
 * another endpoint as after any failed connect, but the endpoint is neither counted as refusing nor ejected, and an
 * active check that fails so judges nothing. Before, such a connect was counted as {@code refused} (epoll, io_uring)
 * or {@code error} (NIO) against the endpoint, which outlier detection then ejected, and the checks marked unhealthy.
 *
 * <p>The ports run out for real: inside a network namespace of the test's own, {@code net.ipv4.ip_local_port_range}
 * (one per namespace) is narrowed to one port, which a client's relayed connection to endpoint {@code a} then holds;
 * the next connect to {@code a} has no port left, while {@code b}, another address, may still use it. Here, beside
 * the other namespace tests, for {@link Netns}. Needs root and {@code ip netns}; fails (does not skip) without them.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class LocalPortsUsedUpNamespaceTest {
    private static final Duration STARTUP = Duration.ofSeconds(45);
    private static final String VIP = "127.0.10.1";
    private static final String A = "127.0.0.11:8080";
    /** The test's own connections bind ports of this range, out of the narrowed one and of the default one. */
    private static final String CLIENT_PORTS = "62000-62999";

    private static Netns ns;
    private static SvcproxyProcess a;
    private static SvcproxyProcess b;

    @TempDir
    Path dir;

    @BeforeAll
    static void createNamespaceAndEndpoints() throws Exception {
        ns = Netns.create();
        a = SvcproxyProcess.startWithin(ns.inside(List.of()), null, "backend", "--listen", A, "--mode", "echo");
        b = SvcproxyProcess.startWithin(ns.inside(List.of()), null, "backend", "--listen", "127.0.0.12:8080",
                "--mode", "http", "--name", "b");
        await().atMost(STARTUP).until(() -> "b".equals(ns.httpGet("127.0.0.12:8080", "x")) || !b.isAlive());
        await().atMost(STARTUP).until(() -> "ping".equals(ns.exec("timeout", "5", "bash", "-c",
                "exec 3<>/dev/tcp/127.0.0.11/8080 && echo ping >&3 && read -r l <&3 && echo $l").stdout().strip())
                || !a.isAlive());
        assertThat(a.isAlive() && b.isAlive()).as("the endpoints run; %s %s", a.output(), b.output()).isTrue();
    }

    @AfterAll
    static void deleteNamespace() {
        for (SvcproxyProcess p : new SvcproxyProcess[] {a, b}) {
            if (p != null) {
                p.close();
            }
        }
        if (ns != null) {
            ns.close();
        }
    }

    /**
     * Weights 2 and 1 under wrr pick a, a, then b: the first client holds the only local port's connection to a,
     * the second's connect to a finds no port left and goes to b. Then active checks are turned on by a reload: those
     * of a fail the same way.
     */
    @ParameterizedTest
    @ValueSource(strings = {"epoll", "io_uring", "nio"})
    void aConnectWithNoLocalPortLeftIsRetriedAndNotCountedAgainstTheEndpoint(String transport) throws Exception {
        // a port of its own per transport: the last run's connections may still hold theirs (TIME_WAIT)
        int localPort = 61500 + List.of("epoll", "io_uring", "nio").indexOf(transport);
        Path config = writeConfig(transport, "");
        Process firstClient = null;
        // the data plane's DEBUG lines (the test class path's logback-test.xml reads dataplane.log): a check that
        // failed locally says so there only
        try (SvcproxyProcess proxy = SvcproxyProcess.startWithin(ns.inside(List.of("env",
                "JAVA_TOOL_OPTIONS=-Ddataplane.log=DEBUG")), null, "run", "--config", config.toString())) {
            await().atMost(STARTUP).pollInterval(Duration.ofMillis(250))
                    .until(() -> curl("http://127.0.0.1:9901/readyz").equals("200 ok") || !proxy.isAlive());
            assertThat(proxy.isAlive()).as(proxy.output()).isTrue();
            ns.execOk("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=" + localPort + " " + localPort);

            firstClient = new ProcessBuilder(ns.inside(List.of("bash", "-c", "exec 3<>/dev/tcp/" + VIP
                    + "/80 && echo ping >&3 && read -r line <&3 && echo \"$line\" && cat <&3"))).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(firstClient.getInputStream(),
                    StandardCharsets.US_ASCII));
            assertThat(CompletableFuture.supplyAsync(() -> readLine(out)).get(20, TimeUnit.SECONDS))
                    .as("echoed by a through the only local port; %s", proxy.output()).isEqualTo("ping");
            assertThat(curl("http://" + VIP + "/")).as("no port left for a: tried on b; %s", proxy.output())
                    .isEqualTo("200 b");

            SoftAssertions soft = new SoftAssertions();
            JsonNode endpointA = endpoint(curl("http://127.0.0.1:9901/api/v1/services"), "127.0.0.11");
            soft.assertThat(endpointA.path("connectFailures").asInt()).as("a's connect failures").isZero();
            soft.assertThat(endpointA.path("consecutiveFailures").asInt()).as("a's failures in a row").isZero();
            soft.assertThat(endpointA.path("state").asText()).as("a's state").isEqualTo("ready");
            soft.assertThat(endpointA.path("active").asInt() + endpointA.path("inactive").asInt())
                    .as("a's claims: the first client's only, the failed connect's released").isEqualTo(1);
            String metrics = curl("http://127.0.0.1:9901/metrics");
            soft.assertThat(failures(metrics, "local")).as("counted as svcproxy's own failure").containsExactly(
                    "svcproxy_connect_failures_total{endpoint=\"" + A + "\",port=\"80\",reason=\"local\","
                            + "service=\"default/web\"} 1.0");
            soft.assertThat(failures(metrics, "refused")).as("not as the endpoint refusing").isEmpty();
            soft.assertThat(failures(metrics, "error")).isEmpty();
            soft.assertThat(proxy.output()).contains("Connect failed service=default/web port=80 endpoint=" + A
                    + " reason=local attempt=1/2");

            writeConfig(transport, "    healthCheck: {interval: 200ms, timeout: 100ms, rise: 1, fall: 1}\n");
            proxy.signal("HUP");
            String judgedNothing = "Health check failed locally service=default/web port=80 endpoint=" + A;
            String unhealthy = "Endpoint unhealthy service=default/web port=80 endpoint=" + A;
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(proxy.output())
                    .containsAnyOf(judgedNothing, unhealthy));
            soft.assertThat(proxy.output()).as("a's checks with no port left").doesNotContain(unhealthy)
                    .contains(judgedNothing);
            soft.assertThat(endpoint(curl("http://127.0.0.1:9901/api/v1/services"), "127.0.0.11")
                    .path("state").asText()).as("a's state after its checks").isEqualTo("ready");
            soft.assertThat(proxy.output()).doesNotContain(" ERROR ", "Unexpected error");
            soft.assertAll();

            firstClient.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            proxy.terminate();
            assertThat(proxy.waitFor(30)).as(proxy.output()).isZero();
        } finally {
            if (firstClient != null) {
                firstClient.destroyForcibly();
            }
        }
    }

    private Path writeConfig(String transport, String healthCheck) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Path next = dir.resolve("svcproxy.yaml.next");
        Files.writeString(next, """
                proxy:
                  admin: 127.0.0.1:9901
                  transport: %s
                  connectAttempts: 2
                  drainTimeout: 1s
                  outlierDetection: {consecutiveFailures: 1}
                services:
                  - name: web
                    clusterIP: %s
                    scheduler: wrr
                    ports: [{port: 80}]
                %s    endpoints:
                      - {ip: 127.0.0.11, port: 8080, weight: 2}
                      - {ip: 127.0.0.12, port: 8080, weight: 1}
                """.formatted(transport, VIP, healthCheck));
        Files.move(next, config, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return config;
    }

    /**
     * GETs {@code url} from inside the namespace, from a port of {@link #CLIENT_PORTS}: {@code STATUS BODY}, or
     * {@code curl exit N}.
     */
    private static String curl(String url) {
        Netns.Result r = ns.exec("curl", "-s", "-m", "5", "--local-port", CLIENT_PORTS, "-w", "\\n%{http_code}", url);
        if (r.exitCode() != 0) {
            return "curl exit " + r.exitCode();
        }
        String text = r.stdout().strip();
        int last = text.lastIndexOf('\n');
        return text.substring(last + 1) + " " + text.substring(0, Math.max(0, last)).strip();
    }

    /** The endpoint at {@code ip} in a {@code 200} answer of {@code /api/v1/services}. */
    private static JsonNode endpoint(String answer, String ip) throws Exception {
        assertThat(answer).startsWith("200 ");
        for (JsonNode service : new ObjectMapper().readTree(answer.substring(4)).path("services")) {
            for (JsonNode e : service.path("endpoints")) {
                if (e.path("ip").asText().equals(ip)) {
                    return e;
                }
            }
        }
        throw new AssertionError("no endpoint " + ip + " in " + answer);
    }

    /** The lines of {@code svcproxy_connect_failures_total} with {@code reason} in a {@code 200} answer of /metrics. */
    private static List<String> failures(String metrics, String reason) {
        assertThat(metrics).startsWith("200 ");
        return metrics.lines().filter(l -> l.startsWith("svcproxy_connect_failures_total{")
                && l.contains("reason=\"" + reason + "\"")).toList();
    }

    private static String readLine(BufferedReader in) {
        try {
            return in.readLine();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
