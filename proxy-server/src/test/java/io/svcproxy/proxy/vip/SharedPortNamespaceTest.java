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
 * An Ingress listener on every address (0.0.0.0:80, the usual node-proxy setup) and Services on port 80, the usual
 * port: each Service takes the connections to its own address, as kube-proxy's rules take them before a node's
 * process listening on every address, and the Ingress takes the rest and routes to those very Services. Before,
 * a config-file Service there was refused and a Kubernetes one left out, so the Ingress's backends on port 80
 * answered 503. Whichever is bound first, and a Service added while the Ingress listens, share the port; another
 * program at a Service's address is still an error, not a port quietly shared with it. Everything runs inside a
 * network namespace of the test's own: the listeners on every address, and the clusterIPs (10.96.0.x), are that
 * namespace's only. Needs root, {@code ip netns} and curl; fails (does not skip) without them.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SharedPortNamespaceTest {
    private static final Duration STARTUP = Duration.ofSeconds(45);

    private static Netns ns;
    private static SvcproxyProcess backend;

    @TempDir
    Path dir;

    @BeforeAll
    static void createNamespaceAndEndpoint() throws Exception {
        ns = Netns.create();
        backend = SvcproxyProcess.startWithin(ns.inside(List.of()), null, "backend", "--listen", "127.0.0.11:8080",
                "--mode", "http", "--name", "a");
        await().atMost(STARTUP).until(() -> "a".equals(ns.httpGet("127.0.0.11:8080", "x")) || !backend.isAlive());
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

    private Path writeConfig(String ingressListener, String... services) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Path next = dir.resolve("svcproxy.yaml.next");
        Files.writeString(next, """
                proxy: {admin: off, vipInterface: lo, ingress: {http: "%s"}}
                services:
                %s
                ingresses:
                  - name: shop
                    rules:
                      - host: shop.example
                        http:
                          paths:
                            - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
                """.formatted(ingressListener, String.join("", services)));
        Files.move(next, config, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return config;
    }

    @Test
    void servicesOnPort80AndAnIngressOnEveryAddressAtPort80ShareThePort() throws Exception {
        Path config = writeConfig("0.0.0.0:80", service("web", "10.96.0.10"));
        try (SvcproxyProcess proxy = SvcproxyProcess.startWithin(ns.inside(List.of()), null, "run", "--config",
                config.toString())) {
            await().atMost(STARTUP).until(() -> "a".equals(ns.httpGet("10.96.0.10", "nowhere.example"))
                    || !proxy.isAlive());
            assertThat(proxy.isAlive()).as(proxy.output()).isTrue();
            // the clusterIP's connections are the Service's (the Ingress would answer 404 for this host)
            assertThat(ns.httpGet("10.96.0.10", "nowhere.example")).isEqualTo("a");
            // any other address at port 80 is the Ingress's, which routes to the Service
            assertThat(ns.httpGet("127.0.0.1", "shop.example")).isEqualTo("a");
            assertThat(ns.httpGet("127.0.0.1", "nowhere.example")).isEqualTo("404");

            // a Service added while the Ingress listens there
            writeConfig("0.0.0.0:80", service("web", "10.96.0.10"), service("api", "10.96.0.11"));
            proxy.signal("HUP");
            await().atMost(Duration.ofSeconds(20)).until(() -> "a".equals(ns.httpGet("10.96.0.11", "nowhere.example")));
            assertThat(ns.httpGet("127.0.0.1", "shop.example")).isEqualTo("a");

            // the Ingress moved onto the port by a reload, the Services listening there already
            writeConfig("0.0.0.0:81", service("web", "10.96.0.10"), service("api", "10.96.0.11"));
            proxy.signal("HUP");
            await().atMost(Duration.ofSeconds(20)).until(() -> "a".equals(ns.httpGet("127.0.0.1:81", "shop.example")));
            assertThat(ns.httpGet("127.0.0.1", "shop.example")).startsWith("curl exit");
            writeConfig("0.0.0.0:80", service("web", "10.96.0.10"), service("api", "10.96.0.11"));
            proxy.signal("HUP");
            await().atMost(Duration.ofSeconds(20)).until(() -> "a".equals(ns.httpGet("127.0.0.1", "shop.example")));
            assertThat(ns.httpGet("10.96.0.11", "nowhere.example")).isEqualTo("a");
            assertThat(ns.httpGet("10.96.0.10", "nowhere.example")).isEqualTo("a");
            assertThat(proxy.output()).doesNotContain("ERROR", "Address already in use");

            proxy.terminate();
            assertThat(proxy.waitFor(30)).as(proxy.output()).isZero();
        }
    }
}
