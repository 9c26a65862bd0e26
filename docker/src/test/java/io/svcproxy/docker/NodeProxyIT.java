package io.svcproxy.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.testcontainers.containers.GenericContainer;
import org.yaml.snakeyaml.Yaml;

/**
 * svcproxy as the node's Service proxy, run as {@code docker/k8s/node-proxy.yaml} runs it: the image in the host's
 * network namespace (the DaemonSet's {@code hostNetwork}), as root with only NET_ADMIN and NET_BIND_SERVICE, a
 * read-only root filesystem, {@code NODE_NAME} set as the downward API sets it, and the example's own ConfigMap
 * config. The fabric8 mock API server (CRUD mode, in this JVM) plays the cluster; the endpoints are loopback
 * backends in this JVM.
 *
 * <p>Three keys of the example's config are changed for this machine, and only these: the kubeconfig (the mock
 * server instead of the in-cluster account), the admin address (loopback instead of every interface) and
 * {@code nodeAddresses} ({@code 127.0.0.0/8}: this host's loopback addresses stand for the node's, found through
 * the same interface lookup as the example's private ranges). Everything else, {@code vipInterface} included, is
 * the example's.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeProxyIT {
    private static final String CLUSTER_IP = "127.0.10.60";
    private static final String LOCAL_CLUSTER_IP = "127.0.10.61";
    private static final String NODE_ADDRESS = "127.0.0.1"; // inside nodeAddresses 127.0.0.0/8, on lo
    private static final int PORT = 18160;
    private static final int NODE_PORT = 31460;
    private static final int LOCAL_NODE_PORT = 31461;

    private static KubernetesMockServer apiServer;
    private static KubernetesClient client;
    private static final List<TestBackend> backends = new ArrayList<>();
    private static GenericContainer<?> node;
    private static int adminPort;
    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void startNode() throws Exception {
        String image = SvcproxyImage.tag();
        apiServer = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), true);
        apiServer.init(InetAddress.getByName("127.0.0.1"), 0);
        client = apiServer.createClient();
        String[] names = {"a", "b", "c"};
        for (int i = 0; i < names.length; i++) {
            backends.add(TestBackend.start(new InetSocketAddress("127.0.0.6" + (i + 1), 0), names[i], Mode.NAME));
        }
        createService("web", CLUSTER_IP, NODE_PORT, "Cluster");
        createService("local", LOCAL_CLUSTER_IP, LOCAL_NODE_PORT, "Local");

        Path dir = ExampleOnHost.configDir("svcproxy-node-");
        ExampleOnHost.writeKubeconfig(dir, client);
        adminPort = ExampleOnHost.freePort();
        ExampleOnHost.write(dir.resolve("svcproxy.yaml"), exampleConfigForThisMachine(adminPort));

        DaemonSet daemonSet = example().stream().filter(DaemonSet.class::isInstance).map(DaemonSet.class::cast)
                .findFirst().orElseThrow();
        node = ExampleOnHost.container(image, daemonSet.getSpec().getTemplate().getSpec().getContainers().get(0), dir)
                .withEnv("NODE_NAME", "node-a");
        node.start();
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.stop();
        }
        backends.forEach(TestBackend::close);
        if (client != null) {
            client.close();
        }
        if (apiServer != null) {
            apiServer.destroy();
        }
    }

    @Test
    @Order(1)
    void aNodePortServiceAnswersOnTheNodeAddressAndTheClusterIpWithOneRoundRobinCycle() throws Exception {
        await("the Services synced from the API").atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> !read(NODE_ADDRESS, NODE_PORT).isEmpty());
        // one full cycle already taken by the wait above is not assumed: start at the next endpoint and check
        // that clusterIP and node address take turns in one rotation
        String first = read(CLUSTER_IP, PORT);
        List<String> order = List.of("a", "b", "c");
        List<String> seen = new ArrayList<>(List.of(first));
        for (int i = 0; i < 5; i++) {
            seen.add(i % 2 == 0 ? read(NODE_ADDRESS, NODE_PORT) : read(CLUSTER_IP, PORT));
        }
        int start = order.indexOf(first);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            expected.add(order.get((start + i) % 3));
        }
        assertThat(seen).as("one rr cycle across the clusterIP and the node address").isEqualTo(expected);
    }

    @Test
    @Order(2)
    void localPolicyServesOnlyThisNodesEndpointOnTheNodeAddress() throws Exception {
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> !read(NODE_ADDRESS, LOCAL_NODE_PORT).isEmpty());
        for (int i = 0; i < 4; i++) {
            assertThat(read(NODE_ADDRESS, LOCAL_NODE_PORT)).as("only a is on node-a (NODE_NAME)").isEqualTo("a");
        }
        assertThat(List.of(read(LOCAL_CLUSTER_IP, PORT), read(LOCAL_CLUSTER_IP, PORT), read(LOCAL_CLUSTER_IP, PORT)))
                .as("the clusterIP uses every endpoint").containsExactlyInAnyOrder("a", "b", "c");
    }

    @Test
    @Order(3)
    void theAdminApiNamesTheNodeAddressAndCountsByKind() throws Exception {
        String services = get("/api/v1/services");
        assertThat(services).contains("\"type\":\"NodePort\"")
                .contains("{\"address\":\"" + NODE_ADDRESS + ":" + NODE_PORT + "\",\"kind\":\"node\"}");
        assertThat(get("/metrics")).contains("svcproxy_address_connections_total{address=\"node\"");
        assertThat(node.getLogs()).contains("transport=epoll").doesNotContain("ERROR");
    }

    @Test
    @Order(4)
    void aNodePortRemovedFromTheApiStopsListening() throws Exception {
        client.services().inNamespace("default").withName("local").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> refused(NODE_ADDRESS, LOCAL_NODE_PORT));
        assertThat(read(NODE_ADDRESS, NODE_PORT)).isIn("a", "b", "c");
    }

    @Test
    @Order(5)
    void dockerStopExitsZero() {
        assertThat(ExampleOnHost.stop(node)).isZero();
    }

    /** The example's ConfigMap config with this machine's kubeconfig, admin address and node addresses. */
    @SuppressWarnings("unchecked")
    static String exampleConfigForThisMachine(int adminPort) throws IOException {
        ConfigMap map = example().stream().filter(ConfigMap.class::isInstance).map(ConfigMap.class::cast)
                .findFirst().orElseThrow();
        Map<String, Object> config = new Yaml().load(map.getData().get("svcproxy.yaml"));
        Map<String, Object> proxy = (Map<String, Object>) config.get("proxy");
        assertThat(proxy).containsKeys("admin", "nodeAddresses", "vipInterface");
        proxy.put("admin", "127.0.0.1:" + adminPort);
        proxy.put("nodeAddresses", List.of("127.0.0.0/8"));
        Map<String, Object> registry = (Map<String, Object>) config.get("registry");
        Map<String, Object> kubernetes = (Map<String, Object>) registry.get("kubernetes");
        assertThat(kubernetes).doesNotContainKey("kubeconfig");
        kubernetes.put("kubeconfig", "/etc/svcproxy/kubeconfig");
        return new Yaml().dump(config);
    }

    static List<HasMetadata> example() throws IOException {
        try (InputStream in = Files.newInputStream(SvcproxyImage.dockerDir().resolve("k8s/node-proxy.yaml"))) {
            return client.load(in).items();
        }
    }

    private static void createService(String name, String clusterIp, int nodePort, String policy) {
        client.services().inNamespace("default").resource(new ServiceBuilder().withNewMetadata().withName(name)
                .withNamespace("default").endMetadata().withNewSpec().withType("NodePort").withClusterIP(clusterIp)
                .withClusterIPs(clusterIp).withExternalTrafficPolicy(policy)
                .addNewPort().withName("http").withProtocol("TCP").withPort(PORT).withNodePort(nodePort)
                .withTargetPort(new IntOrString("http")).endPort().endSpec().build()).create();
        String[] nodes = {"node-a", "node-b", "node-b"};
        for (int i = 0; i < backends.size(); i++) { // one slice per backend: each listens on a port of its own
            TestBackend b = backends.get(i);
            client.discovery().v1().endpointSlices().inNamespace("default").resource(new EndpointSliceBuilder()
                    .withNewMetadata().withName(name + "-" + i).withNamespace("default")
                    .addToLabels("kubernetes.io/service-name", name).endMetadata()
                    .withAddressType("IPv4")
                    .addNewPort().withName("http").withProtocol("TCP").withPort(b.address().getPort()).endPort()
                    .addNewEndpoint().withAddresses(b.address().getAddress().getHostAddress()).withNodeName(nodes[i])
                    .withNewConditions().withReady(true).withServing(true).withTerminating(false).endConditions()
                    .endEndpoint().build()).create();
        }
    }

    private static String read(String ip, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(5000);
            s.connect(new InetSocketAddress(ip, port), 5000);
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        }
    }

    private static boolean refused(String ip, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(ip, port), 2000);
            return false;
        } catch (java.net.ConnectException e) {
            return true;
        }
    }

    private static String get(String path) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
                + path)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }
}
