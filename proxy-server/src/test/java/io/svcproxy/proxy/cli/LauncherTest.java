package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./svcproxy} launcher, black-box, with a stand-in {@code java} (a script that records its arguments)
 * in a fake runtime whose {@code release} file says which Java it is: the JVM options it passes, and the
 * class-data-sharing archive (Java 17-24) or AOT cache (Java 25+) it has the first run write and later runs map.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LauncherTest {
    static final Path LAUNCHER = Path.of("..", "svcproxy").toAbsolutePath().normalize();

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

    /** A runtime at {@code dir/jdk-NAME} whose java writes its arguments, one a line, and MALLOC_ARENA_MAX. */
    Path runtime(String version) throws IOException {
        Path home = Files.createDirectories(dir.resolve("jdk-" + version).resolve("bin")).getParent();
        Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"" + version + "\"\n");
        Path java = home.resolve("bin").resolve("java");
        Files.writeString(java, "#!/bin/sh\n{ echo \"MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX\"; for a in \"$@\"; do "
                + "echo \"$a\"; done; } > '" + calls + "'\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return java;
    }

    /** Runs the launcher with {@code env} and returns what the stand-in java received. */
    List<String> launch(Path java, Map<String, String> env, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(LAUNCHER.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("JAVA_OPTS");
        builder.environment().remove("JAVA_HOME");
        builder.environment().remove("MALLOC_ARENA_MAX");
        builder.environment().remove("SVCPROXY_NO_CDS");
        builder.environment().put("SVCPROXY_JAR", jar.toString());
        builder.environment().put("SVCPROXY_JAVA", java.toString());
        builder.environment().putAll(env);
        Files.deleteIfExists(calls);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor()).as(output).isZero();
        return Files.readAllLines(calls);
    }

    /** The first bytes of a dynamic CDS archive (Java 17-24) and of an AOT cache (Java 25+), little-endian. */
    static final byte[] DYNAMIC_ARCHIVE = {(byte) 0xa8, (byte) 0xab, 0x0b, (byte) 0xf0};
    static final byte[] AOT_CACHE = {(byte) 0xa2, (byte) 0xab, 0x0b, (byte) 0xf0};

    /** Writes a file that starts as an archive of that kind does. */
    static void archive(Path file, byte[] magic) throws IOException {
        byte[] bytes = java.util.Arrays.copyOf(magic, 64);
        Files.write(file, bytes);
    }

    /** What a JVM that served writes as it exits: the archive, and the mark svcproxy made once it served. */
    static void servedArchive(String writing, byte[] magic) throws IOException {
        archive(Path.of(writing), magic);
        Files.write(Path.of(writing + ".served"), new byte[0]);
    }

    static String option(List<String> args, String prefix) {
        return args.stream().filter(a -> a.startsWith(prefix)).findFirst().map(a -> a.substring(prefix.length()))
                .orElse(null);
    }

    List<String> filesBesideTheJar() throws IOException {
        try (Stream<Path> files = Files.list(jar.getParent())) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void onJava17TheFirstRunWritesAnArchiveThatLaterRunsMap() throws Exception {
        Path java = runtime("17.0.15");
        List<String> first = launch(java, Map.of(), "run", "--config", "a.yaml");
        assertThat(first).startsWith("MALLOC_ARENA_MAX=2", "-XX:+UseSerialGC", "-Xms8m", "-Xmn6m", "-XX:-UsePerfData",
                "-XX:TrimNativeHeapInterval=1000", "-XX:CompileThresholdScaling=3",
                "-Dio.netty.leakDetection.level=disabled", "-Djdk.tls.rejectClientInitiatedRenegotiation=true");
        assertThat(first).endsWith("-cp", jar.toString(), "io.svcproxy.proxy.Main", "run", "--config", "a.yaml");
        String writing = option(first, "-XX:ArchiveClassesAtExit=");
        assertThat(writing).matches(".*/svcproxy-\\d+\\.jsa\\.tmp\\.\\d+");
        assertThat(option(first, "-XX:SharedArchiveFile=")).isNull();
        assertThat(first).doesNotContain("--sun-misc-unsafe-memory-access=allow"); // not an option of Java 17
        assertThat(first).doesNotContain("--enable-native-access=ALL-UNNAMED"); // no warning to silence on 17

        assertThat(option(first, "-Dsvcproxy.archiveOutput=")).isEqualTo(writing);
        servedArchive(writing, DYNAMIC_ARCHIVE); // what the JVM writes as it exits
        List<String> second = launch(java, Map.of(), "run");
        String archive = writing.substring(0, writing.indexOf(".tmp."));
        assertThat(option(second, "-XX:SharedArchiveFile=")).isEqualTo(archive);
        assertThat(option(second, "-XX:ArchiveClassesAtExit=")).isNull();
        assertThat(filesBesideTheJar()).containsExactly(Path.of(archive).getFileName().toString(), "svcproxy.jar");
    }

    /**
     * README: the archive is written by the first run of the proxy; `--config FILE` runs it (the default command),
     * so does `--log-level debug run`, while help, version and validate do not (they would record a poor archive;
     * helper-95's review: only a first word run or demo wrote one).
     */
    @Test
    void theDefaultCommandWithOptionsWritesAnArchiveAsRunDoes() throws Exception {
        Path java = runtime("17.0.15");
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
            List<String> args = launch(java, Map.of(), c.getKey().split(" "));
            assertThat(option(args, "-XX:ArchiveClassesAtExit=") != null).as(c.getKey()).isEqualTo(c.getValue());
        }
    }

    /** A JAVA_HOME or SVCPROXY_JAVA left pointing at a removed JDK is named, exit 127 (it exited 1, silent). */
    @Test
    void aRuntimeThatIsNotThereIsNamed() throws Exception {
        for (Map.Entry<String, String> env : Map.of("JAVA_HOME", dir.resolve("removed-jdk").toString(),
                "SVCPROXY_JAVA", dir.resolve("nowhere/java").toString()).entrySet()) {
            ProcessBuilder builder = new ProcessBuilder(LAUNCHER.toString(), "version").redirectErrorStream(true);
            builder.environment().remove("JAVA_HOME");
            builder.environment().remove("SVCPROXY_JAVA");
            builder.environment().put("SVCPROXY_JAR", jar.toString());
            builder.environment().put(env.getKey(), env.getValue());
            Process process = builder.start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor()).as(output).isEqualTo(127);
            assertThat(output).contains("no Java runtime at", env.getKey() + "=" + env.getValue());
        }
    }

    @Test
    void onJava25TheFirstRunWritesAnAotCacheThatLaterRunsMap() throws Exception {
        Path java = runtime("25.0.3");
        List<String> first = launch(java, Map.of());
        String writing = option(first, "-XX:AOTCacheOutput=");
        assertThat(writing).matches(".*/svcproxy-\\d+\\.aot\\.tmp\\.\\d+");
        assertThat(first).contains("-Xlog:aot=off", "--sun-misc-unsafe-memory-access=allow");
        // the manifest's Enable-Native-Access is read only with -jar: the launcher names the main class instead
        assertThat(first).contains("--enable-native-access=ALL-UNNAMED")
                .endsWith("-cp", jar.toString(), "io.svcproxy.proxy.Main");

        servedArchive(writing, AOT_CACHE);
        Files.writeString(Path.of(writing + ".config"), "left by a killed training run");
        List<String> second = launch(java, Map.of());
        String cache = writing.substring(0, writing.indexOf(".tmp."));
        assertThat(option(second, "-XX:AOTCache=")).isEqualTo(cache);
        assertThat(filesBesideTheJar()).containsExactly(Path.of(cache).getFileName().toString(), "svcproxy.jar");
    }

    @Test
    void otherOptionsOrAnotherRuntimeGetAnotherArchive() throws Exception {
        Path java17 = runtime("17.0.15");
        String defaults = option(launch(java17, Map.of()), "-XX:ArchiveClassesAtExit=");
        List<String> custom = launch(java17, Map.of("JAVA_OPTS", "-Xmx64m"));
        assertThat(custom).startsWith("MALLOC_ARENA_MAX=2", "-Xmx64m").doesNotContain("-XX:+UseSerialGC");
        String other = option(custom, "-XX:ArchiveClassesAtExit=");
        assertThat(other.substring(0, other.indexOf(".tmp."))).isNotEqualTo(defaults.substring(0,
                defaults.indexOf(".tmp.")));
        String newer = option(launch(runtime("17.0.16"), Map.of()), "-XX:ArchiveClassesAtExit=");
        assertThat(newer.substring(0, newer.indexOf(".tmp."))).isNotEqualTo(defaults.substring(0,
                defaults.indexOf(".tmp.")));
    }

    @Test
    void anArchiveBeingWrittenByALiveRunIsNeitherUsedNorWrittenAgain() throws Exception {
        Path java = runtime("17.0.15");
        String writing = option(launch(java, Map.of()), "-XX:ArchiveClassesAtExit=");
        String live = writing.substring(0, writing.lastIndexOf('.') + 1) + ProcessHandle.current().pid();
        Files.writeString(Path.of(live), "half written"); // as if this JVM were writing it
        List<String> args = launch(java, Map.of());
        assertThat(args).noneMatch(a -> a.startsWith("-XX:SharedArchiveFile=") || a.startsWith("-XX:Archive"));
        assertThat(Files.exists(Path.of(live))).isTrue();
    }

    @Test
    void aJavaFoundOnThePathIsKnownByTheRuntimeItLinksTo() throws Exception {
        // as `java` on PATH usually is: /usr/bin/java -> /etc/alternatives/java -> the runtime's bin/java
        Path java = runtime("25.0.3");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path alternative = Files.createSymbolicLink(dir.resolve("alternative-java"), java);
        Files.createSymbolicLink(bin.resolve("java"), alternative);
        Files.createDirectories(dir.resolve("empty"));
        List<String> args = launch(java, Map.of("SVCPROXY_JAVA", "java",
                "PATH", dir.resolve("empty") + ":" + bin + ":/usr/bin:/bin"));
        assertThat(option(args, "-XX:AOTCacheOutput=")).isNotNull(); // Java 25, read from the runtime's release
        assertThat(args).contains("--enable-native-access=ALL-UNNAMED");
    }

    @Test
    void aRuntimeWithoutAReleaseFileIsAskedItsVersion() throws Exception {
        // a wrapper script (asdf or mise shims, Nix) resolves to no JDK home: without its version the launcher
        // dropped the options of Java 22+ and 24+, and the JVM printed Netty's native-access warnings
        Path java = Files.createDirectories(dir.resolve("shims")).resolve("java");
        Files.writeString(java, "#!/bin/sh\nif [ \"$1\" = -version ]; then echo 'Picked up JAVA_TOOL_OPTIONS: -Dx=y' >&2; "
                + "echo 'openjdk version \"25.0.3\" 2026-01-20 LTS' >&2; exit 0; fi\n"
                + "{ echo \"MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX\"; for a in \"$@\"; do echo \"$a\"; done; } > '"
                + calls + "'\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> args = launch(java, Map.of());
        assertThat(args).contains("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");
        assertThat(option(args, "-XX:AOTCacheOutput=")).isNotNull();
    }

    @Test
    void emptyJavaOptsAndNoCdsPassNothingButTheJar() throws Exception {
        List<String> args = launch(runtime("17.0.15"), Map.of("JAVA_OPTS", "", "SVCPROXY_NO_CDS", "1",
                "MALLOC_ARENA_MAX", "4"), "version");
        assertThat(args).containsExactly("MALLOC_ARENA_MAX=4", "-cp", jar.toString(), "io.svcproxy.proxy.Main",
                "version");
    }

    @Test
    void calledThroughASymbolicLinkItServesTheJarOfTheRepositoryItIsIn() throws Exception {
        Path repository = Files.createDirectories(dir.resolve("repo"));
        Path launcher = Files.copy(LAUNCHER, repository.resolve("svcproxy"));
        Path repoJar = Files.createDirectories(repository.resolve("proxy-server").resolve("target"))
                .resolve("svcproxy.jar");
        Files.writeString(repoJar, "not really a jar");
        Path link = Files.createSymbolicLink(Files.createDirectories(dir.resolve("bin")).resolve("svcproxy"),
                launcher);
        ProcessBuilder builder = new ProcessBuilder(link.toString(), "version").redirectErrorStream(true);
        builder.environment().remove("JAVA_OPTS");
        builder.environment().remove("SVCPROXY_JAR");
        builder.environment().put("SVCPROXY_NO_CDS", "1");
        builder.environment().put("SVCPROXY_JAVA", runtime("17.0.15").toString());
        builder.environment().put("PATH", "/usr/bin:/bin"); // no mvn needed: the jar is newer than any source
        Process process = builder.directory(dir.toFile()).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor()).as(output).isZero();
        assertThat(output).doesNotContain("Building");
        assertThat(Files.readAllLines(calls)).containsSubsequence("-cp", repoJar.toString());
    }

    @Test
    void onlyTheProxysOwnRunsWriteAnArchiveAndEveryCommandMapsOne() throws Exception {
        Path java25 = runtime("25.0.3");
        for (String command : List.of("validate", "version", "simulate", "backend", "--help")) {
            List<String> args = launch(java25, Map.of(), command);
            assertThat(args).as(command).noneMatch(a -> a.startsWith("-XX:AOTCacheOutput=") || a.startsWith("-Xlog"));
        }
        assertThat(option(launch(java25, Map.of(), "demo"), "-XX:AOTCacheOutput=")).isNotNull();
        String writing = option(launch(java25, Map.of(), "run", "--config", "a.yaml"), "-XX:AOTCacheOutput=");
        servedArchive(writing, AOT_CACHE);
        String cache = writing.substring(0, writing.indexOf(".tmp."));
        assertThat(option(launch(java25, Map.of(), "validate", "--config", "a.yaml"), "-XX:AOTCache="))
                .isEqualTo(cache);
    }

    /**
     * The archive of a run that never served (a config typo, a port in use: no ARCHIVE.served) records a failed
     * start's classes: deleted, and the next run writes one again (helper-95's review: it was moved into place, and
     * every later run mapped it, 961 classes still loaded from the jar, until the jar changed).
     */
    @Test
    void theArchiveOfARunThatNeverServedIsDeletedNotMapped() throws Exception {
        Path java = runtime("17.0.15");
        String writing = option(launch(java, Map.of(), "run", "--config", "typo.yaml"), "-XX:ArchiveClassesAtExit=");
        archive(Path.of(writing), DYNAMIC_ARCHIVE); // a whole archive, but of a failed start: no mark
        List<String> args = launch(java, Map.of(), "run", "--config", "fixed.yaml");
        assertThat(option(args, "-XX:SharedArchiveFile=")).isNull();
        assertThat(option(args, "-XX:ArchiveClassesAtExit=")).as("written again").isNotNull();
        assertThat(filesBesideTheJar()).containsExactly("svcproxy.jar");
    }

    @Test
    void aHalfWrittenArchiveOfAKilledRunIsDeletedNotMapped() throws Exception {
        Path java = runtime("17.0.15");
        String writing = option(launch(java, Map.of()), "-XX:ArchiveClassesAtExit=");
        // a JVM killed while it dumped: the file is there, large, and its header still zeros
        Files.write(Path.of(writing), new byte[8192]);
        List<String> args = launch(java, Map.of());
        assertThat(option(args, "-XX:SharedArchiveFile=")).isNull();
        assertThat(option(args, "-XX:ArchiveClassesAtExit=")).as("written again").isNotNull();
        assertThat(filesBesideTheJar()).containsExactly("svcproxy.jar");
    }

    @Test
    void launchersStartingTogetherAllStartWhileOneMovesTheArchiveIntoPlace() throws Exception {
        // the run that wrote the archive is gone; several launchers then start at once (backends and the proxy of
        // a demo script): each may try to move it into place, and none may fail for the one that won
        Path java = runtime("17.0.15");
        String writing = option(launch(java, Map.of()), "-XX:ArchiveClassesAtExit=");
        String archive = writing.substring(0, writing.indexOf(".tmp."));
        for (int round = 0; round < 15; round++) {
            Files.deleteIfExists(Path.of(archive));
            servedArchive(writing, DYNAMIC_ARCHIVE);
            List<Process> started = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ProcessBuilder builder = new ProcessBuilder(LAUNCHER.toString(), "version").redirectErrorStream(true);
                builder.environment().remove("JAVA_OPTS");
                builder.environment().remove("JAVA_HOME");
                builder.environment().remove("SVCPROXY_NO_CDS");
                builder.environment().put("SVCPROXY_JAR", jar.toString());
                builder.environment().put("SVCPROXY_JAVA", java.toString());
                started.add(builder.start());
            }
            for (Process p : started) {
                String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor()).as("round " + round + ": " + output).isZero();
            }
            assertThat(Files.exists(Path.of(archive))).isTrue();
        }
    }

    @Test
    void aJava17OlderThan17_0_9IsNotGivenTheNativeHeapTrim() throws Exception {
        assertThat(launch(runtime("17.0.8"), Map.of())).noneMatch(a -> a.startsWith("-XX:TrimNativeHeapInterval"))
                .contains("-XX:+UseSerialGC");
        assertThat(launch(runtime("17"), Map.of())).noneMatch(a -> a.startsWith("-XX:TrimNativeHeapInterval"));
        assertThat(launch(runtime("17.0.9"), Map.of())).contains("-XX:TrimNativeHeapInterval=1000");
        assertThat(launch(runtime("21.0.2"), Map.of())).contains("-XX:TrimNativeHeapInterval=1000");
    }
}
