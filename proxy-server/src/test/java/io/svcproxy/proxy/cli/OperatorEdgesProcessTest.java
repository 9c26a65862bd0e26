package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.proxy.cli.TestBackend.Mode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * From helper-116's review: how operators run svcproxy at its edges: the connection log option (a FIFO without
 * reader, a file that cannot be created), signals around start-up, the {@code backend} command's exit code, and
 * {@code ~} in paths.
 * Addresses: ClusterIPs 127.0.10.127-131, endpoints 127.0.0.121-130.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OperatorEdgesProcessTest {
    /** Drops root's power to write where the owner may not: a folder of mode 0555 is then read-only to it too. */
    static final List<String> NO_DAC_OVERRIDE = List.of("setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search");

    @TempDir
    Path dir;

    private static void mkfifo(Path fifo) throws Exception {
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("mkfifo %s", fifo).isZero();
    }

    private Path config(String proxy, String endpointIp, int endpointPort, int servicePort) throws IOException {
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy: {admin: off%s}
                services:
                  - name: web
                    clusterIP: 127.0.10.127
                    ports: [{port: %d}]
                    endpoints: [{ip: %s, port: %d}]
                """.formatted(proxy, servicePort, endpointIp, endpointPort));
        return config;
    }

    /**
     * A connection log that is a named pipe (a log shipper's FIFO) whose reader is not there yet: validate accepts
     * it, and run then blocks for good in open(2) on the main thread, before any listener binds; the SIGTERM that
     * comes next is only recorded (no server yet), so the process can be stopped by SIGKILL alone.
     */
    @Test
    void aConnectionLogFifoWithoutReaderNeitherWedgesTheStartNorOutlivesSigterm() throws Exception {
        mkfifo(dir.resolve("connections.fifo"));
        Path config = config(", connectionLog: connections.fifo", "127.0.0.121", 9, 18127);
        CommandLineTest.Result validate = CommandLineTest.run("validate", "--config", config.toString());
        try (SvcproxyProcess p = SvcproxyProcess.start(dir, "run", "--config", config.toString())) {
            boolean settled = true;
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> p.stderr().contains("Serving") || !p.isAlive());
            } catch (ConditionTimeoutException e) {
                settled = false;
            }
            p.terminate();
            Integer code = exitCodeWithin(p, 20);
            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(settled).as("served or exited within 30 s (validate said: %s%s); %s", validate.out(),
                    validate.err(), p.output()).isTrue();
            soft.assertThat(code).as("exit code within 20 s of SIGTERM (null: still running)").isIn(0, 2);
            soft.assertAll();
        }
    }

    /**
     * The same FIFO named by a reload: the sync applies it under the server's lock and blocks in open(2), so no
     * later change is ever applied (the endpoint below never moves to b), and SIGTERM's shutdown waits for that
     * lock for good: the listeners are never closed and the process never exits.
     */
    @Test
    void aReloadNamingAConnectionLogFifoDoesNotWedgeLaterReloadsAndShutdown() throws Exception {
        try (TestBackend a = TestBackend.start(new InetSocketAddress("127.0.0.121", 0), "a", Mode.NAME);
             TestBackend b = TestBackend.start(new InetSocketAddress("127.0.0.122", 0), "b", Mode.NAME)) {
            mkfifo(dir.resolve("connections.fifo"));
            Path config = config("", "127.0.0.121", a.address().getPort(), 18128);
            try (SvcproxyProcess p = SvcproxyProcess.start(dir, "run", "--config", config.toString())) {
                await().atMost(Duration.ofSeconds(30)).until(() -> ProcessTest.accepts("127.0.10.127", 18128)
                        || !p.isAlive());
                assertThat(ProcessTest.name("127.0.10.127", 18128)).as(p.output()).isEqualTo("a");
                config(", connectionLog: connections.fifo", "127.0.0.121", a.address().getPort(), 18128);
                await().atMost(Duration.ofSeconds(10)).until(() -> p.stderr().contains("Config applied"));
                // a later change: the endpoint moves to b
                config(", connectionLog: connections.fifo", "127.0.0.122", b.address().getPort(), 18128);
                boolean moved = true;
                try {
                    await().atMost(Duration.ofSeconds(15)).until(() -> ProcessTest.name("127.0.10.127", 18128)
                            .equals("b"));
                } catch (ConditionTimeoutException e) {
                    moved = false;
                }
                p.terminate();
                Integer code = exitCodeWithin(p, 30);
                SoftAssertions soft = new SoftAssertions();
                soft.assertThat(moved).as("the change after the FIFO was applied within 15 s; %s", p.output())
                        .isTrue();
                soft.assertThat(code).as("exit code within 30 s of SIGTERM (null: still running)").isEqualTo(0);
                soft.assertAll();
            }
        }
    }

    /**
     * proxy.connectionLog's check (ProxyBinder#connectionLog: "so that a reload naming a file that cannot be written
     * is rejected with its line rather than failing later") lets through a file its folder does not let svcproxy
     * create: validate says ok, and run serves without any connection log (one ERROR line, naming a Java exception
     * class), ready, with nothing in the metrics.
     */
    @Test
    void aConnectionLogThatCannotBeCreatedIsAnErrorWithItsLineNotAServerWithoutLog() throws Exception {
        Path readOnly = Files.createDirectory(dir.resolve("logs"));
        Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
        Path config = config(", connectionLog: logs/connections.log", "127.0.0.121", 9, 18129);
        assertCannotCreateIn(readOnly);
        try (SvcproxyProcess v = SvcproxyProcess.startWithin(NO_DAC_OVERRIDE, dir, "validate", "--config",
                config.toString())) {
            int code = v.waitFor(60);
            assertThat(code).as("validate of a connection log that cannot be created; %s", v.output()).isEqualTo(2);
            assertThat(v.stderr()).contains(config + ":1:").contains("connectionLog");
        }
    }

    @Test
    void runDoesNotServeWithoutTheConnectionLogItWasGiven() throws Exception {
        Path readOnly = Files.createDirectory(dir.resolve("logs"));
        Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
        Path config = config(", connectionLog: logs/connections.log", "127.0.0.121", 9, 18130);
        assertCannotCreateIn(readOnly);
        try (SvcproxyProcess p = SvcproxyProcess.startWithin(NO_DAC_OVERRIDE, dir, "run", "--config",
                config.toString())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> p.stderr().contains("Serving") || !p.isAlive());
            boolean serving = p.isAlive();
            p.terminate();
            p.waitFor(20);
            assertThat(Files.exists(readOnly.resolve("connections.log"))).isFalse();
            assertThat(serving).as("serving without its connection log; %s", p.output()).isFalse();
        }
    }

    /**
     * SIGHUP reloads (SPEC), but it is handled only once the config has been read: one that comes while the config
     * is read (seconds for a large config, held open here by reading it from the standard input) takes the JVM's
     * default action and ends the process with 129, with no line said.
     */
    @Test
    void aSighupWhileTheConfigIsReadDoesNotKillTheProcess() throws Exception {
        Path fifo = dir.resolve("stdin.fifo");
        mkfifo(fifo);
        String yaml = """
                proxy: {admin: off}
                services:
                  - name: web
                    clusterIP: 127.0.10.128
                    ports: [{port: 18131}]
                    endpoints: [{ip: 127.0.0.121, port: 9}]
                """;
        // O_RDWR: the open does not wait for the other end, and the shell's open for reading finds a writer
        try (RandomAccessFile writer = new RandomAccessFile(fifo.toFile(), "rw")) {
            List<String> wrapper = List.of("env", "--default-signal=HUP", "sh", "-c", "exec \"$@\" < '" + fifo + "'",
                    "sh");
            try (SvcproxyProcess p = SvcproxyProcess.startWithin(wrapper, dir, "run", "--config", "/dev/stdin")) {
                // the JVM opened /dev/stdin again (fd 0 and its own): it is reading the config now
                await().atMost(Duration.ofSeconds(30)).until(() -> opensOf(p.pid(), fifo) >= 2 || !p.isAlive());
                p.signal("HUP");
                writer.write(yaml.getBytes(StandardCharsets.UTF_8));
                writer.close(); // end of file: the JVM holds the only other ends, both for reading
                await().atMost(Duration.ofSeconds(30)).until(() -> p.stderr().contains("Serving") || !p.isAlive());
                boolean alive = p.isAlive();
                p.terminate();
                int code = p.waitFor(20);
                assertThat(alive).as("alive after a SIGHUP during start-up (exit code %d); %s", code, p.output())
                        .isTrue();
                assertThat(p.stderr()).contains("Received SIGHUP during start-up: ignored");
                assertThat(code).isZero();
            }
        }
    }

    /**
     * SPEC: SIGTERM stops gracefully and exits 0. One that comes while the config is read (here a read that never
     * ends: the writer of the pipe stays open) ends the process with 0 at once, without serving, rather than with
     * the JVM's 143 or never (a stop that waited for the read).
     */
    @Test
    void aSigtermWhileTheConfigIsReadExitsZeroWithoutServing() throws Exception {
        Path fifo = dir.resolve("stdin.fifo");
        mkfifo(fifo);
        try (RandomAccessFile writer = new RandomAccessFile(fifo.toFile(), "rw")) {
            writer.write("proxy: {admin: off}\n".getBytes(StandardCharsets.UTF_8)); // and no end of file
            List<String> wrapper = List.of("sh", "-c", "exec \"$@\" < '" + fifo + "'", "sh");
            try (SvcproxyProcess p = SvcproxyProcess.startWithin(wrapper, dir, "run", "--config", "/dev/stdin")) {
                await().atMost(Duration.ofSeconds(30)).until(() -> opensOf(p.pid(), fifo) >= 2 || !p.isAlive());
                p.signal("TERM");
                assertThat(exitCodeWithin(p, 30)).as("exit code within 30 s of SIGTERM during the config's read "
                        + "(null: still running); %s", p.output()).isEqualTo(0);
                assertThat(p.stderr()).doesNotContain("Serving");
            }
        }
    }

    /** The precondition: under {@link #NO_DAC_OVERRIDE} no file can be created in {@code folder}. */
    private static void assertCannotCreateIn(Path folder) throws Exception {
        List<String> touch = new java.util.ArrayList<>(NO_DAC_OVERRIDE);
        touch.addAll(List.of("touch", folder.resolve("probe").toString()));
        Process p = new ProcessBuilder(touch).redirectErrorStream(true).start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("touch in a read-only folder without CAP_DAC_OVERRIDE").isNotZero();
    }

    /** The exit code, or {@code null} when the process is still running after {@code seconds}. */
    private static Integer exitCodeWithin(SvcproxyProcess p, long seconds) throws InterruptedException {
        try {
            return p.waitFor(seconds);
        } catch (AssertionError stillRunning) {
            return null;
        }
    }

    private static int opensOf(long pid, Path fifo) {
        int n = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals(fifo.toString())) {
                        n++;
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return n;
    }

    /**
     * SPEC: SIGTERM and SIGINT stop gracefully and exit 0, and exit codes are 0 success, 1 runtime failure, 2
     * invalid input. The backend command (the compose example's web-1..3 and dns-1..3, stopped by docker stop) does
     * the same: its own signal handlers close its server and it exits 0.
     */
    @Test
    void theBackendCommandExitsZeroOnSigterm() throws Exception {
        try (SvcproxyProcess p = SvcproxyProcess.start(dir, "backend", "--listen", "127.0.0.123:0", "--mode",
                "echo")) {
            await().atMost(Duration.ofSeconds(30)).until(() -> p.stderr().contains("Backend listening")
                    || !p.isAlive());
            assertThat(p.isAlive()).as(p.output()).isTrue();
            p.terminate();
            assertThat(p.waitFor(20)).as("exit code of backend after SIGTERM; %s", p.output()).isZero();
        }
    }

    /**
     * A SIGTERM sent the moment the backend says it listens (a supervisor waiting for that line) still stops it in
     * order, exit 0: its handlers were installed after its server started, so a signal in between ended the JVM with
     * 128+15 through its default action. The signal is sent by the thread reading stderr, as soon as the line is read.
     */
    @Test
    void theBackendCommandStopsInOrderOnASigtermRightAfterItSaysItListens() throws Exception {
        for (String mode : List.of("echo", "dns")) {
            try (SvcproxyProcess p = SvcproxyProcess.startTerminatingAt("Backend listening", dir, "backend",
                    "--listen", "127.0.153.2:0", "--mode", mode)) {
                int code = p.waitFor(30);
                assertThat(p.stderr()).as(p.output()).contains("Backend listening");
                assertThat(code).as("%s: exit code after SIGTERM; %s", mode, p.output()).isZero();
                assertThat(p.stderr()).as(p.output()).contains("Received SIGTERM: stopping");
            }
        }
    }

    /**
     * SPEC's own example writes {@code kubeconfig: ~/.kube/config}; kubectl, client-go and fabric8 read {@code ~} as
     * $HOME. svcproxy reads it as Java's user.home (the passwd entry's home: "?" for a container user with no
     * entry, or /root here), so a HOME set for the process is not where ~ points.
     */
    @Test
    void aTildeInTheKubeconfigIsTheHomeOfTheEnvironment() throws Exception {
        Path home = Files.createDirectories(dir.resolve("home").resolve(".kube")).getParent();
        Files.writeString(home.resolve(".kube").resolve("config"), "apiVersion: v1\nkind: Config\n");
        Path config = dir.resolve("k8s.yaml");
        Files.writeString(config, "registry:\n  kubernetes: {kubeconfig: ~/.kube/config}\n");
        try (SvcproxyProcess v = SvcproxyProcess.startWithin(List.of("env", "HOME=" + home), dir, "validate",
                "--config", config.toString())) {
            int code = v.waitFor(60);
            assertThat(code).as("validate with HOME=%s; %s", home, v.output()).isZero();
        }
    }

    /**
     * A ./svcproxy.yaml that is a link to a file that is gone (a config map's link after its target moved) is a
     * config that cannot be read, exit 2 naming it; it ran the demo, as if there were no ./svcproxy.yaml (helper-116's
     * suspicion: Files.exists followed the link).
     */
    @Test
    void aDanglingDefaultConfigLinkIsAnErrorNotTheDemo() throws Exception {
        Files.createSymbolicLink(dir.resolve("svcproxy.yaml"), dir.resolve("gone.yaml"));
        try (SvcproxyProcess p = SvcproxyProcess.start(dir, "run")) {
            int code = p.waitFor(60);
            assertThat(code).as(p.output()).isEqualTo(2);
            assertThat(p.stderr()).contains("svcproxy.yaml").doesNotContain("running the demo");
        }
    }
}
