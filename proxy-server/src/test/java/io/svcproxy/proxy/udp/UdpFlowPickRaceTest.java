package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.util.concurrent.EventExecutor;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.proxy.dataplane.DataPlaneSettings;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import io.svcproxy.proxy.reconcile.Reconciler;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A reload that swaps the endpoint list while a new flow is being scheduled: the flow is picked from the old list,
 * and must be checked against that list, not the new one, or neither {@code endpointsChanged} nor the client's next
 * datagrams would ever check it, and it would stick to the removed endpoint until it went idle (found by a review,
 * helper-82). The reconciler's clock (read by ClientIP affinity at the start of a pick) runs the reload in that
 * window. The Service on 127.0.10.82, endpoints on 127.0.0.62 and 127.0.0.63.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpFlowPickRaceTest {
    static String config(String endpoints) {
        return "proxy: {admin: off}\nservices:\n  - name: race\n    clusterIP: 127.0.10.82\n    scheduler: rr\n"
                + "    sessionAffinity: ClientIP\n    ports: [{protocol: UDP, port: 43082}]\n    endpoints: ["
                + endpoints + "]\n";
    }

    static final String BOTH = config("{ip: 127.0.0.62, port: 43062}, {ip: 127.0.0.63, port: 43063}");
    static final String ONLY_B = config("{ip: 127.0.0.63, port: 43063}");

    ListenerManager listeners;
    ServiceTable table;
    Reconciler reconciler;
    final AtomicBoolean armed = new AtomicBoolean();
    UdpEchoAt a;
    UdpEchoAt b;

    /** An endpoint at a fixed address answering with its name. */
    static final class UdpEchoAt implements AutoCloseable {
        final DatagramSocket socket;

        UdpEchoAt(String ip, int port, String name) throws Exception {
            socket = new DatagramSocket(new InetSocketAddress(ip, port));
            Thread t = new Thread(() -> {
                byte[] buf = new byte[2048];
                while (!socket.isClosed()) {
                    try {
                        DatagramPacket in = new DatagramPacket(buf, buf.length);
                        socket.receive(in);
                        byte[] out = name.getBytes(StandardCharsets.UTF_8);
                        socket.send(new DatagramPacket(out, out.length, in.getSocketAddress()));
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    @AfterEach
    void tearDown() {
        if (listeners != null) {
            listeners.close();
        }
        a.close();
        b.close();
    }

    void apply(String yaml) throws Exception {
        assertThat(reconciler.apply(ServicePorts.resolve(ConfigLoader.parse(yaml, "test.yaml")),
                Duration.ofMinutes(5))).isEmpty();
    }

    ServicePort port() {
        return table.servicePorts().get(0);
    }

    @Test
    void aFlowPickedFromTheListARemovalReplacesMovesOnItsNextDatagram() throws Exception {
        a = new UdpEchoAt("127.0.0.62", 43062, "a");
        b = new UdpEchoAt("127.0.0.63", 43063, "b");
        ProxyConfig first = ConfigLoader.parse(BOTH, "test.yaml");
        listeners = new ListenerManager(Transport.select(), 1, ProxyMetrics.NOOP, DataPlaneSettings.of(first));
        table = new ServiceTable();
        LongSupplier clock = () -> {
            if (Thread.currentThread().getName().startsWith("svcproxy-io") && armed.getAndSet(false)) {
                BackendSet before = port().backendSet();
                Thread reload = new Thread(() -> {
                    try {
                        apply(ONLY_B);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, "reload");
                reload.start();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (port().backendSet() == before && System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            }
            return System.nanoTime();
        };
        reconciler = new Reconciler(table, listeners, ProxyMetrics.NOOP, clock);
        apply(BOTH);

        DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        client.setSoTimeout(3000);
        client.connect(new InetSocketAddress("127.0.10.82", 43082));
        armed.set(true);
        client.setSoTimeout(1000);
        try {
            assertThat(ask(client, "1")).as("picked from the list before the reload").isEqualTo("a");
        } catch (java.net.SocketTimeoutException lost) {
            // a fixed listener may drop the removed endpoint's answer: its flow ended meanwhile
        }
        client.setSoTimeout(3000);
        await().atMost(Duration.ofSeconds(5)).until(() -> port().backendSet().backends().size() == 1);
        for (EventExecutor loop : listeners.eventLoops()) { // after the endpointsChanged they were given
            loop.submit(() -> { }).get(5, TimeUnit.SECONDS);
        }
        assertThat(ask(client, "2")).as("SPEC: a flow whose endpoint leaves the list is scheduled again")
                .isEqualTo("b");
        client.close();
    }

    static String ask(DatagramSocket socket, String text) throws Exception {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length));
        DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
        socket.receive(in);
        return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
    }
}
