package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * helper-123's review: SPEC's validate prints FILE:LINE:COLUMN pointing "at the offending key or value". Two places
 * where the position is not where the problem is written.
 */
class H123ReviewErrorPlacesTest {
    @TempDir
    Path dir;

    /**
     * An alias is composed by SnakeYAML into the anchored node itself (the same object, its marks the anchor's), so
     * a value written as {@code *web} is reported where {@code &web} is: the duplicate Service is reported at the
     * first one's name, "also at line 3", at line 3, and the operator is never shown line 7.
     */
    @Test
    void aDuplicateServiceWrittenThroughAnAliasIsReportedAtTheAlias() {
        assertThat(errors("""
                services:
                  - &web
                    name: web
                    clusterIP: 127.0.123.1
                    ports: [{port: 80}]
                    endpoints: [{ip: 127.0.123.5}]
                  - *web
                """)).as("the second Service is the alias at line 7")
                .allSatisfy(e -> assertThat(e).startsWith("svcproxy.yaml:7:"));
    }

    /**
     * An endpoint address written as an alias of the clusterIP: the loop error names the endpoint ({@code ip:}) but
     * points at the clusterIP's line and column (3:16), not at the endpoint (5:24).
     */
    @Test
    void anEndpointWrittenThroughAnAliasIsReportedAtTheEndpoint() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: &vip 127.0.123.1
                    ports: [{port: 80}]
                    endpoints: [{ip: *vip}]
                """)).singleElement().asString().startsWith("svcproxy.yaml:5:22: ip: 127.0.123.1");
    }

    /**
     * A byte that is not UTF-8 in a registry file: the config file's own such byte is FILE:LINE:COLUMN of the byte
     * (ConfigLoaderTest), but a registry file's is reported at the config's registry.files entry, its real place
     * only inside the message ("svcproxy.yaml:2:11: files[0]: .../pods.yaml (cannot read: not UTF-8 text (byte 0xff
     * at line 4, column 20))"), so an editor's or CI's problem matcher jumps to the wrong file. YAML errors of the
     * same registry file are reported under its own name (RegistryFilesTest).
     */
    @Test
    void aByteThatIsNotUtf8InARegistryFileIsReportedAtItsOwnLineAndColumn() throws Exception {
        Path pods = dir.resolve("pods.yaml");
        byte[] head = "pods:\n  - name: p1\n    ip: 127.0.123.5\n    labels: {app: w".getBytes(StandardCharsets.UTF_8);
        byte[] tail = "eb}\n".getBytes(StandardCharsets.UTF_8);
        byte[] bytes = new byte[head.length + 1 + tail.length];
        System.arraycopy(head, 0, bytes, 0, head.length);
        bytes[head.length] = (byte) 0xff;
        System.arraycopy(tail, 0, bytes, head.length + 1, tail.length);
        Files.write(pods, bytes);
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                registry:
                  files: [pods.yaml]
                services:
                  - {name: web, clusterIP: 127.0.123.1, selector: {app: web}, ports: [{port: 80}]}
                """);

        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ConfigLoader.load(config));

        assertThat(e.errors()).singleElement().asString().isEqualTo(pods + ":4:20: cannot read: not UTF-8 text "
                + "(byte 0xff)");
    }

    /**
     * Values.bool lists y and n among the booleans, but SnakeYAML's resolver never tags an unquoted y or n as
     * !!bool (YAML 1.2's core schema; kubectl's YAML 1.1 reads them as booleans), so {@code ready: y} written
     * without quotes is told "not a string: without quotes": advice that cannot be followed. Either y/n are read
     * as the booleans the code lists, or the message says only what is expected.
     */
    @Test
    void anUnquotedYIsNotCalledAString() {
        assertThat(errors("""
                pods:
                  - {name: a, ip: 127.0.123.5, ready: y}
                """)).singleElement().asString().doesNotContain("not a string");
    }
}
