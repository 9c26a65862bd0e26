package io.svcproxy.proxy.vip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.cli.SvcproxyProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code proxy.vipInterface: lo} end to end: svcproxy, its endpoint and the clients run inside a network namespace
 * this class creates, so the ClusterIPs (10.96.0.x, fd00::x) are added to that namespace's {@code lo} only, never
 * to the machine's. Needs root and {@code ip netns}; fails (does not skip) without them.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class VipInterfaceNamespaceTest {
    private static final Duration STARTUP = Duration.ofSeconds(45);

    private static Netns ns;
    private static SvcproxyProcess backend;

    @TempDir
    Path dir;

    @BeforeAll
    static void createNamespaceAndEndpoint() throws Exception {
        ns = Netns.create();
        backend = inside(List.of(), "backend", "--listen", "127.0.0.11:8080", "--mode", "name",
                "--name", "a");
        await().atMost(STARTUP).until(() -> "a".equals(ns.fetch("127.0.0.11", 8080)) || !backend.isAlive());
        assertThat(backend.isAlive()).as("the endpoint runs; %s", backend.output()).isTrue();
    }

    @AfterAll
    static void deleteNamespace() {
        if (backend != null) {
            backend.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    private static String service(String name, String clusterIP) {
        return """
                  - name: %s
                    clusterIP: %s
                    ports: [{port: 80}]
                    endpoints: [{ip: 127.0.0.11, port: 8080}]
                """.formatted(name, clusterIP);
    }

    private Path writeConfig(String... services) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Path next = dir.resolve("svcproxy.yaml.next");
        Files.writeString(next, "proxy: {admin: off, vipInterface: lo}\nservices:\n" + String.join("", services));
        Files.move(next, config, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return config;
    }

    private static List<String> addresses() {
        return Netns.parse(ns.loAddresses());
    }

    @Test
    void keepsExactlyTheCurrentClusterIpsOnLo() throws Exception {
        Path config = writeConfig(service("dns", "10.96.0.10"), service("dns6", "fd00::10"));
        try (SvcproxyProcess proxy = inside(List.of(), "run", "--config", config.toString())) {
            await().atMost(STARTUP).until(() -> "a".equals(ns.fetch("10.96.0.10", 80)) || !proxy.isAlive());
            assertThat(proxy.isAlive()).as(proxy.output()).isTrue();
            assertThat(addresses()).contains("10.96.0.10/32", "fd00::10/128", "127.0.0.1/8", "::1/128");
            assertThat(addresses()).filteredOn("10.96.0.10/32"::equals).hasSize(1);
            assertThat(ns.fetch("fd00::10", 80)).isEqualTo("a");

            writeConfig(service("dns6", "fd00::10"));
            proxy.signal("HUP");
            await().atMost(Duration.ofSeconds(20)).until(() -> !addresses().contains("10.96.0.10/32"));
            assertThat(ns.fetch("10.96.0.10", 80)).isNull();
            assertThat(ns.fetch("fd00::10", 80)).isEqualTo("a");
            assertThat(addresses()).contains("fd00::10/128", "127.0.0.1/8", "::1/128");

            proxy.terminate();
            assertThat(proxy.waitFor(30)).as(proxy.output()).isZero();
            assertThat(addresses()).containsExactlyInAnyOrder("127.0.0.1/8", "::1/128");
        }
    }

    @Test
    void neverRemovesAnAddressItDidNotAdd() throws Exception {
        ns.execOk("ip", "addr", "add", "10.96.0.99/32", "dev", "lo");
        try {
            Path config = writeConfig(service("mine", "10.96.0.99"), service("its", "10.96.0.20"));
            try (SvcproxyProcess proxy = inside(List.of(), "run", "--config", config.toString())) {
                await().atMost(STARTUP).until(() -> "a".equals(ns.fetch("10.96.0.20", 80)) || !proxy.isAlive());
                assertThat(proxy.isAlive()).as(proxy.output()).isTrue();
                assertThat(ns.fetch("10.96.0.99", 80)).isEqualTo("a");
                assertThat(addresses()).filteredOn("10.96.0.99/32"::equals).hasSize(1);

                writeConfig(service("its", "10.96.0.20"));
                proxy.signal("HUP");
                await().atMost(Duration.ofSeconds(20)).until(() -> ns.fetch("10.96.0.99", 80) == null);
                assertThat(addresses()).contains("10.96.0.99/32", "10.96.0.20/32");

                proxy.terminate();
                assertThat(proxy.waitFor(30)).as(proxy.output()).isZero();
                assertThat(addresses()).contains("10.96.0.99/32").doesNotContain("10.96.0.20/32");
            }
        } finally {
            ns.exec("ip", "addr", "del", "10.96.0.99/32", "dev", "lo");
        }
    }

    @Test
    void withoutCapNetAdminItFailsToStartWithExitCode1() throws Exception {
        Path config = writeConfig(service("dns", "10.96.0.10"));
        List<String> dropNetAdmin = List.of("setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin");
        try (SvcproxyProcess proxy = inside(dropNetAdmin, "run", "--config", config.toString())) {
            assertThat(proxy.waitFor(60)).as(proxy.output()).isEqualTo(1);
            assertThat(proxy.stderr()).contains(
                    "proxy.vipInterface: lo needs CAP_NET_ADMIN (run as root or add the capability)");
        }
        assertThat(addresses()).doesNotContain("10.96.0.10/32");
    }

    @Test
    void aMissingInterfaceIsCreatedAsADummyOrFailsClearlyWhereTheKernelHasNone() throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, "proxy: {admin: off, vipInterface: svcproxy0}\nservices:\n"
                + service("dns", "10.96.0.10"));
        boolean dummies = ns.exec("ip", "link", "add", "svcproxy-probe", "type", "dummy").exitCode() == 0;
        ns.exec("ip", "link", "del", "svcproxy-probe");
        try (SvcproxyProcess proxy = inside(List.of(), "run", "--config", config.toString())) {
            if (dummies) {
                await().atMost(STARTUP).until(() -> "a".equals(ns.fetch("10.96.0.10", 80)) || !proxy.isAlive());
                assertThat(ns.execOk("ip", "-o", "addr", "show", "dev", "svcproxy0")).contains("10.96.0.10/32");
                proxy.terminate();
                assertThat(proxy.waitFor(30)).as(proxy.output()).isZero();
                assertThat(ns.execOk("ip", "-o", "addr", "show", "dev", "svcproxy0")).doesNotContain("10.96.0.10");
            } else {
                assertThat(proxy.waitFor(60)).as(proxy.output()).isEqualTo(1);
                assertThat(proxy.stderr()).contains("proxy.vipInterface: svcproxy0 does not exist and cannot be "
                        + "created as a dummy interface", "use an existing interface such as lo");
            }
        } finally {
            ns.exec("ip", "link", "del", "svcproxy0");
        }
    }

    /** Starts svcproxy inside the test's namespace, after {@code prefix} (such as setpriv). */
    private static SvcproxyProcess inside(List<String> prefix, String... args) throws java.io.IOException {
        return SvcproxyProcess.startWithin(ns.inside(prefix), null, args);
    }
}
