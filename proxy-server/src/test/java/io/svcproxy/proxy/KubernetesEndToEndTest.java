package io.svcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import java.io.IOException;
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
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * svcproxy following a cluster: the fabric8 mock API server in CRUD mode holds Services and EndpointSlices, the
 * proxy reaches it through a kubeconfig file, and real traffic flows to loopback backends while the cluster
 * changes. Each change must be in effect within 2 s.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class KubernetesEndToEndTest extends KubernetesProxyTestBase {
    static final Duration WITHIN = Duration.ofSeconds(2);
    /**
     * The first list after start: the informers' first requests, the mock server's answers and the first
     * recompute, on a JVM that just started; on a loaded 2-core machine this took over 2 s (the changes after it,
     * bounded by {@link #WITHIN}, did not).
     */
    static final Duration FIRST_SYNC = Duration.ofSeconds(15);
    static final String CLUSTER_IP = "127.0.10.8";
    static final int PORT = 18110;

    @BeforeEach
    void startBackends() throws Exception {
        for (int i = 1; i <= 3; i++) {
            backends.add(TestBackend.start(new InetSocketAddress("127.0.0.1" + i, 0), "pod-" + i, Mode.NAME));
        }
    }

    void startProxy() throws Exception {
        startProxy("");
    }

    /** Starts the proxy on the mock API server; {@code proxy} adds keys to the config's {@code proxy} map. */
    void startProxy(String proxyKeys) throws Exception {
        startProxy(proxyKeys, "");
    }

    static Service service(String name, String scheduler) {
        ServiceBuilder b = new ServiceBuilder().withNewMetadata().withName(name).withNamespace("default")
                .endMetadata()
                .withNewSpec().withType("ClusterIP").withClusterIP(CLUSTER_IP).withClusterIPs(CLUSTER_IP)
                .addNewPort().withName("http").withProtocol("TCP").withPort(PORT)
                .withTargetPort(new IntOrString("http")).endPort().endSpec();
        if (scheduler != null) {
            b.editMetadata().addToAnnotations("svcproxy.io/scheduler", scheduler).endMetadata();
        }
        return b.build();
    }

    Endpoint endpoint(int pod, boolean ready) {
        TestBackend b = backends.get(pod - 1);
        return new EndpointBuilder().withAddresses(b.address().getAddress().getHostAddress())
                .withNewConditions().withReady(ready).withServing(ready).withTerminating(false).endConditions()
                .build();
    }

    /** One slice per backend port: each TestBackend listens on a port of its own. */
    void slices(int... readyPods) {
        Set<Integer> ready = new HashSet<>();
        for (int p : readyPods) {
            ready.add(p);
        }
        for (int pod = 1; pod <= backends.size(); pod++) {
            String name = "web-pod" + pod;
            EndpointSlice slice = new EndpointSliceBuilder().withNewMetadata().withName(name)
                    .withNamespace("default").addToLabels("kubernetes.io/service-name", "web").endMetadata()
                    .withAddressType("IPv4")
                    .addToEndpoints(endpoint(pod, ready.contains(pod)))
                    .addNewPort().withName("http").withProtocol("TCP")
                    .withPort(backends.get(pod - 1).address().getPort()).endPort().build();
            client.discovery().v1().endpointSlices().resource(slice).createOr(r -> r.update());
        }
    }

    static String name() throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(5000);
            s.connect(new InetSocketAddress(CLUSTER_IP, PORT), 2000);
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        }
    }

    static Set<String> names(int n) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            try {
                seen.add(name());
            } catch (IOException e) {
                seen.add("error: " + e.getMessage());
            }
        }
        return seen;
    }

    int readyz() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + proxy.adminAddress().getPort() + "/readyz")).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode();
    }

    @Test
    void followsCreateScaleNotReadyAndDeleteWithTrafficFlowing() throws Exception {
        startProxy();
        await().atMost(FIRST_SYNC).until(() -> readyz() == 200); // synced: an empty cluster

        client.services().resource(service("web", null)).create();
        slices(1);
        await().atMost(WITHIN).until(() -> names(3).equals(Set.of("pod-1")));

        // A background client keeps connecting while the cluster changes: no connection may fail.
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger failures = new AtomicInteger();
        AtomicInteger served = new AtomicInteger();
        Thread load = new Thread(() -> {
            for (int i = 0; i < 100_000 && !stop.get(); i++) { // bounded
                try {
                    if (name().startsWith("pod-")) {
                        served.incrementAndGet();
                    } else {
                        failures.incrementAndGet();
                    }
                } catch (IOException e) {
                    failures.incrementAndGet();
                }
            }
        });
        load.start();
        try {
            slices(1, 2, 3); // scale to three
            await().atMost(WITHIN).until(() -> names(6).equals(Set.of("pod-1", "pod-2", "pod-3")));

            slices(1, 3); // pod-2 not ready
            await().atMost(WITHIN).until(() -> names(6).equals(Set.of("pod-1", "pod-3")));
        } finally {
            stop.set(true);
            load.join(30_000);
        }
        assertThat(failures.get()).isZero();
        assertThat(served.get()).isPositive();

        client.services().inNamespace("default").withName("web").delete();
        await().atMost(WITHIN).until(() -> proxy.table().keys().isEmpty());
        await().atMost(WITHIN).until(() -> {
            try {
                name();
                return false;
            } catch (IOException e) {
                return true; // refused: the listener is gone
            }
        });
    }

    @Test
    void theSchedulerAnnotationChoosesTheScheduler() throws Exception {
        startProxy();
        client.services().resource(service("web", "sh")).create();
        slices(1, 2, 3);
        await().atMost(WITHIN).until(() -> !proxy.table().keys().isEmpty()
                && proxy.table().servicePorts().get(0).backendSet().backends().size() == 3);
        assertThat(proxy.table().servicePorts().get(0).backendSet().schedulerName()).isEqualTo("sh");
        assertThat(names(5)).hasSize(1); // one client address: one endpoint
    }

    /** SPEC's Reload: changed schedulers are swapped in, those the YAML chooses for Kubernetes Services too. */
    @Test
    void aReloadSwapsTheSchedulerTheYamlChoosesForAKubernetesService() throws Exception {
        startProxy("", "    services: [{name: web, scheduler: sh}]\n");
        client.services().resource(service("web", null)).create();
        slices(1, 2, 3);
        await().atMost(WITHIN).until(() -> !proxy.table().keys().isEmpty()
                && proxy.table().servicePorts().get(0).backendSet().backends().size() == 3);
        assertThat(proxy.table().servicePorts().get(0).backendSet().schedulerName()).isEqualTo("sh");

        proxy.reload(ConfigLoader.load(writeConfig("", "    services: [{name: web, scheduler: wlc}]\n")));
        await().atMost(WITHIN).until(() -> proxy.table().servicePorts().get(0).backendSet().schedulerName()
                .equals("wlc"));
        proxy.reload(ConfigLoader.load(writeConfig("", "")));
        await("proxy.scheduler again").atMost(WITHIN).until(() -> proxy.table().servicePorts().get(0)
                .backendSet().schedulerName().equals("rr"));
    }

    /**
     * The node the mapping takes as this one is the data plane's: {@code proxy.nodeName} (SPEC's key) alone, without
     * {@code registry.kubernetes.nodeName} or {@code $NODE_NAME}, makes a Service of {@code internalTrafficPolicy:
     * Local} use this node's endpoints (it had none, and every connection was refused).
     */
    @Test
    void internalTrafficPolicyLocalUsesTheNodeOfProxyNodeName() throws Exception {
        startProxy(", nodeName: node-a");
        Service web = service("web", null);
        web.getSpec().setInternalTrafficPolicy("Local");
        client.services().resource(web).create();
        for (int pod = 1; pod <= backends.size(); pod++) {
            Endpoint e = endpoint(pod, true);
            e.setNodeName(pod == 2 ? "node-a" : "node-b");
            client.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata()
                    .withName("web-pod" + pod).withNamespace("default")
                    .addToLabels("kubernetes.io/service-name", "web").endMetadata().withAddressType("IPv4")
                    .addToEndpoints(e).addNewPort().withName("http").withProtocol("TCP")
                    .withPort(backends.get(pod - 1).address().getPort()).endPort().build()).create();
        }
        await().atMost(WITHIN).until(() -> !proxy.table().keys().isEmpty()
                && proxy.table().servicePorts().get(0).backendSet().backends().size() == 1);
        assertThat(names(4)).containsExactly("pod-2");

        // another node name by reload: the mapping keeps its node until a restart, so the data plane keeps it too
        // (before, its address rules took node-b and refused the Local traffic the mapping still gave node-a)
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, Files.readString(config).replace("nodeName: node-a", "nodeName: node-b"));
        assertThat(proxy.reloadFromFile()).isTrue();
        assertThat(names(4)).containsExactly("pod-2");
    }

    @Test
    void readyzWaitsForTheFirstSync() throws Exception {
        apiServer.stop(); // nothing answers: the informers cannot sync
        startProxy();
        assertThat(readyz()).isEqualTo(503);
        assertThat(proxy.table().isReady()).isFalse();
    }
}
