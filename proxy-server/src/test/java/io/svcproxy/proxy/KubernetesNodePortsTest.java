package io.svcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.reconcile.Reconciler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * From helper-114's review of the Kubernetes source as the proxy uses it: the fabric8 mock API server in CRUD mode,
 * real traffic on loopback. Endpoints 127.0.0.101-110, ClusterIPs 127.0.10.117-121, node addresses 127.0.114.x.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class KubernetesNodePortsTest extends KubernetesProxyTestBase {
    static final Duration FIRST_SYNC = Duration.ofSeconds(15);
    static final String NODE = "127.0.114.1";
    static final String CLUSTER_IP = "127.0.10.117";

    final ListAppender<ILoggingEvent> reconcilerLog = new ListAppender<>();

    @BeforeEach
    void startBackends() throws Exception {
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.101", 0), "pod-a", Mode.NAME));
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.102", 0), "pod-b", Mode.NAME));
        reconcilerLog.start();
        ((Logger) LoggerFactory.getLogger(Reconciler.class)).addAppender(reconcilerLog);
    }

    @AfterEach
    void detachLog() {
        ((Logger) LoggerFactory.getLogger(Reconciler.class)).detachAppender(reconcilerLog);
    }

    void startProxy(String proxyKeys) throws Exception {
        startProxy(proxyKeys, "");
    }

    /** A NodePort Service with port {@code a} (18141) and port {@code b} (18142) at the given node ports. */
    static Service twoPortNodePort(int nodePortA, int nodePortB) {
        return new ServiceBuilder().withNewMetadata().withName("swap").withNamespace("default").endMetadata()
                .withNewSpec().withType("NodePort").withClusterIP(CLUSTER_IP).withClusterIPs(CLUSTER_IP)
                .addNewPort().withName("a").withProtocol("TCP").withPort(18141).withTargetPort(new IntOrString("a"))
                .withNodePort(nodePortA).endPort()
                .addNewPort().withName("b").withProtocol("TCP").withPort(18142).withTargetPort(new IntOrString("b"))
                .withNodePort(nodePortB).endPort()
                .endSpec().build();
    }

    /** Port {@code portName} of the Service is served by backend {@code pod} alone (a slice of its own). */
    void slice(String service, String portName, int pod) {
        TestBackend b = backends.get(pod);
        EndpointSlice slice = new EndpointSliceBuilder().withNewMetadata().withName(service + "-" + portName)
                .withNamespace("default").addToLabels("kubernetes.io/service-name", service).endMetadata()
                .withAddressType("IPv4")
                .addNewEndpoint().withAddresses(b.address().getAddress().getHostAddress()).withNewConditions()
                .withReady(true).endConditions().endEndpoint()
                .addNewPort().withName(portName).withProtocol("TCP").withPort(b.address().getPort()).endPort().build();
        client.discovery().v1().endpointSlices().resource(slice).createOr(r -> r.update());
    }

    static String name(String ip, int port) {
        try (Socket s = new Socket()) {
            s.setSoTimeout(5000);
            s.connect(new InetSocketAddress(ip, port), 2000);
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "error: " + e;
        }
    }

    List<String> errors() {
        return reconcilerLog.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    /**
     * A Service whose two ports swap their node ports in one update (the API server allows it: both stay allocated
     * to the Service) is applied as kube-proxy applies it, at once: each node port answers for its new Service port.
     * The reconciler's in-place path (same keys, same external and LoadBalancer IPs) bound port a's new node address
     * while port b still held it: "Cannot serve ... Address already in use", /readyz 503, and node port 31142 refused
     * until the next sync (the full path, which releases lost addresses first, was only taken then).
     */
    @Test
    void twoPortsOfAServiceSwappingTheirNodePortsAreServedAtOnce() throws Exception {
        startProxy(", nodeAddresses: [" + NODE + "]");
        client.services().resource(twoPortNodePort(31141, 31142)).create();
        slice("swap", "a", 0);
        slice("swap", "b", 1);
        await().atMost(FIRST_SYNC).until(() -> name(NODE, 31141).equals("pod-a")
                && name(NODE, 31142).equals("pod-b"));
        assertThat(errors()).isEmpty();

        client.services().resource(twoPortNodePort(31142, 31141)).update();
        // both end up right with the bug too, at the next sync: what tells is the bind failure logged meanwhile
        await().atMost(FIRST_SYNC).until(() -> name(NODE, 31141).equals("pod-b"));
        assertThat(name(NODE, 31142)).as("node port 31142, now port a's").isEqualTo("pod-a");
        assertThat(errors()).as("errors of the reconciler applying the swap").isEmpty();
    }

    /** The status of {@code GET /readyz}, or -1 when the admin server could not be asked. */
    int readyz() throws Exception {
        try {
            java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                            + proxy.adminAddress().getPort() + "/readyz")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            return r.statusCode();
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * The API server lets a Service list a node's own address as an externalIP (a common bare-metal pattern, and
     * what k3s's ServiceLB writes as LoadBalancer IPs) at a port that another Service has as its nodePort. kube-proxy
     * sends such traffic to the first rule that matches (the externalIP's, before the KUBE-NODEPORTS jump). svcproxy's
     * claims give each externalIP and LoadBalancer address to one listener so that the proxy does not stay unready
     * for good (ExtraAddressClaims), but node addresses at nodePorts were not among them: both listeners were bound,
     * the second failed with "Address already in use" every second, and /readyz answered 503 for good. The node
     * address now goes to the externalIP (PortAddresses.wanted).
     */
    @Test
    void anExternalIpAtANodeAddressAndAnotherServicesNodePortLeaveTheProxyReady() throws Exception {
        String node = "127.0.114.2";
        startProxy(", nodeAddresses: [" + node + "]");
        await().atMost(FIRST_SYNC).until(() -> readyz() == 200);
        Service external = new ServiceBuilder().withNewMetadata().withName("a-external").withNamespace("default")
                .endMetadata().withNewSpec().withType("ClusterIP").withClusterIP("127.0.10.118")
                .withClusterIPs("127.0.10.118").withExternalIPs(node)
                .addNewPort().withName("a").withProtocol("TCP").withPort(31150).withTargetPort(new IntOrString("a"))
                .endPort().endSpec().build();
        Service nodePort = new ServiceBuilder().withNewMetadata().withName("b-nodeport").withNamespace("default")
                .endMetadata().withNewSpec().withType("NodePort").withClusterIP("127.0.10.119")
                .withClusterIPs("127.0.10.119")
                .addNewPort().withName("b").withProtocol("TCP").withPort(18150).withTargetPort(new IntOrString("b"))
                .withNodePort(31150).endPort().endSpec().build();
        client.services().resource(external).create();
        client.services().resource(nodePort).create();
        slice("a-external", "a", 0);
        slice("b-nodeport", "b", 1);
        await().atMost(FIRST_SYNC).until(() -> name("127.0.10.118", 31150).equals("pod-a")
                && name("127.0.10.119", 18150).equals("pod-b"));

        await("/readyz with both Services listed").atMost(Duration.ofSeconds(15)).until(() -> readyz() == 200);
        assertThat(name(node, 31150)).as("the node address at 31150: the externalIP's, as kube-proxy's first rule")
                .isEqualTo("pod-a");
        assertThat(errors()).as("errors of the reconciler").isEmpty();
        assertThat(reconcilerLog.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("Node port not served at a node address"))).as("said once")
                .containsExactly("Node port not served at a node address: another Service listens there as its "
                        + "clusterIP, externalIP or LoadBalancer IP service=default/b-nodeport port=b address="
                        + node + ":31150/TCP");
    }
}
