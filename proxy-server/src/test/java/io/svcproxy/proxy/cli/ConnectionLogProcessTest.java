package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.cli.TestBackend.Mode;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The connection log of svcproxy as a process, rotated as logrotate does: rename the file, then SIGHUP. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ConnectionLogProcessTest {
    @TempDir
    Path dir;

    @Test
    void sighupAfterARenameReopensTheLogByName() throws Exception {
        try (TestBackend a = TestBackend.start(new InetSocketAddress("127.0.0.205", 0), "a", Mode.NAME)) {
            Path config = config(a.address().getPort());
            Path log = dir.resolve("connections.log");
            Path rotated = dir.resolve("connections.log.1");
            // SIGHUP's handling reset to the default: a test run started under nohup (SIGHUP ignored, which every
            // child inherits and the JVM then leaves alone) would otherwise never see the JVM take the signal
            try (SvcproxyProcess p = SvcproxyProcess.startWithin(List.of("env", "--default-signal=HUP"), dir,
                    "run", "--config", config.toString())) {
                await().atMost(Duration.ofSeconds(30)).until(() -> ProcessTest.accepts("127.0.10.205", 18205)
                        || !p.isAlive());
                int first = connect(); // the probe above was the first line already
                awaitLines(log, 2, p);
                Files.move(log, rotated);
                int beforeHup = connect();   // still written to the renamed file: it is open
                awaitLines(rotated, 3, p);
                p.signal("HUP");
                await().atMost(Duration.ofSeconds(10)).until(() -> p.stderr().contains("Received SIGHUP"));
                int afterHup = connect();
                awaitLines(log, 1, p);
                // lines are written as connections end: the probe's may come after the first connection's
                assertThat(lines(rotated)).anyMatch(l -> l.contains("\"clientPort\": " + first + ","))
                        .anyMatch(l -> l.contains("\"clientPort\": " + beforeHup + ","));
                assertThat(lines(log).get(0)).contains("\"clientPort\": " + afterHup + ",")
                        .contains("\"service\": \"default/web\"").contains("\"end\": \"fin\"");
                p.terminate();
                assertThat(p.waitFor(15)).isZero();
                assertThat(lines(rotated)).hasSize(3);
                assertThat(lines(log)).hasSize(1);
            }
        }
    }

    @Test
    void startedWithSighupIgnoredItSaysSo() throws Exception {
        // nohup leaves SIGHUP ignored for its child, and the JVM then does not take it: an operator must know
        // that logrotate's SIGHUP will not reopen the log
        Path config = config(1);
        try (SvcproxyProcess p = SvcproxyProcess.startWithin(List.of("nohup"), dir, "run", "--config",
                config.toString())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> p.stderr().contains("Serving") || !p.isAlive());
            assertThat(p.stderr()).contains("SIGHUP is ignored (inherited from the parent, as under nohup)");
            p.terminate();
            assertThat(p.waitFor(15)).isZero();
        }
    }

    /** A config with the connection log on (connections.log, beside it) and one Service to an endpoint port. */
    private Path config(int endpointPort) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy: {admin: off, connectionLog: connections.log}
                services:
                  - name: web
                    clusterIP: 127.0.10.205
                    ports: [{port: 18205}]
                    endpoints: [{ip: 127.0.0.205, port: %d}]
                """.formatted(endpointPort));
        return config;
    }

    private static int connect() throws Exception {
        try (Socket s = ProcessTest.connect("127.0.10.205", 18205)) {
            assertThat(s.getInputStream().readAllBytes()).isNotEmpty();
            return s.getLocalPort();
        }
    }

    /** Waits for {@code n} lines in {@code file}; if they do not come, says what the file and the process had. */
    private static void awaitLines(Path file, int n, SvcproxyProcess p) {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(lines(file))
                .as("%s, svcproxy's output:%n%s", file.getFileName(), p.stderr()).hasSize(n));
    }

    private static List<String> lines(Path file) throws Exception {
        return Files.exists(file) ? Files.readAllLines(file) : List.of();
    }
}
