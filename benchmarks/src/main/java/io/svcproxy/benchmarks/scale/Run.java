package io.svcproxy.benchmarks.scale;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One cluster size from one source: starts svcproxy as users do and measures it. Subclasses put the cluster in
 * place (a config file, the mock API server) and make changes through it.
 */
abstract class Run implements AutoCloseable {
    /** How long the idle cost is measured, with the cluster in place and nothing changing. */
    private static final long IDLE_MILLIS = 10_000;
    /** Changes made and not measured, before the idle cost and the measured changes. */
    private static final int WARMUP_CHANGES = 20;
    /** Changes whose CPU is measured (the API source). */
    private static final int COST_CHANGES = 100;
    final Cluster cluster;
    final ScaleBench.Options options;
    final Probe probe;
    final Path dir;
    final int adminPort;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process process;
    /** Which probe backend the probe Service points at now. */
    String probeTarget = Probe.A;

    Run(Cluster cluster, ScaleBench.Options options) throws IOException {
        this.cluster = cluster;
        this.options = options;
        this.probe = new Probe();
        this.dir = Files.createTempDirectory("svcproxy-scale-");
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            this.adminPort = s.getLocalPort();
        }
    }

    /** Puts the whole cluster in place and returns the config file svcproxy runs with. */
    abstract Path prepare() throws Exception;

    /** Points the probe Service at {@code ip} (one endpoint change). */
    abstract void pointProbe(String ip) throws Exception;

    /** Changes one endpoint of Service {@code i} (the burst's change); {@code generation} counts up. */
    abstract void changeService(int i, int generation) throws Exception;

    /** Whether this source can take the burst (a config file rewritten 1,000 times a second cannot). */
    abstract boolean burst();

    Map<String, Object> measure() throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("source", options.source());
        r.put("services", cluster.services());
        r.put("endpoints", cluster.services() * cluster.endpoints());
        long prepareStart = System.nanoTime();
        Path config = prepare();
        r.put("prepareSeconds", ScaleBench.round((System.nanoTime() - prepareStart) / 1e9));

        long start = System.nanoTime();
        process = new ProcessBuilder(options.launcher().toString(), "run", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("svcproxy.log").toFile()).start();
        ProcessStats stats = new ProcessStats(process.pid());
        double ready = waitReady(start, 600_000);
        r.put("readyMillis", ScaleBench.round(ready));
        r.put("serveMillis", ScaleBench.round(Probe.waitFor("a", start, 60_000)));
        ScaleBench.sleep(2000); // let start-up garbage settle before reading the memory
        r.put("rssMiB", ScaleBench.round(stats.rssKiB() / 1024.0));
        r.put("cpuSecondsToReady", ScaleBench.round(stats.cpuSeconds()));

        // unmeasured changes first: the JIT compiles the change path (in a cold process the compiler threads
        // spent more CPU than the changes themselves)
        for (int k = 0; k < WARMUP_CHANGES; k++) {
            flipProbe();
            ScaleBench.sleep(100);
        }
        // the cost of holding the cluster with nothing changing (housekeeping, timers, watches): without it, the
        // CPU per change below would count whatever runs periodically over every Service
        double idleBefore = stats.cpuSeconds();
        long idleStart = System.nanoTime();
        ScaleBench.sleep(IDLE_MILLIS);
        double idleCpuPerSecond = (stats.cpuSeconds() - idleBefore) / ((System.nanoTime() - idleStart) / 1e9);
        r.put("idleCpuMillisPerSecond", ScaleBench.round(idleCpuPerSecond * 1000));

        List<Double> latencies = new ArrayList<>();
        double cpuBefore = stats.cpuSeconds();
        long changesStart = System.nanoTime();
        for (int k = 0; k < options.changes(); k++) {
            latencies.add(flipProbe());
            ScaleBench.sleep(300); // one change at a time: the next one is not coalesced with this one
        }
        double cpu = stats.cpuSeconds() - cpuBefore;
        double idle = idleCpuPerSecond * (System.nanoTime() - changesStart) / 1e9;
        latencies.sort(Double::compare);
        r.put("changeMillisMedian", ScaleBench.round(latencies.get(latencies.size() / 2)));
        r.put("changeMillisMax", ScaleBench.round(latencies.get(latencies.size() - 1)));
        if (burst()) {
            // the probe's connections (one every 2 ms until the change shows) are data-plane work: the cost of
            // a change is measured on changes nobody probes, one every 100 ms (not coalesced with each other)
            Random random = new Random(2);
            cpuBefore = stats.cpuSeconds();
            changesStart = System.nanoTime();
            for (int k = 0; k < COST_CHANGES; k++) {
                changeService(random.nextInt(cluster.services()), 1_000_000 + k);
                ScaleBench.sleep(100);
            }
            ScaleBench.sleep(500); // the last one applied
            cpu = stats.cpuSeconds() - cpuBefore;
            idle = idleCpuPerSecond * (System.nanoTime() - changesStart) / 1e9;
            r.put("cpuMillisPerChangeGross", ScaleBench.round(cpu * 1000 / COST_CHANGES));
            r.put("cpuMillisPerChange", ScaleBench.round(Math.max(0, cpu - idle) * 1000 / COST_CHANGES));
        } else {
            // a config file is parsed whole at each change: that dwarfs the probe's connections
            r.put("cpuMillisPerChangeGross", ScaleBench.round(cpu * 1000 / options.changes()));
            r.put("cpuMillisPerChange", ScaleBench.round(Math.max(0, cpu - idle) * 1000 / options.changes()));
        }

        if (burst()) {
            burst(stats, r);
        }
        r.put("rssMiBAtEnd", ScaleBench.round(stats.rssKiB() / 1024.0));
        return r;
    }

    /**
     * {@code rate} changes a second for {@code seconds} (from 16 writers, as one API call takes longer than a
     * millisecond; the changes of one Service always from the same writer, one after the other, as a controller
     * makes them), then one probe change: how far behind is svcproxy when the burst ends?
     */
    private void burst(ProcessStats stats, Map<String, Object> r) throws Exception {
        Random random = new Random(1);
        double cpuBefore = stats.cpuSeconds();
        long start = System.nanoTime();
        long total = (long) options.rate() * options.seconds();
        List<java.util.concurrent.ExecutorService> writers = new ArrayList<>();
        for (int w = 0; w < 16; w++) {
            writers.add(java.util.concurrent.Executors.newSingleThreadExecutor());
        }
        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicReference<Exception> failure = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(256);
        for (long sent = 0; sent < total && failure.get() == null; sent++) {
            long due = start + sent * 1_000_000_000L / options.rate();
            long wait = due - System.nanoTime();
            if (wait > 1_000_000) {
                ScaleBench.sleep(wait / 1_000_000);
            }
            inFlight.acquire();
            int service = random.nextInt(cluster.services());
            int generation = (int) sent + 1;
            writers.get(service % writers.size()).execute(() -> {
                try {
                    changeService(service, generation);
                    done.incrementAndGet();
                } catch (Exception e) {
                    failure.compareAndSet(null, e);
                } finally {
                    inFlight.release();
                }
            });
        }
        for (java.util.concurrent.ExecutorService w : writers) {
            w.shutdown();
            w.awaitTermination(5, java.util.concurrent.TimeUnit.MINUTES);
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        String next = probeTarget.equals(Probe.A) ? Probe.B : Probe.A;
        long t = System.nanoTime();
        pointProbe(next);
        probeTarget = next;
        double lag = Probe.waitFor(next.equals(Probe.A) ? "a" : "b", t, 120_000);
        double cpu = stats.cpuSeconds() - cpuBefore;
        r.put("burstChanges", done.get());
        r.put("burstRatePerSecond", ScaleBench.round(done.get() / seconds));
        r.put("burstLagMillis", ScaleBench.round(lag));
        r.put("burstCpuCores", ScaleBench.round(cpu / ((System.nanoTime() - start) / 1e9)));
    }

    /** Points the probe Service at its other backend; returns the milliseconds until a connection gets there. */
    private double flipProbe() throws Exception {
        String next = probeTarget.equals(Probe.A) ? Probe.B : Probe.A;
        long t = System.nanoTime();
        pointProbe(next);
        probeTarget = next;
        return Probe.waitFor(next.equals(Probe.A) ? "a" : "b", t, 30_000);
    }

    private double waitReady(long start, long timeoutMillis) throws IOException, InterruptedException {
        long deadline = start + timeoutMillis * 1_000_000;
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/readyz"))
                .timeout(Duration.ofSeconds(5)).build();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("svcproxy exited " + process.exitValue() + "; see "
                        + dir.resolve("svcproxy.log"));
            }
            try {
                if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return (System.nanoTime() - start) / 1e6;
                }
            } catch (IOException e) {
                // not listening yet
            }
            ScaleBench.sleep(10);
        }
        throw new IllegalStateException("svcproxy not ready within " + timeoutMillis + " ms; see "
                + dir.resolve("svcproxy.log"));
    }

    /** The config's {@code proxy:} section: admin on the harness's port, every scheduler default. */
    String proxySection() {
        return "proxy:\n  admin: 127.0.0.1:" + adminPort + "\n";
    }

    @Override
    public void close() throws Exception {
        if (process != null) {
            process.destroy();
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
        probe.close();
    }
}
