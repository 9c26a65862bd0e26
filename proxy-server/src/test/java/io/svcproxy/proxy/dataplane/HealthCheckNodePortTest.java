package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.NodeSettings;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.proxy.ProxyServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The healthCheckNodePort of a LoadBalancer Service with externalTrafficPolicy Local, as a cloud load balancer probes
 * it: kube-proxy's answer on every node address, 200 while this node has a ready endpoint, 503 when not; bound and
 * unbound by reload. Node addresses 127.0.20.x; the endpoints are never connected to.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckNodePortTest {
    static final String HEAD = "proxy: {admin: off, nodeName: node-a, nodeAddresses: [127.0.20.5, 127.0.20.6]}\n"
            + "services:\n  - name: shop\n    namespace: web\n    type: LoadBalancer\n    clusterIP: 127.0.10.105\n"
            + "    ports: [{name: http, port: 18141, nodePort: 30141}, {name: https, port: 18142, nodePort: 30142}]\n";
    static final String LOCAL = "    externalTrafficPolicy: Local\n    healthCheckNodePort: 30140\n";

    final ProxyFixture fixture = new ProxyFixture(Transport.select());
    final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    static String endpoints(String... nodes) {
        StringBuilder yaml = new StringBuilder("    endpoints:\n");
        for (int i = 0; i < nodes.length; i++) {
            yaml.append("      - {ip: 127.0.40.").append(11 + i).append(", nodeName: ").append(nodes[i]).append("}\n");
        }
        return yaml.toString();
    }

    HttpResponse<String> probe(String ip) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + ip + ":30140/healthz"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void answersAsKubeProxyOnEveryNodeAddressWhileThisNodeHasAReadyEndpoint() throws Exception {
        ProxyServer server = fixture.proxy(HEAD + LOCAL + endpoints("node-a", "node-a", "node-b"));
        assertThat(server.healthChecks().ports()).isEqualTo(Map.of("web/shop", 30140));
        for (String node : new String[] {"127.0.20.5", "127.0.20.6"}) {
            HttpResponse<String> r = probe(node);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
            assertThat(r.headers().firstValue("x-content-type-options")).hasValue("nosniff");
            // two endpoints on node-a, each behind both Service ports: counted once per IP, as kube-proxy does
            assertThat(r.body()).isEqualTo("{\n\t\"service\": {\n\t\t\"namespace\": \"web\",\n\t\t\"name\": \"shop\"\n"
                    + "\t},\n\t\"localEndpoints\": 2,\n\t\"serviceProxyHealthy\": true\n}");
        }

        server.reload(ConfigLoader.parse(HEAD + LOCAL + endpoints("node-b", "node-c"), "r.yaml"));
        HttpResponse<String> none = probe("127.0.20.5");
        assertThat(none.statusCode()).as("no endpoint on this node: the load balancer skips it").isEqualTo(503);
        assertThat(none.body()).contains("\"localEndpoints\": 0,").contains("\"serviceProxyHealthy\": true");

        server.reload(ConfigLoader.parse(HEAD + endpoints("node-a"), "r.yaml")); // the Cluster policy: none
        assertThat(server.healthChecks().ports()).isEmpty();
        assertThatThrownBy(() -> probe("127.0.20.5")).isInstanceOf(java.net.ConnectException.class);
    }

    /**
     * A reload that gives a nodePort the port its health check gave up in the same change (helper-114's suspicion):
     * the health check's port was closed only after the Service ports' listeners were bound, so the nodePort failed
     * ("Address already in use", not ready) until the next apply.
     */
    @Test
    void aNodePortTakesThePortAHealthCheckGaveUpInTheSameReload() throws Exception {
        ProxyServer server = fixture.proxy(HEAD + LOCAL + endpoints("node-a"));
        assertThat(server.healthChecks().ports()).isEqualTo(Map.of("web/shop", 30140));
        String moved = HEAD.replace("nodePort: 30142", "nodePort: 30140");
        server.reload(ConfigLoader.parse(moved + LOCAL.replace("30140", "30143") + endpoints("node-a"), "r.yaml"));
        assertThat(server.table().unbound()).as("listeners that could not be bound").isEmpty();
        assertThat(server.table().isReady()).isTrue();
        assertThat(server.healthChecks().ports()).isEqualTo(Map.of("web/shop", 30143));
        ServicePort https = server.table().servicePorts().stream()
                .filter(p -> p.spec().port().name().equals("https")).findFirst().orElseThrow();
        assertThat(https.extraAddresses()).as("the https port's listeners")
                .containsEntry(new java.net.InetSocketAddress("127.0.20.5", 30140), AddressKind.NODE);
    }

    @Test
    void aPortInUseMakesTheProxyNotReadyAndIsTriedAgainUntilItBinds() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket()) {
            taken.bind(new java.net.InetSocketAddress("127.0.20.6", 30140));
            ProxyServer server = fixture.proxy("proxy: {admin: off}\nservices:\n  - {name: other, clusterIP: "
                    + "127.0.10.106, ports: [{port: 18143}], endpoints: [{ip: 127.0.40.20}]}\n");
            server.reload(ConfigLoader.parse(HEAD + LOCAL + endpoints("node-a"), "r.yaml"));
            assertThat(server.table().isReady()).isFalse();
            assertThat(server.table().unbound()).singleElement().asString()
                    .startsWith("cannot bind 127.0.20.6:30140");
            assertThat(server.healthChecks().ports()).isEmpty();
            taken.close();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.table().isReady());
            assertThat(probe("127.0.20.6").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void countsTheReadyEndpointsOnThisNodeOnlyAsKubeProxyDoes() throws Exception {
        ServicePortSpec spec = ServicePorts.resolve(ConfigLoader.parse(HEAD + LOCAL + endpoints("node-a"), "t.yaml"))
                .get(0);
        spec = new ServicePortSpec(spec.key(), spec.service(), spec.port(), List.of(
                target("127.0.40.11", true, false, "node-a"),
                target("127.0.40.12", false, true, "node-a"), // serving while it terminates: not counted
                // the Kubernetes mapping's fallback to a node's last pods while they stop: ready in the list, but
                // not by its condition: not counted either (kube-proxy: the check fails when only those are left)
                new EndpointTarget(Addresses.parseIp("127.0.40.15"), 18141, 1, true, true, true, "node-a", false,
                        false),
                // terminating and ready by its condition (publishNotReadyAddresses): counted, as kube-proxy's IsReady
                new EndpointTarget(Addresses.parseIp("127.0.40.16"), 18141, 1, true, true, true, "node-a", false,
                        true),
                target("127.0.40.13", false, false, "node-a"),
                target("127.0.40.14", true, false, "node-b"),
                // ready, but weight 0 takes no new connection: not counted (the Local policy could not use it)
                new EndpointTarget(Addresses.parseIp("127.0.40.17"), 18141, 0, true, true, false, "node-a")));
        ServiceTable table = new ServiceTable();
        table.put(new ServicePort(spec, listInForce(spec)));
        HealthCheckNodePorts checks = new HealthCheckNodePorts(null, null, table, () -> true);
        checks.apply(List.of(), new NodeSettings(List.of(), 30000, 32767, "node-a"));
        assertThat(checks.localEndpoints("web/shop")).isEqualTo(2);
        checks.apply(List.of(), new NodeSettings(List.of(), 30000, 32767, ""));
        assertThat(checks.localEndpoints("web/shop")).as("no node name: no endpoint is local").isZero();
    }

    /** The list the reconciler publishes for {@code spec} while every endpoint is in service: its ready ones. */
    static BackendSet listInForce(ServicePortSpec spec) {
        return BackendSet.of("rr", Set.of(), SessionAffinity.NONE, spec.endpoints().stream()
                .filter(EndpointTarget::ready).map(t -> BackendState.of(t.ip(), t.port(), t.weight())).toList(),
                System::nanoTime);
    }

    private static EndpointTarget target(String ip, boolean ready, boolean terminating, String node) {
        return new EndpointTarget(Addresses.parseIp(ip), 18141, 1, ready, ready || terminating, terminating, node);
    }
}
