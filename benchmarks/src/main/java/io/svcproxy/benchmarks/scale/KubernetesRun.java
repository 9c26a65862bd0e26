package io.svcproxy.benchmarks.scale;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * The cluster in the fabric8 mock API server (CRUD mode, in this JVM, on 127.0.0.1): one Service and one
 * EndpointSlice per Service; svcproxy watches it through a kubeconfig. A change replaces one EndpointSlice; the
 * changes reach svcproxy as MODIFIED events on its slice watch ({@link SliceWatchStream}).
 */
final class KubernetesRun extends Run {
    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private final SliceWatchStream watch = new SliceWatchStream(new KubernetesCrudDispatcher());

    KubernetesRun(Cluster cluster, ScaleBench.Options options) throws IOException {
        super(cluster, options);
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), watch,
                false);
        server.init(InetAddress.getByName("127.0.0.1"), 0);
        client = server.createClient();
    }

    @Override
    Path prepare() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            IntStream.range(0, cluster.services()).forEach(i -> pool.execute(() -> {
                client.services().inNamespace("default").resource(service(Cluster.name(i), Cluster.clusterIP(i),
                        Cluster.port(i))).create();
                client.discovery().v1().endpointSlices().inNamespace("default").resource(slice(i, 0)).create();
            }));
        } finally {
            pool.shutdown();
            pool.awaitTermination(30, TimeUnit.MINUTES);
        }
        client.services().inNamespace("default").resource(service("probe", Cluster.PROBE_IP, Cluster.PROBE_PORT))
                .create();
        client.discovery().v1().endpointSlices().inNamespace("default").resource(probeSlice(probeTarget)).create();
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters: [{name: mock, cluster: {server: "%s", insecure-skip-tls-verify: true}}]
                users: [{name: svcproxy, user: {token: scale}}]
                contexts: [{name: mock, context: {cluster: mock, user: svcproxy}}]
                current-context: mock
                """.formatted(client.getConfiguration().getMasterUrl()));
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, proxySection() + "registry:\n  kubernetes: {kubeconfig: " + kubeconfig + "}\n");
        return config;
    }

    private static Service service(String name, String clusterIP, int port) {
        return new ServiceBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withType("ClusterIP").withClusterIP(clusterIP).withClusterIPs(clusterIP)
                .addNewPort().withName("http").withProtocol("TCP").withPort(port)
                .withTargetPort(new IntOrString("http")).endPort().endSpec().build();
    }

    private EndpointSlice slice(int i, int generation) {
        EndpointSliceBuilder b = new EndpointSliceBuilder().withNewMetadata().withName(Cluster.name(i))
                .withNamespace("default").addToLabels("kubernetes.io/service-name", Cluster.name(i)).endMetadata()
                .withAddressType("IPv4")
                .addNewPort().withName("http").withProtocol("TCP").withPort(8080).endPort();
        for (int j = 0; j < cluster.endpoints(); j++) {
            b.addNewEndpoint().withAddresses(Cluster.endpointIP(j, generation)).withNewConditions().withReady(true)
                    .withServing(true).withTerminating(false).endConditions().endEndpoint();
        }
        return b.build();
    }

    private EndpointSlice probeSlice(String ip) {
        return new EndpointSliceBuilder().withNewMetadata().withName("probe").withNamespace("default")
                .addToLabels("kubernetes.io/service-name", "probe").endMetadata().withAddressType("IPv4")
                .addNewPort().withName("http").withProtocol("TCP").withPort(probe.port(ip)).endPort()
                .addNewEndpoint().withAddresses(ip).withNewConditions().withReady(true).withServing(true)
                .withTerminating(false).endConditions().endEndpoint().build();
    }

    /** Writes the change to the server's store (for a later list) and to the watch svcproxy follows. */
    @Override
    void pointProbe(String ip) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!watch.watching() && System.nanoTime() < deadline) {
            ScaleBench.sleep(10);
        }
        EndpointSlice slice = client.discovery().v1().endpointSlices().inNamespace("default")
                .resource(probeSlice(ip)).update();
        watch.modified(slice);
    }

    /** The burst's change: on the watch stream only (see {@link SliceWatchStream}). */
    @Override
    void changeService(int i, int generation) {
        watch.modified(slice(i, generation));
    }

    @Override
    boolean burst() {
        return true;
    }

    @Override
    public void close() throws Exception {
        super.close();
        client.close();
        server.destroy();
    }
}
