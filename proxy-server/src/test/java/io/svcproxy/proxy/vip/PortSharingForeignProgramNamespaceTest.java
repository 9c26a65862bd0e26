package io.svcproxy.proxy.vip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.cli.SvcproxyProcess;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * From helper-100's review of the port sharing: a port an own listener on every address shares with Service
 * listeners (SO_REUSEPORT) is never shared with another program that listens there, found by the host's listening
 * sockets and this process's own (ListeningSockets), not by a bind that fails for svcproxy's own sockets as well.
 * Both cases were shared before:
 * <ol>
 * <li>A second svcproxy whose Ingress listens on 0.0.0.0:80 beside a first svcproxy's Service at 10.96.0.10:80 does
 * not start ("in use").</li>
 * <li>A program that sets SO_REUSEPORT (HAProxy's default) and listens at 10.96.0.11:80, while svcproxy's Ingress
 * listens on 0.0.0.0:80: a reload that adds a Service there cannot serve it ("in use"), rather than have its
 * listener join the other program's and split the Service's connections with it.</li>
 * </ol>
 * And a health check node port at the shared port is bound beside the Ingress, as the node ports are; a reload that
 * moves the Ingress off a port and adds a Service there binds it at once, and one that moves the restart-only admin
 * leaves its port shared (helper-103's review). Needs root, ip netns, curl and python3 (for the other program);
 * everything runs in a namespace of the test's own.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PortSharingForeignProgramNamespaceTest {
    private static final Duration STARTUP = Duration.ofSeconds(45);

    private Netns ns;
    private final List<AutoCloseable> started = new ArrayList<>();

    @TempDir
    Path dir;

    @BeforeEach
    void createNamespace() {
        ns = Netns.create();
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        for (AutoCloseable c : started) {
            c.close();
        }
        ns.close();
    }


    private SvcproxyProcess start(String... args) throws Exception {
        SvcproxyProcess p = SvcproxyProcess.startWithin(ns.inside(List.of()), null, args);
        started.add(p::close);
        return p;
    }

    private static String service(String name, String clusterIP) {
        return """
                  - name: %s
                    clusterIP: %s
                    ports: [{port: 80}]
                    endpoints: [{ip: 127.0.0.11, port: 8080}]
                """.formatted(name, clusterIP);
    }

    private Path writeConfig(String file, String ingress, String... services) throws Exception {
        Path config = dir.resolve(file);
        Path next = dir.resolve(file + ".next");
        Files.writeString(next, """
                proxy: {admin: off, vipInterface: lo%s}
                services:
                %s
                """.formatted(ingress == null ? "" : ", ingress: {http: \"" + ingress + "\"}",
                String.join("", services)));
        Files.move(next, config, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return config;
    }

    private void startEndpoint() throws Exception {
        SvcproxyProcess backend = start("backend", "--listen", "127.0.0.11:8080", "--mode", "http", "--name", "a");
        await().atMost(STARTUP).until(() -> "a".equals(ns.httpGet("127.0.0.11:8080", "x")) || !backend.isAlive());
        assertThat(backend.isAlive()).as(backend.output()).isTrue();
    }

    @Test
    void aSecondSvcproxysIngressOnEveryAddressDoesNotShareThePortOfTheFirstsService() throws Exception {
        startEndpoint();
        Path first = writeConfig("first.yaml", null, service("web", "10.96.0.10"));
        SvcproxyProcess one = start("run", "--config", first.toString());
        await().atMost(STARTUP).until(() -> "a".equals(ns.httpGet("10.96.0.10", "x")) || !one.isAlive());
        assertThat(one.isAlive()).as(one.output()).isTrue();

        Path second = writeConfig("second.yaml", "0.0.0.0:80", service("api", "10.96.0.11"));
        SvcproxyProcess two = start("run", "--config", second.toString());
        // expected: the second process cannot bind 0.0.0.0:80 (the first listens at 10.96.0.10:80) and exits
        await().atMost(STARTUP).until(() -> !two.isAlive()
                || "404".equals(ns.httpGet("127.0.0.1", "nowhere.example")));
        assertThat(two.isAlive()).as("the second svcproxy's Ingress shares port 80 with the first's Service; %s",
                two.output()).isFalse();
        assertThat(two.output()).contains("in use");
    }

    @Test
    void aServiceAddedAtAnAddressWhereAnotherProgramListensWithSoReusePortIsAnError() throws Exception {
        startEndpoint();
        Path config = writeConfig("svcproxy.yaml", "0.0.0.0:80", service("web", "10.96.0.10"));
        SvcproxyProcess proxy = start("run", "--config", config.toString());
        await().atMost(STARTUP).until(() -> "a".equals(ns.httpGet("10.96.0.10", "x")) || !proxy.isAlive());
        assertThat(proxy.isAlive()).as(proxy.output()).isTrue();

        ns.execOk("ip", "addr", "add", "10.96.0.11/32", "dev", "lo");
        Process haproxy = new ProcessBuilder(ns.inside(List.of("python3", "-c", """
                import socket, sys, time
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                try:
                    s.bind(('10.96.0.11', 80))
                    s.listen(64)
                    print('bound', flush=True)
                except OSError as e:
                    print('refused', e, flush=True)
                    sys.exit(0)
                time.sleep(120)
                """))).redirectErrorStream(true).start();
        started.add(haproxy::destroyForcibly);
        String said = new BufferedReader(new InputStreamReader(haproxy.getInputStream(), StandardCharsets.UTF_8))
                .readLine();
        assertThat(said).as("the other program's bind ran").isNotNull();
        if (said.startsWith("refused")) {
            return; // the other program could not take the port: nothing is shared
        }
        Path next = writeConfig("svcproxy.yaml", "0.0.0.0:80", service("web", "10.96.0.10"),
                service("api", "10.96.0.11"));
        assertThat(next).isEqualTo(config);
        proxy.signal("HUP");
        await().atMost(Duration.ofSeconds(20)).until(() -> proxy.output().contains("Reload applied"));
        assertThat(proxy.output()).as("svcproxy's Service listener at 10.96.0.11:80 joined the other program's "
                + "reuseport group").contains("in use");
    }

    /**
     * The health check node port of a LoadBalancer Service with externalTrafficPolicy Local at the Ingress's port is
     * served beside it, as the node ports are (it was accepted by the config and then could not be bound: "Cannot
     * serve health check node port" at every sync, the proxy never ready).
     */
    @Test
    void aHealthCheckNodePortAtThePortOfTheIngressOnEveryAddressIsServedBesideIt() throws Exception {
        Path config = dir.resolve("hc.yaml");
        Files.writeString(config, """
                proxy: {admin: off, vipInterface: lo, nodeName: node-a, nodeAddresses: [127.0.0.1],
                        ingress: {http: "0.0.0.0:30140"}}
                services:
                  - name: shop
                    type: LoadBalancer
                    clusterIP: 10.96.0.20
                    externalTrafficPolicy: Local
                    healthCheckNodePort: 30140
                    ports: [{port: 80, nodePort: 30141}]
                    endpoints: [{ip: 127.0.0.11, port: 8080, nodeName: node-a}]
                """);
        SvcproxyProcess validate = start("validate", "--config", config.toString());
        await().atMost(STARTUP).until(() -> !validate.isAlive());
        assertThat(validate.waitFor(10)).as("validate accepts it: %s", validate.output()).isZero();
        SvcproxyProcess proxy = start("run", "--config", config.toString());
        await().atMost(STARTUP).until(() -> !proxy.isAlive()
                || !ns.httpGet("127.0.0.1:30140", "x").startsWith("curl exit")
                || proxy.output().contains("health check node port"));
        assertThat(proxy.output()).doesNotContain("Cannot serve health check node port");
        assertThat(ns.httpGet("127.0.0.1:30140", "x")).as(proxy.output()).contains("\"localEndpoints\": 1");
    }

    @Test
    void aReloadMovingTheIngressOffAPortAndAddingAServiceThereBindsTheServiceAtOnce() throws Exception {
        startEndpoint();
        Path config = writeConfig("svcproxy.yaml", "0.0.0.0:80", service("web", "10.96.0.10"));
        try (SvcproxyProcess proxy = SvcproxyProcess.startWithin(ns.inside(List.of()), null, "run", "--config",
                config.toString())) {
            await().atMost(STARTUP).until(() -> "a".equals(ns.httpGet("10.96.0.10", "x")) || !proxy.isAlive());
            assertThat(proxy.isAlive()).as(proxy.output()).isTrue();
            assertThat(ns.httpGet("127.0.0.1:80", "nowhere.example")).isEqualTo("404");

            writeConfig("svcproxy.yaml", "0.0.0.0:81", service("web", "10.96.0.10"), service("api", "10.96.0.11"));
            proxy.signal("HUP");
            await().atMost(Duration.ofSeconds(20)).until(() -> proxy.output().contains("Reload applied"));
            await().atMost(Duration.ofSeconds(30)).until(() -> "a".equals(ns.httpGet("10.96.0.11", "x")));
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
        startEndpoint();
        Path config = dir.resolve("admin.yaml");
        Files.writeString(config, """
                proxy: {admin: "0.0.0.0:80", vipInterface: lo}
                services:
                %s
                """.formatted(service("web", "10.96.0.10")));
        try (SvcproxyProcess proxy = SvcproxyProcess.startWithin(ns.inside(List.of()), null, "run", "--config",
                config.toString())) {
            await().atMost(STARTUP).until(() -> "a".equals(ns.httpGet("10.96.0.10", "x")) || !proxy.isAlive());
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
            await().atMost(Duration.ofSeconds(10)).until(() -> "a".equals(ns.httpGet("10.96.0.11", "x"))
                    || proxy.output().split("cannot bind 10.96.0.11:80", -1).length > 3);
            assertThat(ns.httpGet("10.96.0.11", "x")).as(proxy.output()).isEqualTo("a");
            proxy.terminate();
            proxy.waitFor(30);
        }
    }
}
