package io.svcproxy.config.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry file that holds no Pods (empty, or comments only) and was accepted so does not block a later change:
 * its content is compared with the accepted one's, not its fingerprint.
 *
 * <p>From helper-123's review: the check compared the whole fingerprint (real path, size, mtime, hash) with the
 * accepted one, so the same empty content under a new mtime or a new real path (every ConfigMap update: the kubelet
 * writes every key anew into a new timestamped folder) counted as "emptied", and every change of the config was
 * rejected while the file stayed empty, though validate said ok.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class EmptyRegistryFileReloadTest {
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

    /** A ConfigMap whose pods.yaml key is a placeholder comment: updating the ConfigMap's config key is rejected. */
    @Test
    void aConfigMapUpdateIsAppliedWhileItsRegistryFileStaysACommentOnlyPlaceholder() throws Exception {
        Path mount = Files.createDirectories(dir.resolve("config"));
        String placeholder = "# filled by the pod-sync job\n";
        writeVersion(mount, 1, placeholder);
        Files.createSymbolicLink(mount.resolve("..data"), Path.of(folder(1)));
        Files.createSymbolicLink(mount.resolve("svcproxy.yaml"), Path.of("..data/svcproxy.yaml"));
        Files.createSymbolicLink(mount.resolve("pods.yaml"), Path.of("..data/pods.yaml"));
        start(mount.resolve("svcproxy.yaml"));

        // the kubelet's atomic writer: a new folder with every key, ..data swapped to it, the old folder deleted
        writeVersion(mount, 2, placeholder);
        Files.createSymbolicLink(mount.resolve("..data_tmp"), Path.of(folder(2)));
        Files.move(mount.resolve("..data_tmp"), mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
        Files.delete(mount.resolve(folder(1)).resolve("svcproxy.yaml"));
        Files.delete(mount.resolve(folder(1)).resolve("pods.yaml"));
        Files.delete(mount.resolve(folder(1)));

        await().atMost(Duration.ofSeconds(3)).until(() -> !recorder.applied.isEmpty() || !recorder.rejected.isEmpty());
        assertThat(recorder.rejected)
                .as("the ConfigMap update (port 81 -> 82) with pods.yaml the same placeholder as accepted at start")
                .isEmpty();
        assertThat(ConfigFileSourceTest.port(recorder.lastApplied())).isEqualTo(82);
    }

    /** `touch pods.yaml` on an empty registry file accepted at start, then an edit of the config: rejected. */
    @Test
    void anEmptyRegistryFileTouchedDoesNotBlockAnEditOfTheConfig() throws Exception {
        Path pods = dir.resolve("pods.yaml");
        Files.writeString(pods, "");
        Path file = dir.resolve("svcproxy.yaml");
        Files.writeString(file, ConfigFileSourceTest.registryConfig(1));
        start(file);

        Files.setLastModifiedTime(pods, FileTime.from(Instant.now().plusSeconds(5))); // touch: still empty
        Files.writeString(file, ConfigFileSourceTest.registryConfig(2));

        await().atMost(Duration.ofSeconds(3)).until(() -> !recorder.applied.isEmpty() || !recorder.rejected.isEmpty());
        assertThat(recorder.rejected).as("an edit of the config, pods.yaml empty as when accepted").isEmpty();
        assertThat(ConfigFileSourceTest.port(recorder.lastApplied())).isEqualTo(82);
    }

    private void start(Path file) throws Exception {
        source = new ConfigFileSource(ConfigLoader.load(file), recorder);
        source.start();
        await().atMost(Duration.ofSeconds(2)).until(() -> source.loads() > 0);
    }

    private static void writeVersion(Path mount, int version, String pods) throws Exception {
        Path folder = Files.createDirectories(mount.resolve(folder(version)));
        Files.writeString(folder.resolve("svcproxy.yaml"), ConfigFileSourceTest.registryConfig(version));
        Files.writeString(folder.resolve("pods.yaml"), pods);
    }

    private static String folder(int version) {
        return "..2026_12_07_10_00_%02d.%09d".formatted(version, version);
    }
}
