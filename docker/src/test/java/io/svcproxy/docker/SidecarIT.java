package io.svcproxy.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.AbstractWaitStrategy;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * The sidecar pattern, as a user runs it: an application container and svcproxy sharing one network namespace
 * (svcproxy joins the application's, as containers of one Pod do), backends on a network of the test's own, each
 * running svcproxy's {@code backend} command, and the application connecting to the Service's ClusterIP.
 * svcproxy runs as the image's non-root user on a read-only root filesystem with its config mounted read-only.
 *
 * <p>The tests run in order on one set of containers: traffic, the admin API, reloads, and last the graceful stop.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SidecarIT {
    private static final String NAMES_IP = "127.0.10.1";
    private static final String ECHO_IP = "127.0.10.2";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

    private static Network network;
    private static final List<GenericContainer<?>> backends = new ArrayList<>();
    private static GenericContainer<?> echo;
    private static GenericContainer<?> app;
    private static GenericContainer<?> sidecar;
    private static Path configDir;
    /** The name backends' names, ordered by IP address: the order rr goes through them. */
    private static List<String> namesInOrder;
    private static Map<String, String> ipByName;
    private static String echoIp;
    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void startPod() throws IOException {
        String image = SvcproxyImage.tag();
        network = Network.newNetwork();
        for (String name : List.of("b1", "b2", "b3")) {
            backends.add(backend(name, "name"));
        }
        echo = backend("e1", "echo");
        List<GenericContainer<?>> all = new ArrayList<>(backends);
        all.add(echo);
        all.parallelStream().forEach(GenericContainer::start);

        ipByName = backends.stream().collect(Collectors.toMap(SidecarIT::backendName, c -> ipOf(c)));
        namesInOrder = ipByName.keySet().stream()
                .sorted(Comparator.comparing(name -> ipKey(ipByName.get(name))))
                .toList();
        echoIp = ipOf(echo);

        configDir = Files.createTempDirectory("svcproxy-sidecar-");
        Files.setPosixFilePermissions(configDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        writeConfig(List.of("b1", "b2", "b3"));

        app = new GenericContainer<>(image)
                .withImagePullPolicy(name -> false)
                .withNetwork(network)
                .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint("sleep"))
                .withCommand("3600")
                .withFileSystemBind(testClasses().toString(), "/client", BindMode.READ_ONLY)
                .withExposedPorts(9901) // the namespace's owner publishes the sidecar's admin port
                .waitingFor(new NoWait());
        app.start();

        sidecar = svcproxySidecar(app, configDir, false);
        sidecar.start();
    }

    @AfterAll
    static void stopPod() {
        List<GenericContainer<?>> all = new ArrayList<>();
        all.add(sidecar);
        all.add(app);
        all.add(echo);
        all.addAll(backends);
        SvcproxyImage.stopAll(all, network);
    }

    @Test
    @Order(1)
    void applicationReachesEveryBackendInRoundRobinOrder() throws Exception {
        List<String> answers = names(NAMES_IP, 6);

        List<String> expected = new ArrayList<>(namesInOrder);
        expected.addAll(namesInOrder);
        assertThat(answers).containsExactlyElementsOf(expected);
    }

    @Test
    @Order(2)
    void adminIsReachableThroughThePublishedPort() throws Exception {
        assertThat(get("/healthz")).isEqualTo("200 ok");
        assertThat(get("/readyz")).startsWith("200");
        String metrics = get("/metrics");
        assertThat(metrics).startsWith("200")
                .contains("svcproxy_connections_total{").contains("endpoint=\"" + ipByName.get("b1") + ":8080\"")
                .contains("svcproxy_endpoints{");
        assertThat(get("/api/v1/services")).contains("\"name\":\"names\"").contains("\"name\":\"echo\"");
    }

    @Test
    @Order(3)
    void svcproxyRunsAsNonRootOnAReadOnlyRootFilesystemAndReportsHealthy() {
        assertThat(exec(sidecar, "cat", "/proc/1/status").getStdout()).containsPattern("(?m)^Uid:\\s+10001\\s");
        ExecResult write = exec(sidecar, "touch", "/opt/svcproxy/written");
        assertThat(write.getExitCode()).as("a write to the root filesystem").isNotZero();
        assertThat(write.getStderr()).contains("Read-only file system");
        assertThat(sidecar.getLogs()).contains("transport=epoll"); // Netty's native library loaded from /tmp

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() ->
                "healthy".equals(docker().inspectContainerCmd(sidecar.getContainerId()).exec().getState()
                        .getHealth().getStatus()));
    }

    @Test
    @Order(4)
    void aClusterIpOutsideLoopbackIsKeptOnLoWithNetAdmin() throws Exception {
        String clusterIp = "10.96.0.10";
        Path vipConfig = Files.createTempDirectory("svcproxy-vip-");
        Files.setPosixFilePermissions(vipConfig, PosixFilePermissions.fromString("rwxr-xr-x"));
        String endpoints = namesInOrder.stream().map(n -> "{ip: " + ipByName.get(n) + "}")
                .collect(Collectors.joining(", "));
        replace(vipConfig.resolve("svcproxy.yaml"), """
                proxy:
                  admin: off
                  vipInterface: lo      # needs CAP_NET_ADMIN: the sidecar runs as root with only that capability added
                services:
                  - name: names
                    clusterIP: %s
                    ports: [{port: 80, targetPort: 8080}]
                    endpoints: [%s]
                """.formatted(clusterIp, endpoints));
        try (GenericContainer<?> vipApp = new GenericContainer<>(SvcproxyImage.tag())
                .withImagePullPolicy(name -> false)
                .withNetwork(network)
                .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint("sleep"))
                .withCommand("3600")
                .withFileSystemBind(testClasses().toString(), "/client", BindMode.READ_ONLY)
                .waitingFor(new NoWait())) {
            vipApp.start();
            try (GenericContainer<?> vipSidecar = svcproxySidecar(vipApp, vipConfig, true)) {
                vipSidecar.start();

                assertThat(exec(vipApp, "ip", "-4", "-o", "addr", "show", "dev", "lo").getStdout())
                        .contains(clusterIp + "/32");
                assertThat(names(vipApp, clusterIp, 3)).containsExactlyElementsOf(namesInOrder);

                docker().stopContainerCmd(vipSidecar.getContainerId()).withTimeout(40).exec();
                assertThat(docker().inspectContainerCmd(vipSidecar.getContainerId()).exec().getState()
                        .getExitCodeLong()).isZero();
                assertThat(exec(vipApp, "ip", "-4", "-o", "addr", "show", "dev", "lo").getStdout())
                        .as("svcproxy removes the addresses it added").doesNotContain(clusterIp);
            }
        }
    }

    @Test
    @Order(5)
    void sighupReloadsTheMountedConfig() throws Exception {
        writeConfig(List.of("b1", "b2"));
        docker().killContainerCmd(sidecar.getContainerId()).withSignal("HUP").exec();

        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(names(NAMES_IP, 4)).containsOnly("b1", "b2"));
        assertThat(sidecar.getLogs()).contains("Reload applied");
    }

    @Test
    @Order(6)
    void anEditOfTheMountedConfigIsPickedUpWithoutASignal() throws Exception {
        writeConfig(List.of("b1", "b2", "b3"));

        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(names(NAMES_IP, 3)).containsExactlyInAnyOrder("b1", "b2", "b3"));
    }

    @Test
    @Order(7)
    void dockerStopDrainsAConnectionInFlightAndExitsZero() throws Exception {
        CompletableFuture<ExecResult> held = CompletableFuture.supplyAsync(() -> exec(app,
                "java", "-cp", "/client", "io.svcproxy.docker.client.TcpClient", "hold", ECHO_IP, "7"));
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).until(() ->
                get("/api/v1/services").contains("\"active\":1"));

        long start = System.nanoTime();
        docker().stopContainerCmd(sidecar.getContainerId()).withTimeout(40).exec();
        long stopMillis = (System.nanoTime() - start) / 1_000_000;

        ExecResult client = held.get();
        assertThat(client.getStdout()).isEqualTo("echo before\nheld\nrefused\necho after\n");
        assertThat(client.getExitCode()).isZero();
        InspectContainerResponse.ContainerState state = docker().inspectContainerCmd(sidecar.getContainerId())
                .exec().getState();
        assertThat(state.getExitCodeLong()).as("svcproxy's exit code after SIGTERM").isZero();
        assertThat(stopMillis).as("docker stop took (ms); drainTimeout is 30 s").isLessThan(25_000);
        assertThat(sidecar.getLogs()).contains("Shutting down: listeners closed").contains("Stopped");
    }

    /** A container running svcproxy as a sidecar of {@code owner}, its config dir mounted read-only. */
    static GenericContainer<?> svcproxySidecar(GenericContainer<?> owner, Path configDir, boolean asRootWithNetAdmin) {
        GenericContainer<?> c = SvcproxyImage.container()
                .withNetworkMode("container:" + owner.getContainerId())
                .withFileSystemBind(configDir.toString(), "/etc/svcproxy", BindMode.READ_ONLY)
                .withTmpFs(Map.of("/tmp", "rw,exec,size=64m"))
                .withCreateContainerCmdModifier(cmd -> {
                    cmd.getHostConfig().withReadonlyRootfs(true);
                    if (asRootWithNetAdmin) {
                        cmd.withUser("0:0");
                        cmd.getHostConfig().withCapAdd(com.github.dockerjava.api.model.Capability.NET_ADMIN);
                    }
                })
                .waitingFor(Wait.forLogMessage(".*Serving config.*\\n", 1).withStartupTimeout(START_TIMEOUT));
        return c;
    }

    private static GenericContainer<?> backend(String name, String mode) {
        int port = mode.equals("echo") ? 8081 : 8080;
        return SvcproxyImage.container()
                .withNetwork(network)
                .withNetworkAliases(name)
                .withCommand("backend", "--listen", "0.0.0.0:" + port, "--name", name, "--mode", mode)
                .waitingFor(Wait.forLogMessage(".*Backend listening.*\\n", 1).withStartupTimeout(START_TIMEOUT));
    }

    private static void writeConfig(List<String> nameBackends) throws IOException {
        String endpoints = nameBackends.stream()
                .map(name -> "      - {ip: " + ipByName.get(name) + "}")
                .collect(Collectors.joining("\n"));
        String yaml = """
                proxy:
                  admin: 0.0.0.0:9901     # in a container: reachable through the published port
                  drainTimeout: 30s
                services:
                  - name: names
                    clusterIP: %s
                    ports: [{port: 80, targetPort: 8080}]
                    endpoints:
                %s
                  - name: echo
                    clusterIP: %s
                    ports: [{port: 7, targetPort: 8081}]
                    endpoints: [{ip: %s}]
                """.formatted(NAMES_IP, endpoints, ECHO_IP, echoIp);
        replace(configDir.resolve("svcproxy.yaml"), yaml);
    }

    /** Writes {@code file} whole through a rename, so a watcher never reads half of it. */
    static void replace(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Runs the client in the app container: {@code count} connections to {@code ip}:80, one answer each. */
    static List<String> names(GenericContainer<?> from, String ip, int count) {
        ExecResult result = exec(from, "java", "-cp", "/client", "io.svcproxy.docker.client.TcpClient", "names", ip,
                "80", Integer.toString(count));
        assertThat(result.getExitCode()).as("client: %s", result.getStderr()).isZero();
        return Arrays.asList(result.getStdout().strip().split("\n"));
    }

    private static List<String> names(String ip, int count) {
        return names(app, ip, count);
    }

    static ExecResult exec(GenericContainer<?> c, String... command) {
        try {
            return c.execInContainer(command);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String get(String path) throws IOException, InterruptedException {
        URI uri = URI.create("http://" + app.getHost() + ":" + app.getMappedPort(9901) + path);
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body().strip();
    }

    static String ipOf(GenericContainer<?> c) {
        return c.getContainerInfo().getNetworkSettings().getNetworks().values().iterator().next().getIpAddress();
    }

    private static String backendName(GenericContainer<?> c) {
        List<String> cmd = Arrays.asList(c.getCommandParts());
        return cmd.get(cmd.indexOf("--name") + 1);
    }

    static long ipKey(String ip) {
        long key = 0;
        for (String part : ip.split("\\.")) {
            key = key * 256 + Integer.parseInt(part);
        }
        return key;
    }

    static Path testClasses() {
        return SvcproxyImage.dockerDir().resolve("target/test-classes");
    }

    static DockerClient docker() {
        return DockerClientFactory.instance().client();
    }

    /** The app container starts at once: what it waits for, the sidecar, comes after it. */
    static final class NoWait extends AbstractWaitStrategy {
        @Override
        protected void waitUntilReady() {
        }
    }
}
