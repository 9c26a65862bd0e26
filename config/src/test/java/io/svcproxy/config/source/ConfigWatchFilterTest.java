package io.svcproxy.config.source;

import static io.svcproxy.config.source.ConfigFileSourceTest.config;
import static io.svcproxy.config.source.ConfigFileSourceTest.configMap;
import static io.svcproxy.config.source.ConfigFileSourceTest.podIps;
import static io.svcproxy.config.source.ConfigFileSourceTest.pods;
import static io.svcproxy.config.source.ConfigFileSourceTest.port;
import static io.svcproxy.config.source.ConfigFileSourceTest.registryConfig;
import static io.svcproxy.config.source.ConfigFileSourceTest.swapConfigMap;
import static io.svcproxy.config.source.ConfigFileSourceTest.versionFolder;
import static io.svcproxy.config.source.ConfigFileSourceTest.weight;
import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigException;
import io.svcproxy.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The config watch looks at its files only for events about their own entries (issue 16: the connection log
 * written next to the config made the watch fingerprint the config at every write). The poll interval here is an
 * hour, so whatever is seen within the test is seen through a watch event that passed the filter.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ConfigWatchFilterTest {
    private static final Duration NO_POLL = Duration.ofHours(1);
    private static final Duration DEBOUNCE = Duration.ofMillis(100);

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

    @Test
    void filesWrittenNextToTheConfigDoNotMakeTheWatchLook() throws Exception {
        Path file = write("svcproxy.yaml", config(1));
        start(file);
        long checks = source.checks();
        long loads = source.loads();
        long events = source.folders().events();

        // A connection log appended to, rotated by rename and created again; an editor's swap file.
        Path logFile = dir.resolve("connections.log");
        for (int i = 0; i < 30; i++) {
            Files.writeString(logFile, "{\"line\": " + i + "}\n", CREATE, APPEND);
            Thread.sleep(2);
        }
        Files.move(logFile, dir.resolve("connections.log.1"));
        Files.writeString(logFile, "{}\n");
        Files.writeString(dir.resolve(".svcproxy.yaml.swp"), "x");
        Files.delete(dir.resolve(".svcproxy.yaml.swp"));

        await().atMost(Duration.ofSeconds(5)).until(() -> source.folders().events() >= events + 5);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                .until(() -> source.checks() == checks && source.loads() == loads);

        // The same watch still sees the config itself.
        Files.writeString(file, config(2));
        seen().untilAsserted(() -> assertThat(weight(recorder.lastApplied())).isEqualTo(2));
        assertThat(source.checks()).isGreaterThan(checks);
    }

    @Test
    void seesTheConfigRewrittenInPlace() throws Exception {
        Path file = write("svcproxy.yaml", config(1));
        start(file);

        Files.writeString(file, config(2));

        seen().untilAsserted(() -> assertThat(weight(recorder.lastApplied())).isEqualTo(2));
    }

    @Test
    void seesTheConfigReplacedByRename() throws Exception {
        Path file = write("svcproxy.yaml", config(1));
        start(file);

        Path temp = write("svcproxy.yaml.tmp", config(3));
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);

        seen().untilAsserted(() -> assertThat(weight(recorder.lastApplied())).isEqualTo(3));
    }

    @Test
    void seesAConfigMapSwapAndIgnoresALogInTheMount() throws Exception {
        Path mount = Files.createDirectories(dir.resolve("config"));
        Path file = configMap(mount);
        start(file);
        long checks = source.checks();
        long events = source.folders().events();

        Files.writeString(mount.resolve("connections.log"), "{}\n");
        Files.writeString(mount.resolve(versionFolder(1)).resolve("stray.txt"), "x");
        await().atMost(Duration.ofSeconds(5)).until(() -> source.folders().events() >= events + 2);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> source.checks() == checks);

        swapConfigMap(mount, 2);
        seen().untilAsserted(() -> {
            assertThat(port(recorder.lastApplied())).isEqualTo(82);
            assertThat(podIps(recorder.lastApplied())).containsExactly("10.0.0.2");
        });

        // The new version's folder is watched after the swap: the next swap is seen too.
        swapConfigMap(mount, 3);
        seen().untilAsserted(() -> assertThat(port(recorder.lastApplied())).isEqualTo(83));
    }

    @Test
    void seesARegistryFileInAnotherFolder() throws Exception {
        Path registry = Files.createDirectories(dir.resolve("registry"));
        Path podsFile = registry.resolve("pods.yaml");
        Files.writeString(podsFile, pods("10.0.0.1"));
        Path file = write("svcproxy.yaml", registryConfig(1).replace("[pods.yaml]", "[registry/pods.yaml]"));
        start(file);
        long checks = source.checks();
        long events = source.folders().events();

        Files.writeString(registry.resolve("other.yaml"), "x");
        await().atMost(Duration.ofSeconds(5)).until(() -> source.folders().events() > events);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> source.checks() == checks);

        Files.writeString(podsFile, pods("10.0.0.1", "10.0.0.2"));

        seen().untilAsserted(() -> assertThat(podIps(recorder.lastApplied())).containsExactly("10.0.0.1", "10.0.0.2"));
    }

    @Test
    void seesTheTargetOfALinkToAnotherFolder() throws Exception {
        Path real = Files.createDirectories(dir.resolve("real"));
        Path target = real.resolve("config.yaml");
        Files.writeString(target, config(1));
        Path file = Files.createSymbolicLink(dir.resolve("svcproxy.yaml"), target);
        start(file);

        Files.writeString(target, config(4));
        seen().untilAsserted(() -> assertThat(weight(recorder.lastApplied())).isEqualTo(4));

        // And the link itself pointed elsewhere.
        Path other = real.resolve("other.yaml");
        Files.writeString(other, config(5));
        Path link = Files.createSymbolicLink(dir.resolve("svcproxy.yaml.new"), other);
        Files.move(link, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        seen().untilAsserted(() -> assertThat(weight(recorder.lastApplied())).isEqualTo(5));
    }

    @Test
    void theEntriesOfAConfigMapFileAreTheFileItsDataLinkAndTheVersionedFile() throws Exception {
        Path mount = Files.createDirectories(dir.resolve("config"));
        Path file = configMap(mount);
        Path root = mount.toAbsolutePath().normalize();

        assertThat(WatchedFolders.entriesOf(file)).containsExactly(
                root.resolve("svcproxy.yaml"), root.resolve("..data"),
                root.resolve(versionFolder(1)).resolve("svcproxy.yaml"));
    }

    @Test
    void theEntriesOfAPlainOrMissingFileAreTheFileAlone() throws Exception {
        Path plain = write("svcproxy.yaml", config(1));
        Path missing = dir.resolve("later/pods.yaml");

        assertThat(WatchedFolders.entriesOf(plain)).containsExactly(plain.toAbsolutePath().normalize());
        assertThat(WatchedFolders.entriesOf(missing)).containsExactly(missing.toAbsolutePath().normalize());
    }

    @Test
    void aLoopOfLinksEndsWithTheLinksMet() throws Exception {
        Path a = dir.resolve("a.yaml");
        Path b = dir.resolve("b.yaml");
        Files.createSymbolicLink(a, b.getFileName());
        Files.createSymbolicLink(b, a.getFileName());

        assertThat(WatchedFolders.entriesOf(a)).containsExactlyInAnyOrder(
                a.toAbsolutePath().normalize(), b.toAbsolutePath().normalize());
    }

    /**
     * A watch follows its folder's inode: the config's folder replaced by a rename (an atomic folder swap) is
     * registered again at the next read, so its next change is seen by the watch (there is no poll here).
     */
    @Test
    void aFolderReplacedByARenameIsWatchedAgainFromTheNextRead() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Path file = conf.resolve("svcproxy.yaml");
        Files.writeString(file, config(1));
        start(file);
        Files.move(conf, dir.resolve("conf.old"));
        Files.createDirectories(conf);
        Files.writeString(file, config(2));
        source.reloadNow(); // the swap itself is in a folder no one watches: a poll or a SIGHUP reads it
        assertThat(weight(recorder.lastApplied())).isEqualTo(2);

        Files.writeString(file, config(3));
        seen().untilAsserted(() -> assertThat(weight(recorder.lastApplied())).isEqualTo(3));
    }

    /**
     * A {@code ..} after a linked folder goes up from the link's target, as the kernel resolves it: a registry file
     * {@code ../shared/pods.yaml} of a config in {@code current -> releases/1} is {@code releases/shared/pods.yaml}.
     */
    @Test
    void theEntriesOfAPathWithDotDotAfterALinkedFolderAreResolvedAsTheKernelDoes() throws Exception {
        Path real = Files.createDirectories(dir.resolve("releases/1"));
        Files.createDirectories(dir.resolve("releases/shared"));
        Files.writeString(dir.resolve("releases/shared/pods.yaml"), "pods: []\n");
        Path link = Files.createSymbolicLink(dir.resolve("current"), real);
        Path root = dir.toAbsolutePath().normalize();

        assertThat(WatchedFolders.entriesOf(link.resolve("../shared/pods.yaml"))).containsExactly(
                root.resolve("current"), root.resolve("releases/shared/pods.yaml"));
    }

    // ---- helpers

    private void start(Path file) throws ConfigException {
        source = new ConfigFileSource(ConfigLoader.load(file), recorder, NO_POLL, DEBOUNCE);
        source.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> source.loads() > 0);
        assertThat(source.folders()).as("a WatchService on this file system").isNotNull();
    }

    /** Well under the hour's poll: only a watch event can explain a change seen in this time. */
    private static ConditionFactory seen() {
        return await().atMost(Duration.ofSeconds(3)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10));
    }

    private Path write(String name, String content) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, content);
        return file;
    }
}
