package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.fault.LeakCheckExtension;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A bounded UDP soak: hundreds of client sockets asking through one UDP Service port while the endpoint list
 * churns (reloads every 300 ms over five endpoints, three at a time). Every answer must come from an endpoint of
 * the list in force or of the one just before it; afterwards every flow expires, every lease and flow place is
 * given back, the file descriptors and the allocator's memory come back, and the leak detector reports nothing.
 * {@code -Dudp.soak.seconds=N} runs longer (default 12).
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class UdpSoakTest {
    static final String VIP = "127.0.10.61";
    static final int PORT = 10055;

    final List<UdpEcho> echoes = new ArrayList<>();
    ProxyServer server;

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close();
        }
        echoes.forEach(UdpEcho::close);
    }

    String config(List<UdpEcho> list) {
        StringBuilder yaml = new StringBuilder("proxy: {admin: off, udpIdleTimeout: 500ms}\nservices:\n"
                + "  - name: soak\n    clusterIP: " + VIP + "\n    scheduler: wlc\n    ports: [{protocol: UDP, port: "
                + PORT + "}]\n    endpoints:\n");
        for (UdpEcho e : list) {
            yaml.append("      - {ip: ").append(e.ip()).append(", port: ").append(e.port()).append("}\n");
        }
        return yaml.toString();
    }

    @Test
    void flowsSurviveChurnAndEverythingComesBack() throws Exception {
        for (int i = 0; i < 5; i++) {
            echoes.add(new UdpEcho("127.0.0.7" + i, "e" + i, false));
        }
        long fdsBefore = openFds();
        long directBefore = direct();
        server = ProxyServer.start(ConfigLoader.parse(config(echoes.subList(0, 3)), "test.yaml"));
        ServicePort port = server.table().servicePorts().get(0);
        long seconds = Long.getLong("udp.soak.seconds", 12);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        // the endpoints of the list in force and of the one it replaced (a datagram in flight during the swap)
        java.util.concurrent.atomic.AtomicReference<Set<String>> allowed = new java.util.concurrent.atomic.AtomicReference<>(
                Set.of("e0", "e1", "e2"));
        AtomicLong answers = new AtomicLong();
        AtomicLong lost = new AtomicLong();
        List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> clients = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int thread = t;
            clients.add(pool.submit(() -> {
                List<DatagramSocket> sockets = new ArrayList<>();
                try {
                    for (int k = 0; k < 40; k++) {
                        DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.2." + (thread + 1), 0));
                        s.setSoTimeout(200);
                        s.connect(new InetSocketAddress(VIP, PORT));
                        sockets.add(s);
                    }
                    int i = 0;
                    while (System.nanoTime() < deadline) {
                        DatagramSocket s = sockets.get(i++ % sockets.size());
                        byte[] out = ("q" + i).getBytes(StandardCharsets.UTF_8);
                        s.send(new DatagramPacket(out, out.length));
                        String text = null;
                        try {
                            while (text == null) {
                                DatagramPacket in = new DatagramPacket(new byte[1500], 1500);
                                s.receive(in);
                                String got = new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
                                // an answer to an earlier query of this socket that came after its timeout
                                text = got.endsWith(":q" + i) ? got : null;
                            }
                        } catch (SocketTimeoutException e) {
                            lost.incrementAndGet(); // a datagram to an endpoint that just left: UDP may lose it
                            continue;
                        }
                        String name = text.substring(0, text.indexOf(':'));
                        if (!allowed.get().contains(name)) {
                            wrong.add(text);
                        }
                        answers.incrementAndGet();
                    }
                } finally {
                    sockets.forEach(DatagramSocket::close);
                }
                return null;
            }));
        }
        int round = 0;
        while (System.nanoTime() < deadline) {
            Thread.sleep(300);
            round++;
            List<UdpEcho> next = List.of(echoes.get(round % 5), echoes.get((round + 1) % 5), echoes.get((round + 2) % 5));
            Set<String> nextNames = Set.copyOf(next.stream().map(e -> e.name).toList());
            Set<String> both = new java.util.HashSet<>(nextNames);
            both.addAll(allowed.get());
            allowed.set(both);
            server.reload(ConfigLoader.parse(config(next), "test.yaml"));
            Thread.sleep(50);
            allowed.set(nextNames);
        }
        for (Future<?> c : clients) {
            c.get(1, TimeUnit.MINUTES);
        }
        pool.shutdown();
        System.err.printf("UDP soak: %d answers, %d lost, %d reloads, %d flows given%n", answers.get(), lost.get(),
                round, port.backendSet().backends().stream().mapToLong(b -> b.counters().total()).sum());
        assertThat(wrong).as("answers from endpoints outside the list").isEmpty();
        assertThat(answers.get()).isGreaterThan(1000);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(server.listeners().udpFlowCount()).as("flows held").isZero();
            assertThat(port.backendSet().backends()).allSatisfy(b ->
                    assertThat(b.inactiveConnections() + b.activeConnections()).as("%s", b.endpoint()).isZero());
        });
        server.close();
        server = null;
        // a flow socket leaked would be one of hundreds; a few more may be jar files opened by class loading
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(openFds()).as("file descriptors").isLessThanOrEqualTo(fdsBefore + 16));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(direct() - directBefore).as("direct memory held").isLessThan(16L << 20));
        LeakCheckExtension.collectAndAssertNoLeaks("UDP soak");
    }

    private static long openFds() throws java.io.IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    private static long direct() {
        return ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric().usedDirectMemory();
    }
}
