package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's choice of what writes the class-data archive and its answer to a missing runtime, black-box with a
 * stand-in java (helper-95's review).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LauncherArgumentsTest {
    static final Path LAUNCHER = LauncherTest.LAUNCHER;

    @TempDir
    Path dir;
    Path jar;
    Path calls;

    @BeforeEach
    void setUp() throws IOException {
        Path lib = Files.createDirectories(dir.resolve("lib"));
        jar = Files.writeString(lib.resolve("svcproxy.jar"), "not really a jar");
        calls = dir.resolve("calls");
    }

    /**
     * A Java 17.0.15 whose java records its arguments, writes the archive it is asked to (as a JVM does at exit) and
     * exits {@code exit}.
     */
    Path runtime(int exit) throws IOException {
        Path home = Files.createDirectories(dir.resolve("jdk").resolve("bin")).getParent();
        Files.writeString(home.resolve("release"), "JAVA_VERSION=\"17.0.15\"\n");
        Path java = home.resolve("bin").resolve("java");
        Files.writeString(java, "#!/bin/bash\nfor a in \"$@\"; do echo \"$a\"; done > '" + calls + "'\n"
                + "for a in \"$@\"; do case $a in -XX:ArchiveClassesAtExit=*) "
                + "printf '\\xa8\\xab\\x0b\\xf0 a small archive' > \"${a#*=}\";; esac; done\nexit " + exit + "\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return java;
    }

    record Result(int exit, String output, List<String> args) {
    }

    Result launch(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(LAUNCHER.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("JAVA_OPTS");
        builder.environment().remove("JAVA_HOME");
        builder.environment().remove("SVCPROXY_NO_CDS");
        builder.environment().remove("SVCPROXY_JAVA");
        builder.environment().put("SVCPROXY_JAR", jar.toString());
        builder.environment().putAll(env);
        Files.deleteIfExists(calls);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = process.waitFor();
        return new Result(exit, output, Files.exists(calls) ? Files.readAllLines(calls) : List.of());
    }

    static boolean writesArchive(List<String> args) {
        return args.stream().anyMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit="));
    }

    /**
     * README: the archive is written by the first run of the proxy; `--config FILE` runs it (the default command),
     * so does `--log-level debug run`, while help, version and validate do not (they would record a poor archive).
     */
    @Test
    void theDefaultCommandWithOptionsWritesAnArchiveAsRunDoes() throws Exception {
        String java = runtime(0).toString();
        Map<String, Boolean> cases = new java.util.LinkedHashMap<>();
        cases.put("run --config a.yaml", true);
        cases.put("--config a.yaml", true);
        cases.put("--log-level debug run --config a.yaml", true);
        cases.put("--log-level=debug --config a.yaml", true);
        cases.put("--help", false);
        cases.put("--log-level debug validate --config a.yaml", false);
        cases.put("version", false);
        cases.put("--log-level", false); // no value: svcproxy says so (the launcher's scan must not wait on it)
        for (Map.Entry<String, Boolean> c : cases.entrySet()) {
            Files.list(jar.getParent()).filter(p -> !p.equals(jar)).forEach(p -> p.toFile().delete());
            assertThat(writesArchive(launch(Map.of("SVCPROXY_JAVA", java), c.getKey().split(" ")).args()))
                    .as(c.getKey()).isEqualTo(c.getValue());
        }
    }

    /** A JAVA_HOME left pointing at a removed JDK is named, exit 127 (it exited 1 and said nothing). */
    @Test
    void aJavaHomeThatDoesNotExistIsReported() throws Exception {
        Result r = launch(Map.of("JAVA_HOME", dir.resolve("removed-jdk").toString()), "version");
        assertThat(r.exit()).isEqualTo(127);
        assertThat(r.output()).as("exit " + r.exit()).contains("no Java runtime at").contains("removed-jdk");
        Result s = launch(Map.of("SVCPROXY_JAVA", dir.resolve("nowhere/java").toString()), "version");
        assertThat(s.exit()).isEqualTo(127);
        assertThat(s.output()).contains("SVCPROXY_JAVA=").contains("nowhere/java");
    }
}
