package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * NodePort, externalIPs and LoadBalancer Services on loopback: every address of a Service port serves the same
 * endpoint list and scheduler state; source ranges on the LoadBalancer IPs; addresses bound and unbound by
 * difference on reload. ClusterIPs 127.0.10.100-149; node, external, LoadBalancer and client addresses and the
 * endpoints in 127.0.20-40.x.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServiceTypesTest {
    static final String NODE = "127.0.20.1";
    static final String EXTERNAL = "127.0.30.1";
    static final String LB = "127.0.31.1";
    static final int PORT = 18130;

    ProxyFixture fixture = new ProxyFixture(Transport.select());
    List<TestBackend> backends = new ArrayList<>();

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    private String endpoints() throws Exception {
        for (String name : List.of("a", "b", "c")) {
            backends.add(fixture.backend("127.0.40." + (backends.size() + 1), name, Mode.NAME));
        }
        return ProxyFixture.endpoints(backends.toArray(TestBackend[]::new));
    }

    private static String read(String ip, int port) throws IOException {
        return read(ip, port, null);
    }

    private static String read(String ip, int port, String from) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(5000);
            if (from != null) {
                s.bind(new InetSocketAddress(from, 0));
            }
            s.connect(new InetSocketAddress(ip, port), 5000);
            return Net.readAllText(s).trim();
        }
    }

    /** Returns whether nothing listens at {@code ip:port} (connection refused). */
    private static boolean refused(String ip, int port) throws IOException {
        try (Socket s = Net.connect(ip, port)) {
            return false;
        } catch (java.net.ConnectException e) {
            return true;
        }
    }

    @Test
    void aNodePortServiceAnswersOnTheNodeAddressAndTheClusterIpWithOneRoundRobinCycle() throws Exception {
        ProxyServer server = fixture.proxy("proxy: {admin: off, nodeAddresses: [" + NODE + ", 127.0.20.2]}\n"
                + "services:\n  - name: np\n    type: NodePort\n    clusterIP: 127.0.10.100\n"
                + "    ports: [{port: " + PORT + ", nodePort: 30130}]\n" + endpoints());
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            names.add(read("127.0.10.100", PORT));
            names.add(read(NODE, 30130));
            names.add(read("127.0.20.2", 30130));
        }
        assertThat(names).containsExactly("a", "b", "c", "a", "b", "c", "a", "b", "c");
        assertThat(server.listeners().boundAddresses(server.table().keys().iterator().next()))
                .containsExactlyInAnyOrder(new InetSocketAddress(NODE, 30130), new InetSocketAddress("127.0.20.2",
                        30130));
        assertThat(refused(NODE, PORT)).as("the node address serves the nodePort only").isTrue();
    }

    @Test
    void externalAndLoadBalancerIpsShareTheRotationAndSourceRangesApplyOnTheLoadBalancerIpOnly() throws Exception {
        ProxyServer server = fixture.proxy("proxy: {admin: off}\nservices:\n  - name: lb\n    type: LoadBalancer\n"
                + "    clusterIP: 127.0.10.101\n    externalIPs: [" + EXTERNAL + "]\n    loadBalancerIPs: [" + LB
                + "]\n    loadBalancerSourceRanges: [127.0.21.0/24]\n"
                + "    ports: [{port: " + PORT + ", nodePort: 30131}]\n" + endpoints());
        assertThat(List.of(read(EXTERNAL, PORT), read(LB, PORT, "127.0.21.9"), read("127.0.10.101", PORT)))
                .containsExactly("a", "b", "c");
        ServicePort port = server.table().get(server.table().keys().iterator().next());
        assertThat(port.rejectedCount(Rejection.SOURCE_RANGE)).isZero();
        assertThat(read(LB, PORT, "127.0.22.9")).as("outside the ranges: closed at once, no endpoint").isEmpty();
        // no endpoint was taken: the rotation goes on where it was
        assertThat(read(EXTERNAL, PORT, "127.0.22.9")).as("the ranges do not apply on external IPs").isEqualTo("a");
        assertThat(read("127.0.10.101", PORT, "127.0.22.9")).isEqualTo("b");
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> port.rejectedCount(Rejection.SOURCE_RANGE) == 1);
        assertThat(server.meterRegistry().scrape()).contains("reason=\"source_range\"");
    }

    private String localPolicyService(String nodeName) throws Exception {
        StringBuilder eps = new StringBuilder("    endpoints:\n");
        String[] nodes = {"node-a", "node-b", "node-a"};
        for (String name : List.of("a", "b", "c")) {
            TestBackend t = fixture.backend("127.0.40." + (backends.size() + 1), name, Mode.NAME);
            eps.append("      - {ip: ").append(t.address().getAddress().getHostAddress()).append(", port: ")
                    .append(t.address().getPort()).append(", nodeName: ").append(nodes[backends.size()]).append("}\n");
            backends.add(t);
        }
        return "proxy: {admin: off, nodeName: " + nodeName + ", nodeAddresses: [127.0.20.3]}\nservices:\n"
                + "  - name: local\n    type: NodePort\n    clusterIP: 127.0.10.103\n"
                + "    externalTrafficPolicy: Local\n    ports: [{port: " + PORT + ", nodePort: 30133}]\n" + eps;
    }

    @Test
    void theApiMetricsAndRejectionsNameTheAddressAConnectionCameInOn() throws Exception {
        ProxyServer server = fixture.proxy("proxy: {admin: 127.0.0.1:0, nodeAddresses: [127.0.20.4]}\nservices:\n"
                + "  - name: all\n    type: LoadBalancer\n    clusterIP: 127.0.10.104\n    externalIPs: [127.0.30.4]\n"
                + "    loadBalancerIPs: [127.0.31.4]\n    loadBalancerSourceRanges: [127.0.21.0/24]\n"
                + "    ports: [{port: " + PORT + ", nodePort: 30134}]\n" + endpoints());
        read("127.0.10.104", PORT);
        read("127.0.20.4", 30134);
        read("127.0.20.4", 30134);
        read("127.0.30.4", PORT);
        read("127.0.31.4", PORT, "127.0.21.4");
        assertThat(read("127.0.31.4", PORT, "127.0.22.4")).isEmpty();
        ServicePort port = server.table().get(server.table().keys().iterator().next());
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> port.rejectedCount(Rejection.SOURCE_RANGE) == 1);

        String labels = ",port=\"" + PORT + "\",service=\"default/all\"} ";
        assertThat(server.meterRegistry().scrape())
                .contains("svcproxy_address_connections_total{address=\"cluster\"" + labels + "1.0")
                .contains("svcproxy_address_connections_total{address=\"node\"" + labels + "2.0")
                .contains("svcproxy_address_connections_total{address=\"external\"" + labels + "1.0")
                .contains("svcproxy_address_connections_total{address=\"lb\"" + labels + "2.0")
                .contains("svcproxy_rejected_connections_total{port=\"" + PORT
                        + "\",reason=\"source_range\",service=\"default/all\"} 1.0");

        java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                        + server.adminAddress().getPort() + "/api/v1/services")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        com.fasterxml.jackson.databind.JsonNode svc = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(response.body()).get("services").get(0);
        assertThat(svc.get("type").asText()).isEqualTo("LoadBalancer");
        assertThat(svc.get("externalTrafficPolicy").asText()).isEqualTo("Cluster");
        assertThat(svc.get("addresses").toString()).isEqualTo("[{\"address\":\"127.0.10.104:" + PORT
                + "\",\"kind\":\"cluster\"},{\"address\":\"127.0.20.4:30134\",\"kind\":\"node\"},"
                + "{\"address\":\"127.0.30.4:" + PORT + "\",\"kind\":\"external\"},"
                + "{\"address\":\"127.0.31.4:" + PORT + "\",\"kind\":\"lb\"}]");
        assertThat(svc.get("connectionsByAddress").toString())
                .isEqualTo("{\"cluster\":1,\"node\":2,\"external\":1,\"lb\":2}");
        assertThat(svc.get("rejected").get("source_range").asLong()).isEqualTo(1);
    }

    @Test
    void localPolicyUsesOnlyThisNodesEndpointsOnTheNodeAddressWithTheRotationOfTheFullList() throws Exception {
        fixture.proxy(localPolicyService("node-a"));
        List<String> names = List.of(read("127.0.10.103", PORT), read("127.0.10.103", PORT), read("127.0.20.3", 30133),
                read("127.0.20.3", 30133), read("127.0.10.103", PORT), read("127.0.20.3", 30133));
        assertThat(names).as("b is on node-b: never through the node address").containsExactly("a", "b", "c", "a",
                "b", "c");
    }

    @Test
    void localPolicyWithNoLocalEndpointRefusesOnTheNodeAddressAndCountsIt() throws Exception {
        ProxyServer server = fixture.proxy(localPolicyService("node-z"));
        ServicePort port = server.table().get(server.table().keys().iterator().next());
        assertThat(read("127.0.20.3", 30133)).as("closed at once").isEmpty();
        assertThat(read("127.0.10.103", PORT)).as("the clusterIP uses every endpoint").isEqualTo("a");
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> port.rejectedCount(Rejection.NO_LOCAL_ENDPOINT) == 1);
        assertThat(port.noEndpointCount()).isZero();
        assertThat(server.meterRegistry().scrape()).contains("reason=\"no_local_endpoint\"");
    }

    @Test
    void anExternalIpThatAReloadMakesALoadBalancerIpGetsItsSourceRangesWithoutBeingRebound() throws Exception {
        String eps = endpoints();
        String head = "proxy: {admin: off}\nservices:\n  - name: lb\n    type: LoadBalancer\n"
                + "    clusterIP: 127.0.10.103\n";
        String tail = "    ports: [{port: " + PORT + ", nodePort: 30133}]\n" + eps;
        ProxyServer server = fixture.proxy(head + "    externalIPs: [" + LB + "]\n" + tail);
        ServicePort port = server.table().get(server.table().keys().iterator().next());
        Channel listener = server.listeners().extraTcpListeners(port.key()).iterator().next();
        assertThat(read(LB, PORT, "127.0.22.9")).as("an external IP: no ranges").isEqualTo("a");

        server.reload(ConfigLoader.parse(head + "    loadBalancerIPs: [" + LB + "]\n"
                + "    loadBalancerSourceRanges: [127.0.21.0/24]\n" + tail, "r.yaml"));

        assertThat(port.extraAddresses()).containsExactly(Map.entry(new InetSocketAddress(LB, PORT), AddressKind.LB));
        assertThat(server.listeners().extraTcpListeners(port.key())).as("the same socket, not rebound")
                .containsExactly(listener);
        assertThat(read(LB, PORT, "127.0.22.9")).as("outside the ranges now: closed at once").isEmpty();
        assertThat(read(LB, PORT, "127.0.21.9")).isEqualTo("b");
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> port.rejectedCount(Rejection.SOURCE_RANGE) == 1);

        server.reload(ConfigLoader.parse(head + "    externalIPs: [" + LB + "]\n" + tail, "r.yaml"));

        assertThat(port.extraAddresses()).containsExactly(
                Map.entry(new InetSocketAddress(LB, PORT), AddressKind.EXTERNAL));
        assertThat(read(LB, PORT, "127.0.22.9")).as("an external IP again").isEqualTo("c");
        assertThat(port.rejectedCount(Rejection.SOURCE_RANGE)).isEqualTo(1);
    }

    @Test
    void reloadAddsAndRemovesExternalAddressesUnderLoadWithoutDisturbingTheClusterIp() throws Exception {
        String eps = endpoints();
        String head = "proxy: {admin: off}\nservices:\n  - name: ext\n    clusterIP: 127.0.10.102\n";
        String tail = "    ports: [{port: " + PORT + "}]\n" + eps;
        ProxyServer server = fixture.proxy(head + tail);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger served = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread load = new Thread(() -> {
            while (!stop.get()) {
                try {
                    assertThat(read("127.0.10.102", PORT)).isIn("a", "b", "c");
                    served.incrementAndGet();
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                    return;
                }
            }
        });
        load.start();
        try {
            for (int round = 0; round < 5; round++) {
                server.reload(ConfigLoader.parse(head + "    externalIPs: [" + EXTERNAL + ", 127.0.30.2]\n" + tail,
                        "r.yaml"));
                assertThat(read(EXTERNAL, PORT)).isIn("a", "b", "c");
                assertThat(read("127.0.30.2", PORT)).isIn("a", "b", "c");
                server.reload(ConfigLoader.parse(head + "    externalIPs: [127.0.30.2]\n" + tail, "r.yaml"));
                assertThat(refused(EXTERNAL, PORT)).as("unbound on reload").isTrue();
                assertThat(read("127.0.30.2", PORT)).isIn("a", "b", "c");
                server.reload(ConfigLoader.parse(head + tail, "r.yaml"));
                assertThat(refused("127.0.30.2", PORT)).isTrue();
            }
        } finally {
            stop.set(true);
            load.join(10_000);
        }
        assertThat(failure.get()).isNull();
        assertThat(served.get()).isPositive();
        assertThat(server.listeners().boundAddresses(server.table().keys().iterator().next())).isEmpty();
    }
}
