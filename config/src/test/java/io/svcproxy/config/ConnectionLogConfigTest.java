package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code proxy.connectionLog}: off by default, a file resolved against the config's folder, bad values with line:column. */
class ConnectionLogConfigTest {
    private static final String EXPECTED = "a file svcproxy can write or create in an existing folder, or off";

    @Test
    void isOffByDefault() {
        assertThat(parse("proxy: {scheduler: rr}\n").proxy().connectionLog()).isNull();
        assertThat(ProxySettings.defaults().connectionLog()).isNull();
    }

    @Test
    void isOffWithOffOrFalse() {
        assertThat(parse("proxy:\n  connectionLog: off\n").proxy().connectionLog()).isNull();
        assertThat(parse("proxy:\n  connectionLog: false\n").proxy().connectionLog()).isNull();
    }

    @Test
    void resolvesARelativeFileAgainstTheConfigsFolder(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, "proxy:\n  connectionLog: connections.log\n");
        assertThat(ConfigLoader.load(config).proxy().connectionLog()).isEqualTo(dir.resolve("connections.log"));
    }

    @Test
    void keepsAnAbsoluteFile(@TempDir Path dir) {
        Path log = dir.resolve("c.log");
        assertThat(parse("proxy:\n  connectionLog: " + log + "\n").proxy().connectionLog()).isEqualTo(log);
    }

    @Test
    void rejectsAFileInAFolderThatDoesNotExist(@TempDir Path dir) {
        Path log = dir.resolve("missing").resolve("c.log");
        assertThat(errors("proxy:\n  connectionLog: " + log + "\n")).containsExactly("svcproxy.yaml:2:18: "
                + "connectionLog: " + log + " (expected: " + EXPECTED + ")");
    }

    @Test
    void acceptsANamedPipeAndAFileThatExists(@TempDir Path dir) throws Exception {
        // a log shipper's FIFO (or /dev/stdout, a pipe in a container): the log opens it without waiting for a reader
        Path fifo = dir.resolve("connections.fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        assertThat(mkfifo.waitFor()).isZero();
        assertThat(parse("proxy:\n  connectionLog: " + fifo + "\n").proxy().connectionLog()).isEqualTo(fifo);
        Path log = Files.writeString(dir.resolve("c.log"), "");
        assertThat(parse("proxy:\n  connectionLog: " + log + "\n").proxy().connectionLog()).isEqualTo(log);
    }

    @Test
    void rejectsAFolder(@TempDir Path dir) {
        assertThat(errors("proxy:\n  connectionLog: " + dir + "\n")).containsExactly("svcproxy.yaml:2:18: "
                + "connectionLog: " + dir + " (expected: " + EXPECTED + ")");
    }

    @Test
    void rejectsTheConfigFileOrARegistryFile(@TempDir Path dir) throws Exception {
        // svcproxy would append its lines to a file it reads, and the next reload would be rejected
        Files.writeString(dir.resolve("pods.yaml"), "pods: []\n");
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, "proxy:\n  connectionLog: svcproxy.yaml\n");
        assertThatThrownBy(() -> ConfigLoader.load(config)).isInstanceOfSatisfying(ConfigException.class,
                e -> assertThat(e.errors()).extracting(ConfigError::toString).containsExactly(config + ":2:18: "
                        + "connectionLog: svcproxy.yaml (expected: a file of its own, not the config file or a "
                        + "registry, certificate, key or kubeconfig file, which svcproxy reads)"));
        Files.writeString(config, "proxy:\n  connectionLog: ./pods.yaml\nregistry:\n  files: [pods.yaml]\n");
        assertThatThrownBy(() -> ConfigLoader.load(config)).isInstanceOfSatisfying(ConfigException.class,
                e -> assertThat(e.errors()).extracting(ConfigError::toString).containsExactly(config + ":2:18: "
                        + "connectionLog: ./pods.yaml (expected: a file of its own, not the config file or a "
                        + "registry, certificate, key or kubeconfig file, which svcproxy reads)"));
    }

    @Test
    void rejectsAnEmptyValueAndAList() {
        assertThat(errors("proxy:\n  connectionLog: \"\"\n")).containsExactly(
                "svcproxy.yaml:2:18: connectionLog: \"\" (expected: a file path)");
        assertThat(errors("proxy:\n  connectionLog: [a.log]\n")).containsExactly(
                "svcproxy.yaml:2:18: connectionLog: a list (expected: a file path)");
    }

    @Test
    void aRejectedReloadNamesTheLine(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, "proxy:\n  scheduler: rr\n  connectionLog: nope/c.log\n");
        assertThatThrownBy(() -> ConfigLoader.load(config)).isInstanceOf(ConfigException.class)
                .hasMessageContaining(config + ":3:18: connectionLog: nope/c.log (expected: " + EXPECTED + ")");
    }
}
