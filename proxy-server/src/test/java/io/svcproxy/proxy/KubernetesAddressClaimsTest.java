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
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * Addresses that more than one listener would take, from the Kubernetes API (found by a review, helper-81): two
 * Services listing the same externalIP and port, and a Service on the address of svcproxy's Ingress listener.
 * kube-proxy's kernel rules let the first match and stay healthy; svcproxy gives each address to one listener and
 * stays ready. ClusterIPs on 127.0.10.71-77, endpoints on 127.0.0.51-52.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class KubernetesAddressClaimsTest extends KubernetesProxyTestBase {
    @BeforeEach
    void startBackends() throws Exception {
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.51", 42051), "pod-1", Mode.NAME));
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.52", 42052), "pod-2", Mode.NAME));
    }

    void startProxy(String services) throws Exception {
        startProxy("", services);
    }

    static Service service(String name, String clusterIP, int port, String... externalIPs) {
        return new ServiceBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withType("ClusterIP").withClusterIP(clusterIP).withClusterIPs(clusterIP)
                .withExternalIPs(externalIPs)
                .addNewPort().withName("http").withProtocol("TCP").withPort(port)
                .withTargetPort(new IntOrString("http")).endPort().endSpec().build();
    }

    static EndpointSlice slice(String service, String ip, int port) {
        return new EndpointSliceBuilder().withNewMetadata().withName(service + "-abc").withNamespace("default")
                .addToLabels("kubernetes.io/service-name", service).endMetadata().withAddressType("IPv4")
                .addNewEndpoint().withAddresses(ip).withNewConditions().withReady(true).withServing(true)
                .withTerminating(false).endConditions().endEndpoint()
                .addNewPort().withName("http").withProtocol("TCP").withPort(port).endPort().build();
    }

    int readyz() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + proxy.adminAddress().getPort() + "/readyz")).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode();
    }

    static String nameAt(String ip, int port) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.setSoTimeout(3000);
            s.connect(new InetSocketAddress(ip, port), 2000);
            return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        } catch (java.io.IOException e) {
            return "error: " + e;
        }
    }

    @Test
    void twoServicesListingTheSameExternalIpLeaveItToTheFirstByNameAndTheProxyStaysReady() throws Exception {
        Logger reconciler = (Logger) LoggerFactory.getLogger(Reconciler.class);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        reconciler.addAppender(log);
        try {
            twoServicesListingTheSameExternalIp();
        } finally {
            reconciler.detachAppender(log);
        }
        assertThat(log.list).as("the address passes from b to a and back without a failed bind")
                .noneMatch(e -> e.getLevel() == Level.ERROR);
    }

    private void twoServicesListingTheSameExternalIp() throws Exception {
        startProxy("");
        await().atMost(Duration.ofSeconds(15)).until(() -> readyz() == 200);
        client.services().resource(service("b", "127.0.10.72", 42002, "127.0.10.73")).create();
        client.discovery().v1().endpointSlices().resource(slice("b", "127.0.0.52", 42052)).create();
        client.services().resource(service("a", "127.0.10.71", 42002, "127.0.10.73")).create();
        client.discovery().v1().endpointSlices().resource(slice("a", "127.0.0.51", 42051)).create();
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.table().keys().size() == 2
                && nameAt("127.0.10.71", 42002).equals("pod-1"));
        await().atMost(Duration.ofSeconds(5)).until(() -> readyz() == 200);
        assertThat(nameAt("127.0.10.73", 42002)).as("a, the first by name").isEqualTo("pod-1");
        assertThat(nameAt("127.0.10.72", 42002)).isEqualTo("pod-2");

        client.services().inNamespace("default").withName("a").delete();
        await().atMost(Duration.ofSeconds(5)).until(() -> nameAt("127.0.10.73", 42002).equals("pod-2"));
        assertThat(readyz()).isEqualTo(200);
    }

    @Test
    void aServiceOnTheAddressOfTheIngressListenerIsLeftOutAndTheProxyStaysReady() throws Exception {
        startProxy(", ingress: {http: \"127.0.10.76:42817\"}", ""); // (a wildcard one: RegistryTest)
        await().atMost(Duration.ofSeconds(15)).until(() -> readyz() == 200);
        client.services().resource(service("web", "127.0.10.76", 42817)).create();
        client.discovery().v1().endpointSlices().resource(slice("web", "127.0.0.51", 42051)).create();
        client.services().resource(service("other", "127.0.10.77", 42818)).create();
        client.discovery().v1().endpointSlices().resource(slice("other", "127.0.0.52", 42052)).create();
        await().atMost(Duration.ofSeconds(5)).until(() -> nameAt("127.0.10.77", 42818).equals("pod-2"));
        assertThat(proxy.table().keys()).extracting(Object::toString).containsExactly("127.0.10.77:42818/TCP");
        await().atMost(Duration.ofSeconds(5)).until(() -> readyz() == 200);
    }
}
