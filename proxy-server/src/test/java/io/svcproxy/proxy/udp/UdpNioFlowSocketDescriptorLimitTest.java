package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-105's review: the NIO transport's flow socket (ChannelFlowSocket) at the descriptor limit. README: "A flow socket
 * that cannot be opened (no descriptor left) drops its datagram as error and keeps nothing"; 150211e fixed the WARN
 * with a stack per datagram on epoll only. On NIO Netty's Bootstrap fails the connect future with a ChannelException
 * (not an IOException), which UdpFlows.failed logs as "Unexpected error" at WARN with its stack, once per datagram.
 * LogGuard (auto-registered) fails the test on that line. Service 127.0.10.211, endpoint 127.0.0.211.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpNioFlowSocketDescriptorLimitTest {
    static final String VIP = "127.0.10.211";
    static final int PORT = 43211;

    final List<DatagramSocket> clients = new ArrayList<>();
    UdpEcho echo;
    ProxyServer server;

    @AfterEach
    void tearDown() {
        clients.forEach(DatagramSocket::close);
        if (server != null) {
            server.close();
        }
        if (echo != null) {
            echo.close();
        }
    }

    DatagramSocket client() throws Exception {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        socket.setSoTimeout(3000);
        socket.connect(new InetSocketAddress(VIP, PORT));
        clients.add(socket);
        return socket;
    }

    ServicePort port() {
        return server.table().servicePorts().get(0);
    }

    static String ask(DatagramSocket socket, String text) throws Exception {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length));
        DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
        socket.receive(in);
        return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
    }

    @Test
    void aFlowSocketThatCannotBeOpenedOnNioIsCountedWithoutAWarnPerDatagram() throws Exception {
        echo = new UdpEcho("127.0.0.211", "a", false);
        server = ProxyServer.start(ConfigLoader.parse("proxy:\n  admin: off\n  maxUdpFlows: 3\nservices:\n"
                + "  - name: dns\n    clusterIP: " + VIP + "\n    ports: [{protocol: UDP, port: " + PORT + "}]\n"
                + "    endpoints: [{ip: 127.0.0.211, port: " + echo.port() + "}]\n", "test.yaml"), Transport.NIO, 2);
        DatagramSocket[] refused = {client(), client(), client()};
        assertThat(ask(client(), "warm-up")).isEqualTo("a:warm-up");
        io.svcproxy.proxy.testing.LowDescriptorLimit.preload(UdpListener.class,
                "io/svcproxy/proxy/udp", "io/svcproxy/proxy/dataplane", "io/svcproxy/proxy/connlog",
                "io/svcproxy/proxy/metrics");
        Class.forName("io.netty.channel.ChannelException");
        Class.forName("io.netty.bootstrap.FailedChannel");
        long pid = ProcessHandle.current().pid();
        String[] limits = io.svcproxy.proxy.testing.LowDescriptorLimit.limits();
        Process shell = new ProcessBuilder("sh", "-c", "prlimit --pid " + pid + " --nofile=1:" + limits[1]
                + " && echo lowered && sleep 1; prlimit --pid " + pid + " --nofile=" + limits[0] + ":" + limits[1]
                + " && echo restored").redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(shell.getInputStream(),
                StandardCharsets.US_ASCII))) {
            assertThat(out.readLine()).isEqualTo("lowered");
            for (DatagramSocket s : refused) {
                s.send(new DatagramPacket(new byte[] {'q'}, 1));
            }
            // each of the three datagrams is either counted as a drop or holds a flow place (leaked)
            await().atMost(Duration.ofSeconds(5)).until(() -> port().udp().dropped(Drop.ERROR)
                    + port().udp().dropped(Drop.FLOW_LIMIT) + server.listeners().udpFlowCount() - 1 >= 3);
            assertThat(out.readLine()).isEqualTo("restored");
        }
        assertThat(shell.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(server.listeners().udpFlowCount()).as("maxUdpFlows places held: the warm-up's flow only").isOne();
        assertThat(port().backendSet().backends().get(0).counters().inactive()).as("leases held: the warm-up's")
                .isOne();
        assertThat(port().openConnections()).as("Service maxConnections places held").isOne();
        assertThat(port().udp().dropped(Drop.ERROR)).as("dropped as error").isEqualTo(3);
        assertThat(port().udp().dropped(Drop.FLOW_LIMIT)).as("dropped as flow_limit").isZero();
        assertThat(ask(refused[0], "again")).isEqualTo("a:again");
        // LogGuardExtension now checks that no WARN/ERROR with a stack was logged by io.svcproxy.proxy.udp
    }
}
