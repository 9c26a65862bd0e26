package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * From helper-106's review. proxy.connectionLog must be "a file of its own, not the config file or a registry file".
 * The check compares the paths as written (normalized), so a symbolic link to the config file passes: svcproxy then
 * appended its JSON lines to its own config (seen live: the next reload was rejected, "could not find expected ':'",
 * and the user's file was changed). The certificate and key files, which svcproxy also reads and watches, are not
 * checked at all.
 */
class ConnectionLogTargetTest {

    @Test
    void aSymbolicLinkToTheConfigFileIsRefused(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Files.createSymbolicLink(dir.resolve("log.jsonl"), config);
        Files.writeString(config, "proxy:\n  connectionLog: log.jsonl\n");
        assertThatThrownBy(() -> ConfigLoader.load(config)).isInstanceOfSatisfying(ConfigException.class,
                e -> assertThat(e.errors()).singleElement().asString()
                        .startsWith(config + ":2:18: connectionLog: log.jsonl (expected: a file of its own"));
    }

    @Test
    void aSymbolicLinkToARegistryFileIsRefused(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(dir.resolve("pods.yaml"), "pods: []\n");
        Files.createSymbolicLink(dir.resolve("log.jsonl"), dir.resolve("pods.yaml"));
        Files.writeString(config, "proxy:\n  connectionLog: log.jsonl\nregistry: {files: [pods.yaml]}\n");
        assertThatThrownBy(() -> ConfigLoader.load(config)).isInstanceOfSatisfying(ConfigException.class,
                e -> assertThat(e.errors()).singleElement().asString()
                        .startsWith(config + ":2:18: connectionLog: log.jsonl (expected: a file of its own"));
    }

    @Test
    void anIngressCertificateFileIsRefused(@TempDir Path dir) throws Exception {
        TestCertificates.write(dir, "shop", "shop.example", "RSA");
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy:
                  connectionLog: shop.pem
                  ingress: {https: 127.0.0.218:44843}
                services:
                  - {name: web, clusterIP: 127.0.10.216, ports: [{port: 44000}]}
                ingresses:
                  - name: shop
                    tls: [{hosts: [shop.example], certFile: shop.pem, keyFile: shop-key.pem}]
                    defaultBackend: {service: {name: web, port: {number: 44000}}}
                """);
        assertThatThrownBy(() -> ConfigLoader.load(config)).isInstanceOfSatisfying(ConfigException.class,
                e -> assertThat(e.errors()).singleElement().asString()
                        .startsWith(config + ":2:18: connectionLog: shop.pem (expected: a file of its own"));
    }
}
