package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.fault.FaultyBackend;
import io.svcproxy.proxy.fault.FaultyBackend.Fault;
import io.svcproxy.proxy.fault.LeakCheckExtension;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A soak: a mixed workload for a while, with reloads (endpoint churn and scheduler changes), endpoints that die
 * and come back, misbehaving endpoints and clients that abandon connections. Every byte of the checksummed
 * traffic must come back intact; at the end svcproxy must hold no connection, the process's file descriptors
 * must be back near where they started, and Netty's detector (PARANOID) must have found no leaked buffer.
 *
 * <p>Runs {@value #DEFAULT_SECONDS} seconds by default (CI); {@code -Dsoak.minutes=N} runs it for N minutes.
 * Every loop checks the deadline itself, so the test stops on its own.
 */
@Timeout(value = 2, unit = TimeUnit.HOURS)
class SoakTest {
    static final int DEFAULT_SECONDS = 20;
    static final String DATA_VIP = "127.0.10.8";
    static final String FAULT_VIP = "127.0.10.9";
    static final int PORT = 18190;
    static final String[] SCHEDULERS = {"rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "mh"};

    private final ProxyFixture fixture = new ProxyFixture(Transport.select());
    private final List<FaultyBackend> backends = new ArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final Queue<String> failures = new ConcurrentLinkedQueue<>();

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
        fixture.close();
        backends.forEach(FaultyBackend::close);
    }

    static Duration duration() {
        String minutes = System.getProperty("soak.minutes", "");
        return minutes.isBlank() ? Duration.ofSeconds(DEFAULT_SECONDS) : Duration.ofMinutes(Long.parseLong(minutes));
    }

    private String config(int round, List<FaultyBackend> data, int deadPort, List<FaultyBackend> faulty) {
        StringBuilder yaml = new StringBuilder("""
                proxy:
                  admin: off
                  idleTimeout: 3s
                  drainTimeout: 60s
                  connectTimeout: 500ms
                  outlierDetection: {consecutiveFailures: 2, baseEjectionTime: 500ms, maxEjectionTime: 2s}
                services:
                  - name: data
                    clusterIP: %s
                    scheduler: %s
                    schedulerFlags: %s
                    ports: [{port: %d}]
                    healthCheck: {interval: 300ms, timeout: 200ms, rise: 1, fall: 2}
                    endpoints:
                """.formatted(DATA_VIP, SCHEDULERS[round % SCHEDULERS.length],
                flags(SCHEDULERS[round % SCHEDULERS.length]), PORT));
        for (FaultyBackend b : data) {
            yaml.append("      - {ip: ").append(b.address().getAddress().getHostAddress()).append(", port: ")
                    .append(b.port()).append(", weight: ").append(1 + round % 3).append("}\n");
        }
        if (round % 2 == 0) {
            yaml.append("      - {ip: 127.0.0.19, port: ").append(deadPort).append("}\n"); // refuses: ejected
        }
        yaml.append("""
                  - name: faults
                    clusterIP: %s
                    ports: [{port: %d}]
                    maxConnectionsPerClient: 50
                    endpoints:
                """.formatted(FAULT_VIP, PORT));
        for (FaultyBackend b : faulty) {
            yaml.append("      - {ip: ").append(b.address().getAddress().getHostAddress()).append(", port: ")
                    .append(b.port()).append("}\n");
        }
        return yaml.toString();
    }

    /**
     * The hashing schedulers walk on past an endpoint of weight 0 (a draining one) only with their fallback flag;
     * without it IPVS, and svcproxy, close the client (SPEC.md), which is not what this test is about.
     */
    private static String flags(String scheduler) {
        return switch (scheduler) {
            case "sh" -> "[sh-fallback, sh-port]";
            case "mh" -> "[mh-fallback, mh-port]";
            default -> "[]";
        };
    }

    @Test
    void survivesAMixedWorkloadWithReloadsChurnAndFaultsLosingNothing() throws Exception {
        Duration length = duration();
        List<FaultyBackend> echo = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            echo.add(add(FaultyBackend.start("127.0.0.1" + (1 + i), Fault.ECHO, 0)));
        }
        Fault[] kinds = {Fault.DIE_MID_TRANSFER, Fault.RESET_MID_TRANSFER, Fault.NEVER_ANSWER,
            Fault.ANSWER_THEN_STALL, Fault.SLOW_READER};
        List<FaultyBackend> faulty = new ArrayList<>();
        for (int i = 0; i < kinds.length; i++) {
            faulty.add(add(FaultyBackend.start("127.0.0.3" + (1 + i), kinds[i], 20_000)));
        }
        int deadPort = DataPlaneTest.closedPort("127.0.0.19");
        fixture.proxy(config(0, echo.subList(0, 3), deadPort, faulty));
        Thread.sleep(300);
        long fdsBefore = openFds();
        long deadline = System.nanoTime() + length.toNanos();

        AtomicLong checkedBytes = new AtomicLong();
        AtomicLong exchanges = new AtomicLong();
        AtomicLong faultConnections = new AtomicLong();
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < 6; w++) {
            int seed = w;
            workers.add(pool.submit(() -> dataClient(seed, deadline, checkedBytes, exchanges)));
        }
        for (int w = 0; w < 2; w++) {
            int seed = 100 + w;
            workers.add(pool.submit(() -> faultClient(seed, deadline, faultConnections)));
        }
        workers.add(pool.submit(() -> abandoningClient(deadline)));

        // the control plane: a reload every 400 ms with another endpoint set, scheduler and weights; an echo
        // endpoint that left the set dies once drained and comes back on its address, now and then
        Random random = new Random(42);
        int round = 0;
        int restarts = 0;
        while (System.nanoTime() < deadline) {
            Thread.sleep(400);
            round++;
            List<FaultyBackend> set = new ArrayList<>(echo);
            FaultyBackend out = set.remove(random.nextInt(set.size()));
            fixture.server().reload(ConfigLoader.parse(config(round, set, deadPort, faulty), "soak.yaml"));
            if (round % 5 == 0 && leftTheList(out) && out.awaitNoOpenConnections(2000)) {
                // out of the set and drained: it dies, and comes back on its address
                int index = echo.indexOf(out);
                String ip = out.address().getAddress().getHostAddress();
                int port = out.port();
                out.close();
                echo.set(index, add(FaultyBackend.start(ip, port, Fault.ECHO, 0)));
                restarts++;
            }
        }
        for (Future<?> worker : workers) {
            worker.get(60, TimeUnit.SECONDS);
        }
        assertThat(failures).as("data integrity failures (clients closed for no endpoint: %d)",
                fixture.server().table().servicePorts().stream().mapToLong(ServicePort::noEndpointCount).sum())
                .isEmpty();
        assertThat(exchanges.get()).isGreaterThan(50);
        assertThat(checkedBytes.get()).isGreaterThan(1L << 20);
        assertThat(faultConnections.get()).isGreaterThan(5);
        assertThat(restarts).as("endpoints that drained, died and came back").isPositive();

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(fixture.server().listeners().connectionCount()).isZero();
            for (ServicePort p : fixture.server().table().servicePorts()) {
                assertThat(p.openConnections()).isZero();
                for (BackendState b : p.backendSet().backends()) {
                    assertThat(b.activeConnections() + b.inactiveConnections()).as(b.toString()).isZero();
                }
            }
        });
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(openFds()).as("open file descriptors").isLessThan(fdsBefore + 40));
        LeakCheckExtension.collectAndAssertNoLeaks("soak");
        System.out.printf("soak: %s, %d exchanges, %d checksummed bytes, %d fault connections, %d endpoint "
                + "restarts%n", length, exchanges.get(), checkedBytes.get(), faultConnections.get(), restarts);
    }

    /**
     * Waits until {@code b} has left the endpoint list for good: the reload that took it out is in force (reloads
     * apply asynchronously) and it drained, a connect under way included (that one holds a claim on it, so it stays
     * in the list as draining until the connect ends; an endpoint closed before would take that connection and drop
     * it: the soak once saw "got 0 back" that way).
     */
    private boolean leftTheList(FaultyBackend b) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < deadline) {
            ServicePort data = fixture.server().table().servicePorts().stream()
                    .filter(p -> p.key().clusterIP().getHostAddress().equals(DATA_VIP)).findFirst().orElseThrow();
            if (data.backendSet().backends().stream().noneMatch(x -> x.port() == b.port()
                    && x.address().equals(b.address().getAddress()))) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    private FaultyBackend add(FaultyBackend b) {
        backends.add(b);
        return b;
    }

    /** Echo exchanges of random sizes; every byte that comes back is checked against a CRC of what was sent. */
    private Void dataClient(int seed, long deadline, AtomicLong checkedBytes, AtomicLong exchanges) {
        Random random = new Random(seed);
        while (System.nanoTime() < deadline) {
            int size = 1 + random.nextInt(random.nextInt(10) == 0 ? 2 << 20 : 64 << 10);
            try (Socket s = new Socket()) {
                s.setSoTimeout(10_000);
                s.connect(new InetSocketAddress(DATA_VIP, PORT), 5000);
                CRC32C sent = new CRC32C();
                CRC32C received = new CRC32C();
                OutputStream out = s.getOutputStream();
                InputStream in = s.getInputStream();
                byte[] chunk = new byte[16 << 10];
                byte[] back = new byte[16 << 10];
                long remaining = size;
                long got = 0;
                while (remaining > 0) {
                    int n = (int) Math.min(chunk.length, remaining);
                    random.nextBytes(chunk);
                    out.write(chunk, 0, n);
                    sent.update(chunk, 0, n);
                    remaining -= n;
                    int r = in.readNBytes(back, 0, n);
                    received.update(back, 0, r);
                    got += r;
                    if (r != n) {
                        break;
                    }
                }
                s.shutdownOutput();
                int tail = in.read();
                if (got != size || sent.getValue() != received.getValue() || tail != -1) {
                    failures.add("seed " + seed + ": sent " + size + " bytes, got " + got + " back"
                            + (sent.getValue() != received.getValue() ? ", checksum differs" : "")
                            + (tail != -1 ? ", no end of stream" : ""));
                }
                checkedBytes.addAndGet(got);
                exchanges.incrementAndGet();
            } catch (IOException e) {
                failures.add("seed " + seed + ": " + e);
            }
        }
        return null;
    }

    /** Connects to the misbehaving endpoints; each connection must end by itself (idle timeout at the latest). */
    private Void faultClient(int seed, long deadline, AtomicLong count) {
        Random random = new Random(seed);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.setSoTimeout(15_000);
                s.connect(new InetSocketAddress(FAULT_VIP, PORT), 5000);
                byte[] request = new byte[1 + random.nextInt(100_000)];
                s.getOutputStream().write(request);
                InputStream in = s.getInputStream();
                byte[] buffer = new byte[16 << 10];
                while (in.read(buffer) >= 0) {
                    // drain until svcproxy ends it
                }
                count.incrementAndGet();
            } catch (java.net.SocketTimeoutException e) {
                failures.add("fault connection not ended by svcproxy within 15 s (idleTimeout 3s)");
            } catch (IOException e) {
                count.incrementAndGet(); // a reset passed on: an expected ending
            }
        }
        return null;
    }

    /** Opens connections and abandons them: some before svcproxy connects, some with a reset. */
    private Void abandoningClient(long deadline) {
        Random random = new Random(7);
        while (System.nanoTime() < deadline) {
            List<Socket> batch = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                try {
                    Socket s = new Socket();
                    s.connect(new InetSocketAddress(random.nextBoolean() ? DATA_VIP : FAULT_VIP, PORT), 5000);
                    if (random.nextBoolean()) {
                        s.getOutputStream().write(new byte[random.nextInt(5000)]);
                    }
                    batch.add(s);
                } catch (IOException e) {
                    // refused by a limit: fine
                }
            }
            for (Socket s : batch) {
                try {
                    if (random.nextBoolean()) {
                        s.setSoLinger(true, 0);
                    }
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return null;
            }
        }
        return null;
    }

    private static long openFds() {
        return ((com.sun.management.UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getOpenFileDescriptorCount();
    }
}
