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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * From helper-103's review: a reload that moves the Ingress on every address off port 80 and adds a Service at port 80 in the same
 * change. PortSharing.configure(next) stops sharing port 80 before applyCurrent() binds the new Service (without
 * SO_REUSEPORT), while the old Ingress still listens on 0.0.0.0:80 with SO_REUSEPORT (it is retired only afterwards,
 * by ingress.reconfigure): the Service's bind fails with "Address already in use" until a retry.
 * Everything runs in a network namespace of the test's own.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PortSharingReloadOrderNamespaceTest {
    private static final Duration STARTUP = Duration.ofSeconds(45);

    private Netns ns;
    private SvcproxyProcess backend;

    @TempDir
    Path dir;

    @BeforeEach
    void createNamespace() throws Exception {
        ns = Netns.create();
        backend = SvcproxyProcess.startWithin(ns.inside(List.of()), null, "backend", "--listen", "127.0.0.11:8080",
                "--mode", "http", "--name", "a");
        await().atMost(STARTUP).until(() -> "a".equals(get("127.0.0.11:8080", "x")) || !backend.isAlive());
        assertThat(backend.isAlive()).as(backend.output()).isTrue();
    }

    @AfterEach
    void deleteNamespace() {
        if (backend != null) {
            backend.close();
        }
        ns.close();
    }

    private String get(String address, String host) {
        Netns.Result r = ns.exec("curl", "-s", "-m", "5", "-H", "Host: " + host, "-w", "\\n%{http_code}",
                "http://" + address + "/");
        if (r.exitCode() != 0) {
            return "curl exit " + r.exitCode();
        }
        String out = r.stdout().strip();
        int last = out.lastIndexOf('\n');
        String status = out.substring(last + 1);
        return status.equals("200") ? out.substring(0, Math.max(0, last)).strip() : status;
    }

    private static String service(String name, String clusterIP) {
        return """
                  - name: %s
                    clusterIP: %s
                    ports: [{port: 80}]
                    endpoints: [{ip: 127.0.0.11, port: 8080}]
                """.formatted(name, clusterIP);
    }

    private Path writeConfig(String ingress, String... services) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Path next = dir.resolve("svcproxy.yaml.next");
        Files.writeString(next, """
                proxy: {admin: off, vipInterface: lo, ingress: {http: "%s"}}
                services:
                %s
                """.formatted(ingress, String.join("", services)));
        Files.move(next, config, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return config;
    }

    @Test
    void aReloadMovingTheIngressOffAPortAndAddingAServiceThereBindsTheServiceAtOnce() throws Exception {
        Path config = writeConfig("0.0.0.0:80", service("web", "10.96.0.10"));
        try (SvcproxyProcess proxy = SvcproxyProcess.startWithin(ns.inside(List.of()), null, "run", "--config",
                config.toString())) {
            await().atMost(STARTUP).until(() -> "a".equals(get("10.96.0.10", "x")) || !proxy.isAlive());
            assertThat(proxy.isAlive()).as(proxy.output()).isTrue();
            assertThat(get("127.0.0.1:80", "nowhere.example")).isEqualTo("404");

            writeConfig("0.0.0.0:81", service("web", "10.96.0.10"), service("api", "10.96.0.11"));
            proxy.signal("HUP");
            await().atMost(Duration.ofSeconds(20)).until(() -> proxy.output().contains("Reload applied"));
            await().atMost(Duration.ofSeconds(30)).until(() -> "a".equals(get("10.96.0.11", "x")));
            assertThat(proxy.output()).as("the reload's apply bound api's 10.96.0.11:80 without SO_REUSEPORT beside "
                    + "the old Ingress on 0.0.0.0:80").doesNotContain("Address already in use")
                    .contains("bindFailures=0");
            proxy.terminate();
            proxy.waitFor(30);
        }
    }

    /**
     * proxy.admin is restart-only: a reload that moves it keeps the admin listener where it is, on 0.0.0.0:80, yet
     * PortSharing.configure takes the next config's admin address, so port 80 stops being shared and a Service added
     * at port 80 can never be bound beside the running admin listener (every retry: "Address already in use").
     */
    @Test
    void aReloadMovingTheRestartOnlyAdminLeavesItsPortShared() throws Exception {
        Path config = dir.resolve("admin.yaml");
        Files.writeString(config, """
                proxy: {admin: "0.0.0.0:80", vipInterface: lo}
                services:
                %s
                """.formatted(service("web", "10.96.0.10")));
        try (SvcproxyProcess proxy = SvcproxyProcess.startWithin(ns.inside(List.of()), null, "run", "--config",
                config.toString())) {
            await().atMost(STARTUP).until(() -> "a".equals(get("10.96.0.10", "x")) || !proxy.isAlive());
            assertThat(proxy.isAlive()).as(proxy.output()).isTrue();
            Path next = dir.resolve("admin.yaml.next");
            Files.writeString(next, """
                    proxy: {admin: "127.0.0.1:9901", vipInterface: lo}
                    services:
                    %s%s
                    """.formatted(service("web", "10.96.0.10"), service("api", "10.96.0.11")));
            Files.move(next, config, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            proxy.signal("HUP");
            await().atMost(Duration.ofSeconds(20)).until(() -> proxy.output().contains("Reload applied"));
            // the admin still listens on 0.0.0.0:80 (restart-only); bounded wait for the sync runner's retries
            await().atMost(Duration.ofSeconds(10)).until(() -> "a".equals(get("10.96.0.11", "x"))
                    || proxy.output().split("cannot bind 10.96.0.11:80", -1).length > 3);
            assertThat(get("10.96.0.11", "x")).as(proxy.output()).isEqualTo("a");
            proxy.terminate();
            proxy.waitFor(30);
        }
    }
}
