package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.AddressKind;
import io.svcproxy.proxy.dataplane.Rejection;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.dataplane.UdpCounters;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * NodePort, externalIPs and LoadBalancer addresses of UDP Service ports, as {@code ServiceTypesTest} does for TCP:
 * every address shares the Service port's endpoint list and rr position, replies come from the address the client
 * sent to, source ranges and the Local traffic policy apply per flow, and addresses are bound and unbound by
 * difference on reload. ClusterIPs 127.0.10.110-119; node, external, LoadBalancer, client and endpoint addresses in
 * 127.0.20-40.x.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpServiceTypesTest {
    static final int PORT = 18140;
    static final int NODE_PORT = 30140;

    final List<UdpEcho> echoes = new ArrayList<>();
    final List<DatagramSocket> clients = new ArrayList<>();
    ProxyServer server;

    @AfterEach
    void tearDown() {
        clients.forEach(DatagramSocket::close);
        if (server != null) {
            server.close();
        }
        echoes.forEach(UdpEcho::close);
    }

    private String endpoints(String... nodeNames) throws IOException {
        StringBuilder yaml = new StringBuilder("    endpoints:\n");
        String[] names = {"a", "b", "c"};
        for (int i = 0; i < names.length; i++) {
            UdpEcho e = new UdpEcho("127.0.40." + (11 + i), names[i], false);
            echoes.add(e);
            yaml.append("      - {ip: ").append(e.ip()).append(", port: ").append(e.port());
            if (nodeNames.length > 0) {
                yaml.append(", nodeName: ").append(nodeNames[i]);
            }
            yaml.append("}\n");
        }
        return yaml.toString();
    }

    private ServicePort start(String yaml) throws Exception {
        server = ProxyServer.start(ConfigLoader.parse(yaml, "test.yaml"), Transport.select(), 2);
        return server.table().servicePorts().get(0);
    }

    /** A new flow: a socket bound on {@code from}, connected to {@code ip:port} (it accepts replies from there only). */
    private DatagramSocket client(String from, String ip, int port) throws IOException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress(from, 0));
        socket.setSoTimeout(3000);
        socket.connect(new InetSocketAddress(ip, port));
        clients.add(socket);
        return socket;
    }

    /** Sends one datagram on a new flow and returns the name of the endpoint that answered. */
    private String ask(String ip, int port) throws IOException {
        return ask(client("127.0.0.1", ip, port), "q");
    }

    private static String ask(DatagramSocket socket, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length));
        DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
        socket.receive(in);
        assertThat(in.getSocketAddress()).as("the reply comes from the address the client sent to")
                .isEqualTo(socket.getRemoteSocketAddress());
        String answer = new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
        return answer.substring(0, answer.indexOf(':'));
    }

    /** Returns whether a datagram from {@code from} to {@code ip:port} goes unanswered. */
    private boolean unanswered(String from, String ip, int port) throws IOException {
        DatagramSocket socket = client(from, ip, port);
        socket.setSoTimeout(500);
        byte[] out = {'q'};
        socket.send(new DatagramPacket(out, out.length));
        try {
            socket.receive(new DatagramPacket(new byte[1500], 1500));
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        }
    }

    @Test
    void aNodePortServiceAnswersOnTheNodeAddressesAndTheClusterIpWithOneRoundRobinCycle() throws Exception {
        ServicePort port = start("proxy: {admin: off, nodeAddresses: [127.0.20.11, 127.0.20.12]}\nservices:\n"
                + "  - name: dns\n    type: NodePort\n    clusterIP: 127.0.10.110\n"
                + "    ports: [{protocol: UDP, port: " + PORT + ", nodePort: " + NODE_PORT + "}]\n" + endpoints());
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            names.add(ask("127.0.10.110", PORT));
            names.add(ask("127.0.20.11", NODE_PORT));
            names.add(ask("127.0.20.12", NODE_PORT));
        }
        assertThat(names).containsExactly("a", "b", "c", "a", "b", "c", "a", "b", "c");
        assertThat(server.listeners().boundAddresses(port.key())).containsExactlyInAnyOrder(
                new InetSocketAddress("127.0.20.11", NODE_PORT), new InetSocketAddress("127.0.20.12", NODE_PORT));
        assertThat(port.arrivals(AddressKind.CLUSTER)).isEqualTo(3);
        assertThat(port.arrivals(AddressKind.NODE)).isEqualTo(6);
        assertThat(server.meterRegistry().scrape())
                .contains("svcproxy_address_connections_total{address=\"cluster\",port=\"" + PORT
                        + "\",service=\"default/dns\"} 3.0")
                .contains("svcproxy_address_connections_total{address=\"node\",port=\"" + PORT
                        + "\",service=\"default/dns\"} 6.0")
                .doesNotContain("address=\"lb\"");
    }

    @Test
    void sourceRangesAdmitFlowsOnTheLoadBalancerIpOnlyFromInsideThem() throws Exception {
        ServicePort port = start("proxy: {admin: off}\nservices:\n  - name: dns\n    type: LoadBalancer\n"
                + "    clusterIP: 127.0.10.111\n    externalIPs: [127.0.30.11]\n    loadBalancerIPs: [127.0.31.11]\n"
                + "    loadBalancerSourceRanges: [127.0.21.0/24]\n"
                + "    ports: [{protocol: UDP, port: " + PORT + ", nodePort: " + NODE_PORT + "}]\n" + endpoints());
        assertThat(ask(client("127.0.21.9", "127.0.31.11", PORT), "q")).isEqualTo("a");
        assertThat(unanswered("127.0.22.9", "127.0.31.11", PORT)).as("outside the ranges on the LB IP").isTrue();
        assertThat(ask(client("127.0.22.9", "127.0.30.11", PORT), "q")).as("no ranges on external IPs")
                .isEqualTo("b");
        assertThat(ask(client("127.0.22.9", "127.0.10.111", PORT), "q")).isEqualTo("c");
        assertThat(port.rejectedCount(Rejection.SOURCE_RANGE)).isEqualTo(1);
        assertThat(port.arrivals(AddressKind.LB)).isEqualTo(2);
        assertThat(port.arrivals(AddressKind.EXTERNAL)).isEqualTo(1);
        assertThat(server.meterRegistry().scrape()).contains("reason=\"source_range\"");
    }

    @Test
    void localPolicyUsesOnlyThisNodesEndpointsOnTheNodeAddressAndRefusesWithoutOne() throws Exception {
        String service = "services:\n  - name: dns\n    type: NodePort\n    clusterIP: 127.0.10.112\n"
                + "    externalTrafficPolicy: Local\n"
                + "    ports: [{protocol: UDP, port: " + PORT + ", nodePort: " + NODE_PORT + "}]\n"
                + endpoints("node-a", "node-b", "node-a");
        ServicePort port = start("proxy: {admin: off, nodeName: node-a, nodeAddresses: [127.0.20.13]}\n" + service);
        List<String> names = List.of(ask("127.0.10.112", PORT), ask("127.0.10.112", PORT),
                ask("127.0.20.13", NODE_PORT), ask("127.0.20.13", NODE_PORT), ask("127.0.10.112", PORT),
                ask("127.0.20.13", NODE_PORT));
        assertThat(names).as("b is on node-b: never through the node address").containsExactly("a", "b", "c", "a",
                "b", "c");

        server.reload(ConfigLoader.parse("proxy: {admin: off, nodeName: node-z, nodeAddresses: [127.0.20.13]}\n"
                + service, "test.yaml"));
        assertThat(unanswered("127.0.0.1", "127.0.20.13", NODE_PORT)).isTrue();
        assertThat(ask("127.0.10.112", PORT)).as("the clusterIP uses every endpoint").isEqualTo("a");
        assertThat(port.rejectedCount(Rejection.NO_LOCAL_ENDPOINT)).isEqualTo(1);
    }

    /**
     * As for TCP ({@code LocalPolicyWithoutUsableEndpointTest}, from helper-125's review): a flow to the node address
     * whose only local endpoint has weight 0 found no endpoint and was counted as {@code no_endpoint} (and dropped as
     * such), not as SPEC's {@code no_local_endpoint}. Node address 127.0.125.2, ClusterIP 127.0.10.98, endpoints
     * 127.0.0.37 (this node, weight 0) and 127.0.0.38 (another node).
     */
    @Test
    void aFlowRefusedForLackOfAUsableLocalEndpointIsCountedAsNoLocalEndpoint() throws Exception {
        UdpEcho local = new UdpEcho("127.0.0.37", "local", false);
        UdpEcho remote = new UdpEcho("127.0.0.38", "remote", false);
        echoes.add(local);
        echoes.add(remote);
        ServicePort port = start("proxy: {admin: off, nodeName: node-a, nodeAddresses: [127.0.125.2]}\nservices:\n"
                + "  - name: dns\n    type: NodePort\n    clusterIP: 127.0.10.98\n    externalTrafficPolicy: Local\n"
                + "    ports: [{protocol: UDP, port: " + PORT + ", nodePort: " + NODE_PORT + "}]\n    endpoints:\n"
                + "      - {ip: 127.0.0.37, port: " + local.port() + ", nodeName: node-a, weight: 0}\n"
                + "      - {ip: 127.0.0.38, port: " + remote.port() + ", nodeName: node-b}\n");
        assertThat(unanswered("127.0.0.1", "127.0.125.2", NODE_PORT)).isTrue();
        assertThat(port.rejectedCount(Rejection.NO_LOCAL_ENDPOINT)).isEqualTo(1);
        assertThat(port.noEndpointCount()).isZero();
        assertThat(port.udp().dropped(UdpCounters.Drop.NO_ENDPOINT)).isZero();
        assertThat(ask("127.0.10.98", PORT)).as("the clusterIP uses every endpoint").isEqualTo("remote");
    }

    @Test
    void proxyProtocolV2NamesTheNodeAddressTheClientSentTo() throws Exception {
        UdpEcho raw = new UdpEcho("127.0.40.14", "raw", true);
        echoes.add(raw);
        start("proxy: {admin: off, nodeAddresses: [127.0.20.14]}\nservices:\n  - name: dns\n    type: NodePort\n"
                + "    clusterIP: 127.0.10.113\n    ports: [{protocol: UDP, port: " + PORT + ", nodePort: "
                + NODE_PORT + ", proxyProtocol: v2}]\n    endpoints: [{ip: 127.0.40.14, port: " + raw.port() + "}]\n");
        DatagramSocket client = client("127.0.21.7", "127.0.20.14", NODE_PORT);
        client.send(new DatagramPacket(new byte[] {'h', 'i'}, 2));
        DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
        client.receive(in);
        EmbeddedChannel decoder = new EmbeddedChannel(new HAProxyMessageDecoder());
        decoder.writeInbound(Unpooled.wrappedBuffer(in.getData(), 0, in.getLength()));
        HAProxyMessage header = decoder.readInbound();
        try {
            assertThat(header.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.UDP4);
            assertThat(header.sourceAddress()).isEqualTo("127.0.21.7");
            assertThat(header.sourcePort()).isEqualTo(client.getLocalPort());
            assertThat(header.destinationAddress()).isEqualTo("127.0.20.14");
            assertThat(header.destinationPort()).isEqualTo(NODE_PORT);
        } finally {
            header.release();
            decoder.finishAndReleaseAll();
        }
    }

    @Test
    void anExternalIpThatAReloadMakesALoadBalancerIpGetsItsSourceRangesForNewFlows() throws Exception {
        String eps = endpoints();
        String head = "proxy: {admin: off}\nservices:\n  - name: dns\n    type: LoadBalancer\n"
                + "    clusterIP: 127.0.10.115\n";
        String tail = "    ports: [{protocol: UDP, port: " + PORT + ", nodePort: " + NODE_PORT + "}]\n" + eps;
        ServicePort port = start(head + "    externalIPs: [127.0.31.15]\n" + tail);
        assertThat(ask(client("127.0.22.9", "127.0.31.15", PORT), "q")).as("an external IP: no ranges")
                .isEqualTo("a");

        server.reload(ConfigLoader.parse(head + "    loadBalancerIPs: [127.0.31.15]\n"
                + "    loadBalancerSourceRanges: [127.0.21.0/24]\n" + tail, "r.yaml"));

        assertThat(port.extraAddresses().get(new InetSocketAddress("127.0.31.15", PORT))).isEqualTo(AddressKind.LB);
        assertThat(unanswered("127.0.22.10", "127.0.31.15", PORT)).as("a new flow from outside the ranges").isTrue();
        assertThat(ask(client("127.0.21.9", "127.0.31.15", PORT), "q")).isEqualTo("b");
        assertThat(port.rejectedCount(Rejection.SOURCE_RANGE)).isEqualTo(1);
        assertThat(port.arrivals(AddressKind.LB)).isEqualTo(2);
        assertThat(port.arrivals(AddressKind.EXTERNAL)).isEqualTo(1);
    }

    @Test
    void reloadAddsAndRemovesExternalAddressesUnderLoadWithoutDisturbingTheClusterIp() throws Exception {
        String eps = endpoints();
        String head = "proxy: {admin: off}\nservices:\n  - name: dns\n    clusterIP: 127.0.10.114\n";
        String tail = "    ports: [{protocol: UDP, port: " + PORT + "}]\n" + eps;
        ServicePort port = start(head + tail);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger served = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread load = new Thread(() -> {
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                socket.setSoTimeout(3000);
                socket.connect(new InetSocketAddress("127.0.10.114", PORT));
                for (int i = 0; i < 100_000 && !stop.get(); i++) {
                    assertThat(ask(socket, "load " + i)).isIn("a", "b", "c");
                    served.incrementAndGet();
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
        load.start();
        try {
            for (int round = 0; round < 5; round++) {
                server.reload(ConfigLoader.parse(head + "    externalIPs: [127.0.30.12, 127.0.30.13]\n" + tail,
                        "r.yaml"));
                assertThat(ask("127.0.30.12", PORT)).isIn("a", "b", "c");
                assertThat(ask("127.0.30.13", PORT)).isIn("a", "b", "c");
                server.reload(ConfigLoader.parse(head + "    externalIPs: [127.0.30.13]\n" + tail, "r.yaml"));
                DatagramSocket gone = client("127.0.0.1", "127.0.30.12", PORT);
                gone.send(new DatagramPacket(new byte[] {'q'}, 1));
                assertThatThrownBy(() -> gone.receive(new DatagramPacket(new byte[1500], 1500)))
                        .as("unbound on reload: the kernel answers port unreachable")
                        .isInstanceOf(PortUnreachableException.class);
                assertThat(ask("127.0.30.13", PORT)).isIn("a", "b", "c");
                server.reload(ConfigLoader.parse(head + tail, "r.yaml"));
                assertThat(server.listeners().boundAddresses(port.key())).isEmpty();
            }
        } finally {
            stop.set(true);
            load.join(10_000);
        }
        assertThat(failure.get()).isNull();
        assertThat(served.get()).isPositive();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.listeners().boundAddresses(port.key()).isEmpty());
    }
}
