package io.svcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.metrics.PrometheusText;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Topology hints from the Kubernetes API against established connections (helper-141's review). kube-proxy narrows
 * only where new connections go when the EndpointSlice controller writes or moves hints: an endpoint hinted for
 * another zone is still a ready Pod of the Service, and the connections it already has go on (iptables and nftables
 * leave established conntrack entries alone; IPVS quiesces the real server at weight 0 and deletes it once its
 * connections have ended, with no deadline). Loopback only: endpoints 127.0.0.191-193, ClusterIP 127.0.10.193,
 * port 18193.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class KubernetesTopologyDrainTest extends KubernetesTopologyTestBase {
    static final String CLUSTER_IP = "127.0.10.193";
    static final int PORT = 18193;

    KubernetesTopologyDrainTest() {
        super("topo", "tcp", "TCP", CLUSTER_IP, PORT);
    }

    @Override
    InetSocketAddress pod(int pod) {
        return backends.get(pod - 1).address();
    }

    @BeforeEach
    void startBackends() throws Exception {
        for (int i = 1; i <= 3; i++) {
            backends.add(TestBackend.start(new InetSocketAddress("127.0.0.19" + i, 0), "pod-" + i, Mode.ECHO));
        }
    }

    /**
     * The pods are ready; the controller then hints pod-1 and pod-3 for zone-b and pod-2 for zone-a (this node's
     * zone). New connections go to pod-2 only, as kube-proxy's; pod-1's established connection must go on, as it
     * stays a ready Pod of the Service. pod-3 then turning not ready is the
     * control: its connection is cut at the drain timeout (SPEC: an endpoint that left), which proves the timeout
     * passed for pod-1's too. Failed before: the mapping dropped pod-1 from the Service port's endpoints as if it had
     * left the Service, so its connection was cut with pod-3's ("Drain timeout: closed connections ...
     * endpoint=127.0.0.191"), and every hint the controller moved between zones did the same. pod-1 is listed with
     * weight 0 while its connection lasts, and leaves the list when it ends.
     */
    @Test
    void anEndpointHintedForAnotherZoneKeepsItsEstablishedConnections() throws Exception {
        startWithThreeReadyPods();

        // rr in address order: one connection to each pod, each picked before the next is opened (two event loops
        // may pick connections opened together in either order)
        try (Socket toPod1 = connectTo(1); Socket toPod2 = connectTo(2); Socket toPod3 = connectTo(3)) {
            assertThat(echo(toPod1, "one")).isEqualTo("one");

            hintPod2AloneForThisZone();
            await("the hints in effect: new connections to pod-2 only").atMost(WITHIN)
                    .until(() -> landsOn() == 2 && landsOn() == 2 && landsOn() == 2);
            slice(3, false, "zone-b");

            // the control: pod-3 left (not ready), its connection is cut at the drain timeout
            toPod3.setSoTimeout(10_000);
            assertThat(readOrEnd(toPod3.getInputStream())).as("pod-3's connection cut at the drain timeout")
                    .isEqualTo(-1);
            assertThat(echo(toPod1, "two")).as("pod-1 is still a ready Pod of the Service").isEqualTo("two");
            assertThat(echo(toPod2, "three")).isEqualTo("three");
            assertThat(endpoints()).contains("127.0.0.191:" + backends.get(0).address().getPort() + " weight=0");

            // as IPVS deletes a quiesced real server once its connections ended: pod-1 leaves the list then
            toPod1.close();
            await().atMost(WITHIN).until(() -> !endpoints().contains("127.0.0.191"));
            assertThat(landsOn()).isEqualTo(2);
            // pod-1 is ready, only not this zone's: not counted as not ready; pod-3 is
            PrometheusText metrics = PrometheusText.parse(proxy.meterRegistry().scrape());
            assertThat(metrics.value("svcproxy_endpoints", "service", "default/topo", "port", "tcp", "state",
                    "not_ready")).isEqualTo(1);
            assertThat(metrics.value("svcproxy_endpoints", "service", "default/topo", "port", "tcp", "state",
                    "ready")).isEqualTo(1);
        }
    }

    /** The Service port's scheduling list as the log prints it. */
    private String endpoints() {
        return proxy.table().servicePorts().get(0).backendSet().backends().toString();
    }

    /** Opens a connection, sees it echo, closes it: the number of the pod that accepted it (0: none or several). */
    private int landsOn() throws IOException {
        int[] before = new int[backends.size()];
        for (int i = 0; i < before.length; i++) {
            before[i] = backends.get(i).acceptedConnections();
        }
        try (Socket probe = connect()) {
            if (!echo(probe, "probe").equals("probe")) {
                return 0;
            }
        }
        int pod = 0;
        for (int i = 0; i < before.length; i++) {
            if (backends.get(i).acceptedConnections() != before[i]) {
                pod = pod == 0 ? i + 1 : -1;
            }
        }
        return Math.max(pod, 0);
    }

    /** Opens a connection that rr gives to {@code pod}, and waits until that pod has it. */
    private Socket connectTo(int pod) throws IOException {
        Socket s = connect();
        await().atMost(WITHIN).until(() -> backends.get(pod - 1).openConnections() == 1);
        return s;
    }

    private static Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(CLUSTER_IP, PORT), 2000);
        s.setSoTimeout(5000);
        return s;
    }

    /** Sends {@code text} and returns what comes back (the echo), or what ended the connection. */
    private static String echo(Socket s, String text) {
        try {
            s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            byte[] buf = new byte[text.length()];
            int n = 0;
            while (n < buf.length) {
                int r = s.getInputStream().read(buf, n, buf.length - n);
                if (r < 0) {
                    return "closed after " + n + " bytes";
                }
                n += r;
            }
            return new String(buf, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "error: " + e;
        }
    }

    /** The next byte, or -1 at the end or a reset; -2 when nothing came within the socket's timeout. */
    private static int readOrEnd(InputStream in) {
        try {
            return in.read();
        } catch (java.net.SocketTimeoutException e) {
            return -2;
        } catch (IOException e) {
            return -1; // reset
        }
    }
}
