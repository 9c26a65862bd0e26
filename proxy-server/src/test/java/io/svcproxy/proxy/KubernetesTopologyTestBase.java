package io.svcproxy.proxy;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * The fixture of the tests of topology hints against what a Service port already carries, over TCP and UDP: the
 * proxy as node {@code node-a} of zone {@code zone-a} (drain timeout 1 s), a ClusterIP Service of one port, and
 * three pods, each in an EndpointSlice of its own (pod-2 on node-a, the others on node-b), which the test hints for
 * a zone or turns not ready as the EndpointSlice controller would.
 */
abstract class KubernetesTopologyTestBase extends KubernetesProxyTestBase {
    static final Duration FIRST_SYNC = Duration.ofSeconds(15);
    static final Duration WITHIN = Duration.ofSeconds(5);

    private final String service;
    private final String portName;
    private final String protocol;
    private final String clusterIp;
    private final int port;

    /** The Service {@code service} on {@code clusterIp}, its port {@code portName} ({@code protocol}) {@code port}. */
    KubernetesTopologyTestBase(String service, String portName, String protocol, String clusterIp, int port) {
        this.service = service;
        this.portName = portName;
        this.protocol = protocol;
        this.clusterIp = clusterIp;
        this.port = port;
    }

    /** Where pod {@code pod} (1 to 3) listens. */
    abstract InetSocketAddress pod(int pod);

    /**
     * Starts the proxy, creates the Service and the pods' slices (ready, no hints), and waits until the Service port
     * lists the three pods.
     */
    void startWithThreeReadyPods() throws Exception {
        startProxy(", drainTimeout: 1s, nodeName: node-a", "    zone: zone-a\n");
        client.services().resource(new ServiceBuilder().withNewMetadata().withName(service).withNamespace("default")
                .endMetadata().withNewSpec().withType("ClusterIP").withClusterIP(clusterIp).withClusterIPs(clusterIp)
                .addNewPort().withName(portName).withProtocol(protocol).withPort(port)
                .withTargetPort(new IntOrString(portName)).endPort().endSpec().build()).create();
        for (int pod = 1; pod <= 3; pod++) {
            slice(pod, true, null);
        }
        await().atMost(FIRST_SYNC).until(() -> !proxy.table().keys().isEmpty()
                && proxy.table().servicePorts().get(0).backendSet().backends().size() == 3);
    }

    /** The controller's hints: pod-1 and pod-3 for zone-b, pod-2 for zone-a (this node's zone). */
    void hintPod2AloneForThisZone() {
        slice(1, true, "zone-b");
        slice(2, true, "zone-a");
        slice(3, true, "zone-b");
    }

    /** Writes pod {@code pod}'s slice: {@code ready} (and serving) or not, hinted for {@code zone} (null: no hints). */
    void slice(int pod, boolean ready, String zone) {
        InetSocketAddress address = pod(pod);
        EndpointBuilder e = new EndpointBuilder().withAddresses(address.getAddress().getHostAddress())
                .withNodeName(pod == 2 ? "node-a" : "node-b")
                .withNewConditions().withReady(ready).withServing(ready).withTerminating(false).endConditions();
        if (zone != null) {
            e.withNewHints().addNewForZone(zone).endHints();
        }
        client.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata()
                .withName(service + "-pod" + pod).withNamespace("default")
                .addToLabels("kubernetes.io/service-name", service).endMetadata().withAddressType("IPv4")
                .addToEndpoints(e.build()).addNewPort().withName(portName).withProtocol(protocol)
                .withPort(address.getPort()).endPort().build()).createOr(r -> r.update());
    }
}
