package io.svcproxy.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * Cluster DNS through the sidecar (issue 12): an application container resolves a name with busybox's nslookup
 * through the DNS Service ClusterIP 127.0.10.53:53, which svcproxy serves over UDP from three DNS endpoints
 * (svcproxy's own {@code backend --mode dns}, each answering with an address of its own), round-robin. The
 * namespace's owner lets non-root processes bind port 53 ({@code net.ipv4.ip_unprivileged_port_start=0}), so the
 * sidecar keeps running as uid 10001.
 */
class DnsSidecarIT {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    private static Network network;
    private static final List<GenericContainer<?>> dns = new ArrayList<>();
    private static GenericContainer<?> app;
    private static GenericContainer<?> sidecar;

    @BeforeAll
    static void startPod() throws IOException {
        String image = SvcproxyImage.tag();
        network = Network.newNetwork();
        for (int i = 1; i <= 3; i++) {
            dns.add(SvcproxyImage.container().withNetwork(network)
                    .withCommand("backend", "--listen", "0.0.0.0:5353", "--mode", "dns", "--name", "dns-" + i,
                            "--answer", "127.1.0." + i)
                    .waitingFor(Wait.forLogMessage(".*Backend listening.*\\n", 1)
                            .withStartupTimeout(START_TIMEOUT)));
        }
        dns.parallelStream().forEach(GenericContainer::start);
        List<String> ips = dns.stream().map(SidecarIT::ipOf).toList();
        Path configDir = Files.createTempDirectory("svcproxy-dns-");
        Files.setPosixFilePermissions(configDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        StringBuilder yaml = new StringBuilder("""
                proxy: {admin: off}
                services:
                  - name: kube-dns
                    namespace: kube-system
                    clusterIP: 127.0.10.53
                    ports:
                      - {name: dns, protocol: UDP, port: 53, targetPort: 5353, udpResponses: 1}
                    endpoints:
                """);
        for (String ip : ips) {
            yaml.append("      - {ip: ").append(ip).append("}\n");
        }
        Path config = configDir.resolve("svcproxy.yaml");
        Files.writeString(config, yaml);
        Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));

        app = new GenericContainer<>(image).withImagePullPolicy(name -> false).withNetwork(network)
                .withCreateContainerCmdModifier(cmd -> {
                    cmd.withEntrypoint("sleep");
                    cmd.getHostConfig().withSysctls(Map.of("net.ipv4.ip_unprivileged_port_start", "0"));
                })
                .withCommand("3600");
        app.start();
        sidecar = SidecarIT.svcproxySidecar(app, configDir, false);
        sidecar.start();
    }

    @AfterAll
    static void stopPod() {
        List<GenericContainer<?>> all = new ArrayList<>(java.util.Arrays.asList(sidecar, app));
        all.addAll(dns);
        SvcproxyImage.stopAll(all, network);
    }

    @Test
    void theApplicationResolvesThroughTheDnsClusterIpAndTheEndpointsAnswerInTurn() throws Exception {
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            // one A query per lookup (busybox asks A and AAAA otherwise, as one flow or two depending on timing)
            Container.ExecResult r = app.execInContainer("nslookup", "-type=a", "svc.cluster.test", "127.0.10.53");
            Matcher m = Pattern.compile("Address:\\s*(127\\.1\\.0\\.\\d)").matcher(r.getStdout());
            assertThat(m.find()).as("nslookup: %s %s", r.getStdout(), r.getStderr()).isTrue();
            answers.add(m.group(1));
        }
        // round-robin: each endpoint once in every three queries, in one fixed order
        assertThat(answers.subList(0, 3)).containsExactlyInAnyOrder("127.1.0.1", "127.1.0.2", "127.1.0.3");
        assertThat(answers.subList(3, 6)).containsExactlyElementsOf(answers.subList(0, 3));
        assertThat(sidecar.getLogs()).contains("Listening service=kube-system/kube-dns port=dns "
                + "address=127.0.10.53:53/UDP");
    }
}
