package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * helper-133's review: the failing tests of findings not fixed yet (10, 11: memory with many clients under --events
 * or ClientIP affinity, now documented in docs/simulate.md's Traces), kept unchanged (H133ReviewSimulateMemoryTest)
 * and off main until they are.
 *
 * <p>helper-133's review: docs/simulate.md, "Memory holds one run, the open connections and the per endpoint counts,
 * never the whole trace" and "Memory stays bounded by the run size (524,288 rows) and the open connections,
 * whatever the length" (its bounded-memory check: {@code -Xmx96m}). With {@code --events}, every Replay keeps a
 * {@code ClientMoves} map of every distinct client address seen before the first event (for {@code moved}), for each
 * scheduler: a trace of many clients (a public Service's log) runs out of heap where the same trace without events
 * does not.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class H133ReviewPendingTest {
    private static final String CONFIG = """
            proxy: {admin: off}
            services:
              - name: web
                clusterIP: 127.0.10.28
                ports: [{name: http, port: 44000}]
                endpoints: [{ip: 127.0.0.88, port: 44001}, {ip: 127.0.0.89, port: 44001}]
            """;
    /** Rows, each of its own client address, 1 ms apart and 0.5 s long: about 500 open at once. */
    private static final int ROWS = 1_200_000;

    @TempDir
    Path dir;

    private Path trace() throws IOException {
        Path file = dir.resolve("t.csv");
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            w.write("start,client,clientPort,duration\n");
            for (int i = 0; i < ROWS; i++) {
                w.write(i / 1000 + "." + String.format("%03d", i % 1000) + ",10." + (i >>> 16) + "." + (i >>> 8 & 255)
                        + "." + (i & 255) + ",1000,0.5\n");
            }
        }
        return file;
    }

    private record Run(int code, String err) {
    }

    private Run simulate(String... more) throws Exception {
        return simulateWith(CONFIG, more);
    }

    private Run simulateWith(String yaml, String... more) throws Exception {
        Path config = dir.resolve("c.yaml");
        Files.writeString(config, yaml);
        Path trace = Files.exists(dir.resolve("t.csv")) ? dir.resolve("t.csv") : trace();
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx96m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                "io.svcproxy.proxy.Main", "simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--schedulers", "rr,lc", "--json"));
        command.addAll(List.of(more));
        Path err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(err.toFile()).start();
        if (!p.waitFor(500, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
            throw new AssertionError("simulate did not end in 500 s");
        }
        return new Run(p.exitValue(), Files.readString(err));
    }

    /** The control: the same trace without events replays in the documented 96 MB heap. */
    @Test
    void manyClientsWithoutEventsReplayInTheDocumentedHeap() throws Exception {
        Run r = simulate();
        assertThat(r.code()).as("stderr: %s", r.err()).isZero();
    }

    /** The same trace with one event (after the last row, so it changes nothing) runs out of memory. */
    @Test
    void manyClientsWithAnEventReplayInTheDocumentedHeapToo() throws Exception {
        Path events = dir.resolve("ev.yaml");
        Files.writeString(events, "- {at: 100000, endpoint: 127.0.0.88:44001, weight: 2}\n");
        Run r = simulate("--events", events.toString());
        assertThat(r.code()).as("stderr: %s", r.err().length() > 2000 ? r.err().substring(0, 2000) : r.err())
                .isZero();
    }

    /**
     * The same trace without events but with {@code sessionAffinity: ClientIP} (timeout 3 h by default, so no entry of
     * this 20-minute trace expires): each replay's AffinityTable holds every client as the live proxy's would, so
     * here too memory grows with the distinct clients, not with the run size and the open connections as the docs
     * say. (Passing may equally take the docs saying what memory the replay holds.)
     */
    @Test
    void manyClientsWithClientIpAffinityReplayInTheDocumentedHeap() throws Exception {
        Run r = simulateWith(CONFIG.replace("    ports:", "    sessionAffinity: ClientIP\n    ports:"));
        assertThat(r.code()).as("stderr: %s", r.err().length() > 2000 ? r.err().substring(0, 2000) : r.err())
                .isZero();
    }
}
