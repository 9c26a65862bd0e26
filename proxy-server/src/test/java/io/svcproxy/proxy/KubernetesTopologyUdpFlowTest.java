package io.svcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.udp.UdpEcho;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Topology hints from the Kubernetes API against a UDP Service port's open flows (helper-152's review). kube-proxy
 * clears UDP conntrack entries only toward endpoints that are no longer serving: "Changes to the service should not
 * affect existing flows, so we do not take traffic policies, topology, or terminating status of the service into
 * account" ({@code CleanStaleEntries}, pkg/proxy/conntrack/cleanup.go). An endpoint the hints send another zone's
 * traffic to is still a ready Pod of the Service, so a flow to it stays there until it idles out, as its TCP
 * connections go on ({@link KubernetesTopologyDrainTest}). Loopback only: endpoints 127.0.152.21-23, ClusterIP
 * 127.0.152.2, clients 127.0.152.11x.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class KubernetesTopologyUdpFlowTest extends KubernetesTopologyTestBase {
    static final String CLUSTER_IP = "127.0.152.2";
    static final int PORT = 18152;

    final List<UdpEcho> pods = new ArrayList<>();
    final List<DatagramSocket> clients = new ArrayList<>();

    KubernetesTopologyUdpFlowTest() {
        super("topo-udp", "dns", "UDP", CLUSTER_IP, PORT);
    }

    @Override
    InetSocketAddress pod(int pod) {
        UdpEcho p = pods.get(pod - 1);
        return new InetSocketAddress(p.ip(), p.port());
    }

    @AfterEach
    void closeUdp() {
        clients.forEach(DatagramSocket::close);
        if (proxy != null) {
            proxy.close(); // before the pods, as the base class closes its backends
            proxy = null;
        }
        pods.forEach(UdpEcho::close);
    }

    /**
     * Three ready pods, one flow to each (rr); the controller then hints pod-1 and pod-3 for zone-b, pod-2 for zone-a
     * (this node's). New flows go to pod-2 only; pod-1's flow stays with pod-1. Failed before: the hint ended pod-1's
     * flow as if pod-1 had left (listed with weight 0), and its client's next datagram went to pod-2 (README: "its
     * UDP flows move, as for any weight 0"). pod-3 then turning not ready is the control: an endpoint that left ends
     * its flows at once, and its client's next datagram goes to pod-2.
     */
    @Test
    void aFlowToAnEndpointHintedForAnotherZoneStaysWithItsEndpoint() throws Exception {
        for (int i = 1; i <= 3; i++) {
            pods.add(new UdpEcho("127.0.152.2" + i, "pod-" + i, false));
        }
        startWithThreeReadyPods();

        // rr: one flow to each pod, each answered before the next starts
        Map<String, DatagramSocket> onPod = new HashMap<>();
        for (int i = 1; i <= 3; i++) {
            DatagramSocket c = client("127.0.152.11" + i);
            String answer = ask(c, "hello");
            assertThat(answer).as("flow %d's first answer", i).endsWith(":hello");
            onPod.put(answer.substring(0, answer.indexOf(':')), c);
        }
        assertThat(onPod).as("rr gives one flow to each pod").containsOnlyKeys("pod-1", "pod-2", "pod-3");

        hintPod2AloneForThisZone();
        await("the hints in effect: new flows to pod-2 only").atMost(WITHIN)
                .until(() -> landsOn().equals("pod-2") && landsOn().equals("pod-2") && landsOn().equals("pod-2"));
        assertThat(ask(onPod.get("pod-1"), "again")).as("pod-1 is still a ready Pod of the Service")
                .isEqualTo("pod-1:again");
        assertThat(ask(onPod.get("pod-2"), "again")).isEqualTo("pod-2:again");

        // the control: pod-3 left (not ready), its flow ends and its client's next datagram is scheduled again
        slice(3, false, "zone-b");
        await("pod-3 out of the list").atMost(WITHIN).until(() -> !proxy.table().servicePorts().get(0).backendSet()
                .backends().toString().contains("127.0.152.23"));
        assertThat(ask(onPod.get("pod-3"), "moved")).isEqualTo("pod-2:moved");
        assertThat(ask(onPod.get("pod-1"), "still")).isEqualTo("pod-1:still");
    }

    private DatagramSocket client(String ip) throws IOException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress(ip, 0));
        socket.setSoTimeout(2000);
        socket.connect(new InetSocketAddress(CLUSTER_IP, PORT));
        clients.add(socket);
        return socket;
    }

    /** Sends {@code text}; the answer, or {@code "none"} when none came within the socket's timeout. */
    private static String ask(DatagramSocket socket, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length));
        DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
        try {
            socket.receive(in);
        } catch (SocketTimeoutException e) {
            return "none";
        }
        return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
    }

    /** Asks from a new client socket (a new flow): the name of the pod that answered, or {@code "none"}. */
    private String landsOn() throws IOException {
        try (DatagramSocket probe = client("127.0.152.119")) {
            String answer = ask(probe, "probe");
            return answer.contains(":") ? answer.substring(0, answer.indexOf(':')) : answer;
        }
    }
}
