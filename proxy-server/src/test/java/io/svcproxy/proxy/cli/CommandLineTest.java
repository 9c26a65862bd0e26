package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.svcproxy.proxy.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The command line in-process: exit codes, messages, {@code validate}'s output. */
class CommandLineTest {
    /**
     * The log levels before each test: {@code --log-level} sets them for the whole JVM, and a test that left
     * svcproxy's loggers at WARN made later test classes that wait for an INFO line fail (FaultInjectionTest's
     * "Returning endpoint", in full runs only).
     */
    private Level svcproxyLevel;
    private Level rootLevel;

    @BeforeEach
    void keepLogLevels() {
        svcproxyLevel = ((Logger) LoggerFactory.getLogger("io.svcproxy")).getLevel();
        rootLevel = ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).getLevel();
    }

    @AfterEach
    void restoreLogLevels() {
        ((Logger) LoggerFactory.getLogger("io.svcproxy")).setLevel(svcproxyLevel);
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(rootLevel);
    }

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
    }

    /** Runs {@code simulate --config CONFIG --trace TRACE} with {@code more} arguments. */
    static Result simulateTrace(java.nio.file.Path config, java.nio.file.Path trace, String... more) {
        String[] args = new String[5 + more.length];
        args[0] = "simulate";
        args[1] = "--config";
        args[2] = config.toString();
        args[3] = "--trace";
        args[4] = trace.toString();
        System.arraycopy(more, 0, args, 5, more.length);
        return run(args);
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    Path write(String name, String yaml) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, yaml);
        return file;
    }

    @Test
    void versionPrintsTheVersion() {
        Result r = run("version");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("svcproxy ");
    }

    @Test
    void validateSummarisesAGoodConfig() throws IOException {
        Path file = write("good.yaml", """
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    selector: {app: web}
                    ports: [{port: 80, targetPort: 8080}]
                pods:
                  - {name: web-1, ip: 127.0.0.11, labels: {app: web}}
                """);
        Result r = run("validate", "--config", file.toString());
        assertThat(r.code()).isZero();
        assertThat(r.out().lines().count()).isEqualTo(1);
        assertThat(r.out()).contains(file.toString());
        assertThat(r.err()).isEmpty();
    }

    @Test
    void validatePinpointsEveryMistakeWithFileLineAndColumn() throws IOException {
        Path file = write("broken.yaml", """
                proxy:
                  schedular: rr
                services:
                  - name: web
                    clusterIP: 127.0.10.300
                    scheduler: fastest
                    ports: [{port: 80}]
                    endpoints:
                      - {ip: 127.0.0.11, weight: 70000}
                """);
        Result r = run("validate", "--config", file.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        String f = file.toString();
        assertThat(r.err().lines()).allMatch(line -> line.startsWith(f + ":"));
        assertThat(r.err()).contains(f + ":2:3: ").contains("did you mean 'scheduler'");
        assertThat(r.err()).contains(f + ":5:16: ").contains("127.0.10.300");
        assertThat(r.err()).contains(f + ":6:16: ").contains("fastest").contains("rr, wrr, lc, wlc, sed, nq, dh, sh, mh");
        assertThat(r.err()).contains(f + ":9:34: ").contains("70000");
    }

    @Test
    void validateRefusesAKubeconfigThatRunCouldNotRead() throws IOException {
        String config = """
                registry:
                  kubernetes: {kubeconfig: %s}
                """;
        Path missing = dir.resolve("no-such-kubeconfig");
        Path file = write("k8s.yaml", config.formatted(missing));
        Result r = run("validate", "--config", file.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).isEqualTo(file + ":2:28: kubeconfig: " + missing
                + " (expected: a readable kubeconfig file)" + System.lineSeparator());
        Result started = run("run", "--config", file.toString());
        assertThat(started.code()).as("run refuses it the same way").isEqualTo(2);
        assertThat(started.err()).contains(file + ":2:28: kubeconfig: ");
        assertThat(run("validate", "--config", write("dir.yaml", config.formatted(dir)).toString()).code())
                .as("a folder").isEqualTo(2);

        Files.writeString(missing, "apiVersion: v1\nkind: Config\n"); // read only by run: its content is not checked
        Result good = run("validate", "--config", file.toString());
        assertThat(good.code()).isZero();
        assertThat(good.err()).isEmpty();
    }

    @Test
    void validateOfAMissingFileExitsTwo() {
        Result r = run("validate", "--config", dir.resolve("nope.yaml").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("nope.yaml");
    }

    @Test
    void anUnknownOptionExitsTwo() {
        Result r = run("validate", "--config", "x.yaml", "--frobnicate");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--frobnicate");
    }

    @Test
    void anUnknownCommandExitsTwoNamingItAndTheCommands() {
        Result r = run("valdiate", "--config", "x.yaml");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("Unknown command 'valdiate' (commands: run, validate, simulate, demo,")
                .doesNotContain("Usage: svcproxy run");
    }

    @Test
    void anArgumentFileIsStillPicoclis() throws IOException {
        Path args = write("args.txt", "--log-level=bogus\n");
        Result r = run("@" + args); // run's options, read from the file
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).doesNotContain("Unknown command").contains("bogus");
    }

    @Test
    void runWithAnInvalidConfigExitsTwoWithoutServing() throws IOException {
        Path file = write("bad.yaml", "services: [{name: Bad_Name}]\n");
        Result r = run("run", "--config", file.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(file + ":1:");
    }

    @Test
    void runIsTheDefaultCommand() throws IOException {
        Path file = write("bad.yaml", "services: 7\n");
        Result r = run("--config", file.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(file + ":1:");
    }

    @Test
    void runWithALogLevelAndTheConfigAfterItReportsTheConfigsMistakes() throws IOException {
        Path file = write("bad.yaml", "services: 7\n");
        Result r = run("run", "--log-level", "warn", "--config=" + file);
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(file + ":1:");
        // set before the run returned (on its warm-up thread): not after this test's restore of the levels, which
        // would leave later test classes of this JVM without svcproxy's INFO lines
        assertThat(((Logger) LoggerFactory.getLogger("io.svcproxy")).getLevel()).isEqualTo(Level.WARN);
    }

    @Test
    void theLogLevelMayComeBeforeTheCommandAsTheTopLevelUsageShowsIt() throws IOException {
        Result version = run("--log-level=warn", "version");
        assertThat(version.code()).isZero();
        assertThat(version.out()).startsWith("svcproxy ");
        Path bad = write("bad.yaml", "services: 7\n");
        Result validate = run("--log-level", "warn", "validate", "--config", bad.toString());
        assertThat(validate.code()).isEqualTo(2);
        assertThat(validate.err()).contains(bad + ":1:").doesNotContain("Unmatched argument");
        Result run = run("--log-level", "warn", "run", "--config", bad.toString());
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err()).contains(bad + ":1:").doesNotContain("Unmatched argument");
    }

    @Test
    void runWithoutTheConfigsValueIsPicocliUsageError() {
        Result r = run("run", "--config");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--config").contains("Usage:");
    }

    @Test
    void anUnknownLogLevelExitsTwoNamingIt() {
        Result r = run("run", "--log-level", "loud", "--config", "x.yaml");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("log level: loud (expected: trace, debug, info, warn, error, off)")
                .doesNotContain("Could not invoke");
    }

    @Test
    void anAddressInUseExitsOneNamingIt() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.10.9"))) {
            Path file = write("busy.yaml", """
                    proxy: {admin: off}
                    services:
                      - name: web
                        clusterIP: 127.0.10.9
                        ports: [{port: %d}]
                        endpoints: [{ip: 127.0.0.11, port: 8080}]
                    """.formatted(taken.getLocalPort()));
            Result r = run("run", "--config", file.toString());
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("127.0.10.9:" + taken.getLocalPort());
        }
    }

    @Test
    void backendRejectsAnUnknownMode() {
        Result r = run("backend", "--listen", "127.0.0.1:0", "--mode", "teapot");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("teapot").contains("echo, http, discard, name");
    }
}
