package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters.Drop;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** UDP Service ports on the Epoll transport, and what only its flow sockets (socket(2) of their own) can meet. */
class EpollUdpDataPlaneTest extends UdpDataPlaneTest {
    @Override
    Transport transport() {
        return Transport.EPOLL;
    }

    /**
     * The process out of file descriptors (EMFILE) when a datagram starts a flow: the datagram is dropped as
     * {@code error}, and the flow's place ({@code maxUdpFlows}) and its endpoint's count are given back, so flows
     * start again once descriptors are free. Netty's socket factory throws that failure unchecked; it went past the
     * listener's handling, logged a WARN for every datagram and held a place and a lease for good.
     * The JVM's soft descriptor limit is set to 1 for a second by {@code prlimit}, from a shell started before.
     */
    @Test
    void aFlowSocketThatCannotBeOpenedIsAnErrorAndHoldsNoPlace() throws Exception {
        UdpEcho a = echo("127.0.0.61", "a");
        start(service("rr", "  maxUdpFlows: 3\n", "", endpoints(a)));
        DatagramSocket[] refused = {client(), client(), client()};
        DatagramSocket later = client();
        // with no descriptor to spare the JVM cannot open a class file either: the flow's path is run once, and the
        // classes of the failure's path are loaded, before the limit comes down
        assertThat(name(ask(client(), "warm-up"))).isEqualTo("a");
        io.svcproxy.proxy.testing.LowDescriptorLimit.preload(UdpListener.class,
                "io/svcproxy/proxy/udp", "io/svcproxy/proxy/dataplane", "io/svcproxy/proxy/connlog",
                "io/svcproxy/proxy/metrics");
        Class.forName("io.netty.channel.ChannelException");
        Class.forName("io.netty.channel.unix.Errors$NativeIoException");
        long pid = ProcessHandle.current().pid();
        String[] limits = io.svcproxy.proxy.testing.LowDescriptorLimit.limits();
        String soft = limits[0];
        String hard = limits[1];
        Process shell = new ProcessBuilder("sh", "-c", "prlimit --pid " + pid + " --nofile=1:" + hard
                + " && echo lowered && sleep 1; prlimit --pid " + pid + " --nofile=" + soft + ":" + hard
                + " && echo restored").redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(shell.getInputStream(),
                StandardCharsets.US_ASCII))) {
            assertThat(out.readLine()).isEqualTo("lowered");
            for (DatagramSocket s : refused) {
                s.send(new DatagramPacket(new byte[] {'q'}, 1));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> port().udp().dropped(Drop.ERROR) == 3);
            assertThat(out.readLine()).isEqualTo("restored");
        }
        assertThat(shell.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(server.listeners().udpFlowCount()).as("the warm-up's flow").isOne();
        assertThat(port().backendSet().backends().get(0).counters().inactive()).as("the warm-up's flow").isOne();
        assertThat(name(ask(later, "after"))).as("a place is free: none was kept by the failures").isEqualTo("a");
        assertThat(name(ask(refused[0], "again"))).isEqualTo("a");
        assertThat(port().udp().dropped(Drop.FLOW_LIMIT)).isZero();
    }
}
