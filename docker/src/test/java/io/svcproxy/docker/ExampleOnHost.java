package io.svcproxy.docker;

import com.github.dockerjava.api.model.Capability;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * How the container tests run an example manifest's svcproxy container on this machine: the image on the host's
 * network (its listeners on loopback), as root with the example's own capabilities only, a read-only root
 * filesystem, a tmpfs /tmp, the example's arguments, and a config folder (the ConfigMap's place) holding a
 * kubeconfig for the fabric8 mock API server in the test's JVM.
 */
final class ExampleOnHost {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

    private ExampleOnHost() {
    }

    /** A container of {@code image} as the example's {@code container} runs, with {@code configDir} as /etc/svcproxy. */
    static GenericContainer<?> container(String image, Container container, Path configDir) {
        Capability[] capabilities = container.getSecurityContext().getCapabilities().getAdd().stream()
                .map(Capability::valueOf).toArray(Capability[]::new);
        return new GenericContainer<>(image)
                .withImagePullPolicy(name -> false)
                .withNetworkMode("host")
                .withCommand(container.getArgs().toArray(String[]::new))
                .withFileSystemBind(configDir.toString(), "/etc/svcproxy", BindMode.READ_ONLY)
                .withTmpFs(Map.of("/tmp", "rw,exec,size=64m"))
                .withCreateContainerCmdModifier(cmd -> {
                    cmd.withUser("0:0");
                    cmd.getHostConfig().withReadonlyRootfs(true).withCapDrop(Capability.ALL)
                            .withCapAdd(capabilities);
                })
                .waitingFor(Wait.forLogMessage(".*Serving config.*\\n", 1).withStartupTimeout(START_TIMEOUT));
    }

    /** Writes {@code dir/kubeconfig}: the mock API server of {@code client}, a token, no TLS verification. */
    static void writeKubeconfig(Path dir, KubernetesClient client) throws IOException {
        write(dir.resolve("kubeconfig"), """
                apiVersion: v1
                kind: Config
                clusters:
                  - name: mock
                    cluster: {server: "%s", insecure-skip-tls-verify: true}
                users:
                  - name: svcproxy
                    user: {token: test-token}
                contexts:
                  - name: mock
                    context: {cluster: mock, user: svcproxy}
                current-context: mock
                """.formatted(client.getConfiguration().getMasterUrl()));
    }

    /** A temporary config folder the container's user can read. */
    static Path configDir(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    /** Writes a file the container's user can read. */
    static void write(Path file, String content) throws IOException {
        Files.writeString(file, content, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    }

    /** A loopback port free now. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /** Stops the container as {@code docker stop} does and returns its exit code. */
    static long stop(GenericContainer<?> container) {
        container.getDockerClient().stopContainerCmd(container.getContainerId()).withTimeout(40).exec();
        return container.getDockerClient().inspectContainerCmd(container.getContainerId()).exec().getState()
                .getExitCodeLong();
    }
}
