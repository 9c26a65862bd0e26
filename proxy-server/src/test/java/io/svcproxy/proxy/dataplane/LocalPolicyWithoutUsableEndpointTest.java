package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code externalTrafficPolicy: Local} when this node's only endpoint takes no new connection: weight 0 (the config's
 * "no new connections", what an operator writes to drain a Pod) or failing its active checks (published at weight
 * 0). From helper-125's review: the healthCheckNodePort counted such an endpoint by its ready condition alone and
 * answered 200, so a cloud load balancer kept sending clients the node refused, and the refusals were counted as
 * {@code no_endpoint} instead of SPEC's {@code no_local_endpoint}. Node address 127.0.125.1, ClusterIP
 * 127.0.10.97, endpoints 127.0.0.35 (this node) and 127.0.0.36 (another node).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LocalPolicyWithoutUsableEndpointTest {
    static final String NODE = "127.0.125.1";

    final ProxyFixture fixture = new ProxyFixture(Transport.select());
    final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    int nodePort;
    int healthPort;

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    /** A port in the default nodePortRange that {@code ip} can bind now (asked of the OS, bounded tries). */
    static int freeNodePort(String ip, int not) throws IOException {
        for (int i = 0; i < 100; i++) {
            int port = ThreadLocalRandom.current().nextInt(30000, 32768);
            if (port == not) {
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(ip, port));
                return port;
            } catch (IOException e) {
                // taken: another
            }
        }
        throw new IOException("no free port in 30000-32767 at " + ip);
    }

    private ProxyServer start() throws Exception {
        TestBackend local = fixture.backend("127.0.0.35", "local", Mode.NAME);
        return start(local.address().getPort(), ", weight: 0", "");
    }

    /**
     * {@code localSuffix}: more keys of the local endpoint; {@code serviceExtra}: more keys of the Service (indented
     * lines).
     */
    private ProxyServer start(int localPort, String localSuffix, String serviceExtra) throws Exception {
        TestBackend remote = fixture.backend("127.0.0.36", "remote", Mode.NAME);
        nodePort = freeNodePort(NODE, 0);
        healthPort = freeNodePort(NODE, nodePort);
        int port;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.10.97", 0));
            port = s.getLocalPort();
        }
        return fixture.proxy("proxy: {admin: off, nodeName: node-a, nodeAddresses: [" + NODE + "]}\n"
                + "services:\n  - name: lw\n    type: LoadBalancer\n    clusterIP: 127.0.10.97\n"
                + "    externalTrafficPolicy: Local\n    healthCheckNodePort: " + healthPort + "\n"
                + "    ports: [{port: " + port + ", nodePort: " + nodePort + "}]\n" + serviceExtra
                + "    endpoints:\n"
                + "      - {ip: 127.0.0.35, port: " + localPort + ", nodeName: node-a" + localSuffix + "}\n"
                + "      - {ip: 127.0.0.36, port: " + remote.address().getPort() + ", nodeName: node-b}\n");
    }

    private static String read(String ip, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(5000);
            s.connect(new InetSocketAddress(ip, port), 5000);
            return Net.readAllText(s).trim();
        }
    }

    /**
     * Every connection to the node address is closed (the only local endpoint takes none), yet the health check
     * node port answers 200 with {@code localEndpoints: 1}, so a cloud load balancer keeps sending this node clients
     * that svcproxy refuses: the situation docs/operations.md keeps the last local endpoint from being ejected to
     * avoid. kube-proxy's check counts the endpoints that can take traffic (a terminating one is not counted).
     */
    @Test
    void theHealthCheckFailsWhenNoLocalEndpointTakesNewConnections() throws Exception {
        start();
        assertThat(read(NODE, nodePort)).as("the node address: nothing local takes connections").isEmpty();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://" + NODE + ":" + healthPort
                + "/healthz")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("health check answer while the node refuses every client: " + r.body())
                .isEqualTo(503);
    }

    /**
     * The refusal is counted as {@code no_endpoint}, not as SPEC's {@code no_local_endpoint} ("With none [...]
     * such connections are closed and counted as no_local_endpoint"): the Service has an endpoint able to take the
     * connection, only not on this node.
     */
    @Test
    void aNodeAddressRefusalForLackOfAUsableLocalEndpointIsCountedAsNoLocalEndpoint() throws Exception {
        ProxyServer server = start();
        ServicePort port = server.table().servicePorts().get(0);
        assertThat(read(NODE, nodePort)).isEmpty();
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> port.noEndpointCount() + port.rejectedCount(Rejection.NO_LOCAL_ENDPOINT) == 1);
        assertThat(port.rejectedCount(Rejection.NO_LOCAL_ENDPOINT)).as("no_local_endpoint (no_endpoint="
                + port.noEndpointCount() + ")").isEqualTo(1);
    }

    /**
     * The same with active health checks: this node's only endpoint fails its checks (nothing listens), the remote
     * one passes. The node address refuses every client (the local endpoint is published with weight 0, and the
     * Local policy may use no other), while the health check node port answers 200, {@code localEndpoints: 1}.
     */
    @Test
    void theHealthCheckFailsWhenThisNodesOnlyEndpointFailsItsChecks() throws Exception {
        int dead;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.35", 0));
            dead = s.getLocalPort();
        }
        ProxyServer server = start(dead, "", "    healthCheck: {interval: 200ms, timeout: 100ms, rise: 1, fall: 1}\n");
        ServicePort port = server.table().servicePorts().get(0);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> port.backendSet().backends().stream()
                .anyMatch(b -> b.state() == io.svcproxy.balancer.BackendState.State.UNHEALTHY));
        assertThat(read(NODE, nodePort)).as("the node address: nothing local takes connections").isEmpty();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://" + NODE + ":" + healthPort
                + "/healthz")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("health check answer while the node refuses every client: " + r.body())
                .isEqualTo(503);
    }
}
