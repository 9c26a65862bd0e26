package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.fault.LeakCheckExtension;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Randomized relay torture (issue 11): hundreds of transfers through svcproxy on loopback, each drawn from a seed:
 * sizes from 0 bytes to 32 MiB each way, random write and read chunking on both sides, reader and writer stalls,
 * endpoints that read late, answer before reading, or read everything before answering, a FIN or a reset from
 * the client or the endpoint at a random moment. Every received byte is checked against the sender's stream at its
 * offset, and every ending: without a reset both sides get every byte and then a FIN, and nobody sees a reset; a
 * reset reaches the other side as a reset, after a correct prefix; afterwards svcproxy holds no connection, the
 * file descriptors come back, and the PARANOID leak detector reports nothing.
 *
 * <p>System properties: {@code torture.seed} (the run's seed; default: new each run, printed), {@code
 * torture.transfers} (per transport, default 400), {@code torture.seconds} (per transport, default 45: no new
 * transfer starts after it), {@code torture.minutes} (a soak: overrides both), {@code torture.case} (replay
 * exactly one case by the seed a failure printed), {@code torture.runs} (whole runs in a row, each with a new seed). Runs once per transport (see the subclasses).
 */
@org.junit.jupiter.api.Timeout(value = 3, unit = TimeUnit.HOURS) // bounded by its own budget; torture.runs and soaks run long
abstract class RelayTortureTest {
    static final String VIP = "127.0.10.13";
    static final String ENDPOINT_IP = "127.0.0.13";
    static final int BASE_PORT = 18090;
    static final int WORKERS = 4;

    ProxyFixture fixture;
    final List<ServerSocket> endpoints = new ArrayList<>();
    ExecutorService pool;

    abstract Transport transport();

    @BeforeEach
    void setUp() throws Exception {
        fixture = new ProxyFixture(transport());
        StringBuilder yaml = new StringBuilder("proxy: {admin: off, connectTimeout: 5s}\nservices:\n");
        for (int w = 0; w < WORKERS; w++) {
            ServerSocket server = new ServerSocket();
            if (w % 2 == 1) {
                // a small receive window: what the endpoint does not read waits in svcproxy, not in its kernel
                server.setReceiveBufferSize(16 << 10);
            }
            server.bind(new InetSocketAddress(ENDPOINT_IP, 0), 50);
            endpoints.add(server);
            yaml.append("  - name: torture-").append(w).append("\n    clusterIP: ").append(VIP)
                    .append("\n    ports: [{port: ").append(BASE_PORT + w).append("}]\n    endpoints: [{ip: ")
                    .append(ENDPOINT_IP).append(", port: ").append(server.getLocalPort()).append("}]\n");
        }
        fixture.proxy(yaml.toString());
        pool = Executors.newCachedThreadPool();
    }

    @AfterEach
    void tearDown() throws IOException {
        pool.shutdownNow();
        for (ServerSocket server : endpoints) {
            server.close();
        }
        fixture.close();
    }

    @Test
    void everyTransferArrivesWholeAndEndsAsItWasEnded() throws Exception {
        Long replay = Long.getLong("torture.case");
        if (replay != null) {
            TransferCase c = TransferCase.of(replay, 0);
            System.err.println("Replaying " + c);
            runAndCheck(c);
            return;
        }
        int runs = Integer.getInteger("torture.runs", 1);
        Long fixedSeed = Long.getLong("torture.seed");
        for (int run = 1; run <= runs; run++) {
            long seed = fixedSeed != null ? fixedSeed + run - 1 : System.nanoTime();
            tortureRun(seed);
            System.err.printf("Relay torture on %s: run %d of %d passed%n", transport(), run, runs);
        }
    }

    /** One run: as many transfers as {@code torture.transfers} and the time budget allow, drawn from {@code seed}. */
    private void tortureRun(long seed) throws Exception {
        Integer minutes = Integer.getInteger("torture.minutes");
        int transfers = minutes != null ? Integer.MAX_VALUE : Integer.getInteger("torture.transfers", 400);
        long budgetNanos = minutes != null ? TimeUnit.MINUTES.toNanos(minutes)
                : TimeUnit.SECONDS.toNanos(Integer.getInteger("torture.seconds", 45));
        System.err.printf("Relay torture on %s: seed=%d (replay the run with -Dtorture.seed=%d)%n", transport(),
                seed, seed);
        long fdsBefore = openFds();
        long deadline = System.nanoTime() + budgetNanos;
        AtomicInteger next = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        SplittableRandom seeds = new SplittableRandom(seed);
        long[] caseSeeds = new long[Math.min(transfers, 1_000_000)];
        for (int i = 0; i < caseSeeds.length; i++) {
            caseSeeds[i] = seeds.nextLong();
        }
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            int worker = w;
            workers.add(pool.submit(() -> {
                int i;
                while ((i = next.getAndIncrement()) < caseSeeds.length && System.nanoTime() < deadline) {
                    runAndCheck(TransferCase.of(caseSeeds[i], worker));
                    done.incrementAndGet();
                }
                return null;
            }));
        }
        for (Future<?> worker : workers) {
            worker.get(budgetNanos + TimeUnit.MINUTES.toNanos(3), TimeUnit.NANOSECONDS);
        }
        System.err.printf("Relay torture on %s: seed=%d transfers=%d passed%n", transport(), seed, done.get());
        assertThat(done.get()).as("transfers run").isGreaterThanOrEqualTo(Math.min(transfers, 20));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(fixture.server().listeners().connectionCount()).as("connections held").isZero());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(openFds()).as("open file descriptors").isLessThanOrEqualTo(fdsBefore + 2));
        LeakCheckExtension.collectAndAssertNoLeaks("relay torture on " + transport());
    }

    /** Runs one transfer and checks what each side saw; a failure names the case seed to replay it. */
    private void runAndCheck(TransferCase c) throws Exception {
        ServicePort port = fixture.server().table().servicePorts().stream()
                .filter(p -> p.key().port() == BASE_PORT + c.worker()).findFirst().orElseThrow();
        Transfer t = new Transfer(c, pool);
        try {
            t.run(VIP, BASE_PORT + c.worker(), endpoints.get(c.worker()));
            c.check(t);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(port.connections()).as("svcproxy's connections after the transfer").isEmpty());
        } catch (AssertionError | TimeoutException e) {
            throw new AssertionError("Relay torture case failed on " + transport() + ": " + c + "\n  saw: " + t
                    + "\n  replay: -Dtorture.case=" + c.seed() + " -Dtest=" + getClass().getSimpleName(), e);
        }
    }

    private static long openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
