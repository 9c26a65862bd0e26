package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;

/**
 * A UDP Service port on an IPv6 clusterIP ({@code ::1}, port 42144), endpoint and client on {@code ::1} too
 * (helper-142's review: no test had carried a datagram over IPv6).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpIpv6Test {
    static final int PORT = 42144;

    final List<AutoCloseable> closing = new ArrayList<>();
    ProxyServer server;

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        if (server != null) {
            server.close();
        }
    }

    ServicePort port() {
        return server.table().servicePorts().get(0);
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "NIO"})
    void datagramsGoBothWaysWithTheirBoundariesAndTheAnswerComesFromTheClusterIp(Transport transport)
            throws Exception {
        UdpEcho raw = new UdpEcho("::1", "raw", true);
        closing.add(raw);
        server = ProxyServer.start(ConfigLoader.parse("proxy:\n  admin: off\nservices:\n  - name: dns\n"
                + "    clusterIP: \"::1\"\n    ports: [{protocol: UDP, port: " + PORT + "}]\n"
                + "    endpoints: [{ip: \"::1\", port: " + raw.port() + "}]\n", "test.yaml"), transport, 2);
        DatagramSocket client = new DatagramSocket(new InetSocketAddress("::1", 0));
        closing.add(client);
        client.setSoTimeout(3000);
        client.connect(new InetSocketAddress("::1", PORT));
        for (int size : new int[] {1, 1400, 65_507}) {
            byte[] payload = new byte[size];
            java.util.Arrays.fill(payload, (byte) size);
            client.send(new DatagramPacket(payload, payload.length));
            DatagramPacket in = new DatagramPacket(new byte[65_535], 65_535);
            client.receive(in);
            assertThat(in.getSocketAddress()).isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), PORT));
            assertThat(java.util.Arrays.copyOf(in.getData(), in.getLength())).as("%d bytes", size)
                    .isEqualTo(payload);
        }
        byte[] tooBig = new byte[65_508]; // IPv6 carries it; SPEC keeps up to 65,507
        client.send(new DatagramPacket(tooBig, tooBig.length));
        await().atMost(Duration.ofSeconds(5)).until(() -> port().udp().dropped(Drop.TOO_BIG) == 1);
        assertThat(port().udp().datagramsToClient()).isEqualTo(3);
        assertThat(port().bytesToEndpoint()).isEqualTo(1 + 1400 + 65_507);
    }
}
