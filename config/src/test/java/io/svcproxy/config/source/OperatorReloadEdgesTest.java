package io.svcproxy.config.source;

import static io.svcproxy.config.source.ConfigFileSourceTest.config;
import static io.svcproxy.config.source.ConfigFileSourceTest.podIps;
import static io.svcproxy.config.source.ConfigFileSourceTest.pods;
import static io.svcproxy.config.source.ConfigFileSourceTest.registryConfig;
import static io.svcproxy.config.source.ConfigFileSourceTest.weight;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigError;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServiceSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reloads as an operator meets them, beyond the three ways of writing that {@link ConfigFileSourceTest} covers (in
 * place, renamed over, a ConfigMap's {@code ..data} swap): a file deleted and written again, an editor that keeps a
 * backup by renaming the file away before it writes the new one, a file that cannot be read, and a file written in
 * two steps further apart than the debounce. Each is seen within SPEC's 2 seconds, and whatever cannot be read is
 * rejected with the file's name while the last good config keeps serving.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class OperatorReloadEdgesTest {
    @TempDir
    Path dir;

    private final ConfigFileSourceTest.Recorder recorder = new ConfigFileSourceTest.Recorder();
    private ConfigFileSource source;

    @AfterEach
    void closeSource() {
        if (source != null) {
            source.close();
        }
    }

    /**
     * {@code rm svcproxy.yaml} and then a new one (a deploy script, {@code git checkout}): the read in between is
     * rejected as "no such file", nothing is unbound, and the new file is applied when it comes.
     */
    @Test
    void aConfigDeletedIsRejectedAndTheFileWrittenAgainIsApplied() throws Exception {
        Path file = write("svcproxy.yaml", config(1));
        start(file);

        Files.delete(file);
        within2s().untilAsserted(() -> assertThat(recorder.rejected).hasSize(1));
        assertThat(recorder.rejected.get(0).errors().errors()).extracting(ConfigError::toString)
                .containsExactly(file + ": cannot read: no such file");
        assertThat(recorder.applied).isEmpty();

        Files.writeString(file, config(2));
        within2s().untilAsserted(() -> assertThat(weight(recorder.lastApplied())).isEqualTo(2));
        assertThat(recorder.rejected).hasSize(1);
    }

    /** The same for a registry file: the error is at its entry in the config, which names it. */
    @Test
    void aRegistryFileDeletedIsRejectedAtItsEntryAndTheFileWrittenAgainIsApplied() throws Exception {
        Path pods = write("pods.yaml", pods("127.0.150.11"));
        Path file = write("svcproxy.yaml", registryConfig(1));
        start(file);

        Files.delete(pods);
        within2s().untilAsserted(() -> assertThat(recorder.rejected).hasSize(1));
        assertThat(recorder.rejected.get(0).errors().errors()).extracting(ConfigError::toString)
                .containsExactly(file + ":1:20: files[0]: " + pods + " (cannot read: no such file)");

        Files.writeString(pods, pods("127.0.150.12"));
        within2s().untilAsserted(() -> assertThat(podIps(recorder.lastApplied())).containsExactly("127.0.150.12"));
    }

    /**
     * Vim with {@code backupcopy=no} (and other editors that keep a backup): the file is renamed to its backup, a new
     * file is written under its name, the backup is deleted. One change, applied; never a rejection for the moment the
     * name was free, as the steps come within the debounce.
     */
    @Test
    void anEditorThatRenamesTheFileToItsBackupBeforeWritingIsApplied() throws Exception {
        Path file = write("svcproxy.yaml", config(1));
        start(file);

        Path backup = dir.resolve("svcproxy.yaml~");
        Files.move(file, backup, StandardCopyOption.ATOMIC_MOVE);
        Files.writeString(file, config(2));
        Files.delete(backup);

        within2s().untilAsserted(() -> assertThat(weight(recorder.lastApplied())).isEqualTo(2));
        assertThat(recorder.rejected).isEmpty();
        assertThat(recorder.applied).hasSize(1);
    }

    /**
     * A file svcproxy may not read any more: {@code chmod 000} for a svcproxy not run as root, or, for anyone, a name
     * that no longer leads to a file (a link to itself here, which root cannot open either; both fail at open(2), as
     * "cannot read: permission denied" or the system's reason). Rejected with the file's name, the config in force
     * keeps serving; once the file reads again as the config in force, the listener is told that config again.
     */
    @Test
    void aConfigThatCannotBeReadIsRejectedAndTheConfigInForceStays() throws Exception {
        Path file = write("svcproxy.yaml", config(1));
        start(file);
        ProxyConfig inForce = ConfigLoader.load(file);

        Path kept = dir.resolve("kept.yaml");
        Files.move(file, kept);
        Files.createSymbolicLink(file, file.getFileName());
        within2s().untilAsserted(() -> assertThat(recorder.rejected).hasSize(1));
        assertThat(recorder.rejected.get(0).errors().errors()).singleElement().asString()
                .isEqualTo(file + ": cannot read: too many levels of symbolic links or unable to access attributes of "
                        + "symbolic link"); // the system's reason, the path not repeated
        assertThat(recorder.applied).isEmpty();

        Files.delete(file);
        Files.move(kept, file);
        within2s().untilAsserted(() -> assertThat(recorder.applied).containsExactly(inForce));
    }

    /**
     * A file written in two steps further apart than the debounce (200 ms), the first of which is a valid config on
     * its own: {@code cat part1 > svcproxy.yaml; sleep 1; cat part2 >> svcproxy.yaml}, a slow scp or rsync
     * --inplace. Nothing tells a pause from the end of the write (a time long enough for every writer would break
     * SPEC's 2 seconds for every write), so the first part is applied as it stands (here the Service db is missing:
     * it would be unbound) and the whole file when the rest comes. This pins that behaviour: README's "Live changes"
     * says to write a file in place in one go, or to write it next to the old one and rename it over (editors,
     * install(1), the kubelet, Ansible and cert-manager do), as Envoy's file-based configuration requires.
     */
    @Test
    void aFileWrittenInTwoStepsFurtherApartThanTheDebounceIsAppliedAsEachStepStands() throws Exception {
        String web = """
                services:
                  - {name: web, clusterIP: 127.0.150.1, ports: [{port: 80}], endpoints: [{ip: 127.0.150.11}]}
                """;
        String db = """
                  - {name: db, clusterIP: 127.0.150.2, ports: [{port: 5432}], endpoints: [{ip: 127.0.150.12}]}
                """;
        Path file = write("svcproxy.yaml", web + db);
        start(file);

        Files.writeString(file, web);
        within2s().untilAsserted(() -> assertThat(services(recorder.lastApplied())).containsExactly("web"));
        Files.writeString(file, db, StandardOpenOption.APPEND);
        within2s().untilAsserted(() -> assertThat(services(recorder.lastApplied())).containsExactly("web", "db"));

        assertThat(recorder.applied).extracting(OperatorReloadEdgesTest::services)
                .containsExactly(List.of("web"), List.of("web", "db"));
        assertThat(recorder.rejected).isEmpty();
    }

    /** A first step that does not parse on its own (cut in the middle of a line) is rejected, the whole applied. */
    @Test
    void aFirstStepThatIsNotAConfigOnItsOwnIsRejectedAndTheWholeApplied() throws Exception {
        Path file = write("svcproxy.yaml", config(1));
        start(file);

        String whole = config(2);
        int cut = whole.indexOf("[{ip:") + 3;
        Files.writeString(file, whole.substring(0, cut));
        within2s().untilAsserted(() -> assertThat(recorder.rejected).hasSize(1));
        assertThat(recorder.rejected.get(0).errors().errors()).isNotEmpty().allSatisfy(error -> {
            assertThat(error.file()).isEqualTo(file.toString());
            assertThat(error.line()).isPositive();
        });
        Files.writeString(file, whole.substring(cut), StandardOpenOption.APPEND);
        within2s().untilAsserted(() -> assertThat(weight(recorder.lastApplied())).isEqualTo(2));
    }

    // ---- helpers

    private void start(Path file) throws Exception {
        source = new ConfigFileSource(ConfigLoader.load(file), recorder);
        source.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> source.loads() > 0);
    }

    private static ConditionFactory within2s() {
        return await().atMost(Duration.ofSeconds(2)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10));
    }

    private static List<String> services(ProxyConfig config) {
        return config == null ? List.of() : config.services().stream().map(ServiceSpec::name).toList();
    }

    private Path write(String name, String content) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, content);
        return file;
    }
}
