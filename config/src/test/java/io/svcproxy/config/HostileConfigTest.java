package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile documents: too large, too deep, too many aliases. Each is rejected quickly with a clear error at a line
 * and column (the limits of SnakeYAML have no position of their own; they are reported at 1:1), never with an
 * exception or a long run.
 */
@Timeout(20)
class HostileConfigTest {
    @Test
    void rejectsADocumentAboveTheCodePointLimitAtOnceWhereItCrossesIt() {
        String huge = "services: []\n# " + "x".repeat(YamlDocuments.CODE_POINT_LIMIT + 10) + "\n";
        long start = System.nanoTime();
        assertThat(errors(huge)).containsExactly("svcproxy.yaml:2:" + (YamlDocuments.CODE_POINT_LIMIT - 13 + 1)
                + ": document too large: more than " + YamlDocuments.CODE_POINT_LIMIT
                + " code points (the limit); the rest is not read");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void aDocumentJustBelowTheCodePointLimitIsRead() {
        StringBuilder yaml = new StringBuilder("services: []\n");
        String line = "# padding padding padding padding padding padding padding padding padding padding\n";
        while (yaml.length() + line.length() < YamlDocuments.CODE_POINT_LIMIT - 100) {
            yaml.append(line);
        }
        yaml.append("color: blue\n");
        assertThat(errors(yaml.toString())).singleElement().asString().contains(": unknown key: color");
    }

    @Test
    void rejectsAFileLargerThanAConfigCanBeWithoutReadingItAll(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("huge.yaml");
        byte[] line = "# padding padding padding padding padding padding padding padding\n"
                .getBytes(StandardCharsets.UTF_8);
        try (var out = Files.newOutputStream(file)) {
            for (long written = 0; written < 40L << 20; written += line.length) {
                out.write(line);
            }
        }
        assertThatThrownBy(() -> ConfigLoader.load(file)).isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).errors()).singleElement().asString()
                        .isEqualTo(file + ": cannot read: larger than 12 MiB")); // a file error: no position
    }

    @Test
    void rejectsDeepNestingOfFlowCollections() {
        String deep = "services: " + "[".repeat(200) + "]".repeat(200) + "\n";
        assertThat(errors(deep)).singleElement().asString()
                .isEqualTo("svcproxy.yaml:1:60: nested too deep: more than " + YamlDocuments.NESTING_DEPTH_LIMIT
                        + " levels of collections (the limit)");
    }

    @Test
    void rejectsDeepNestingOfBlockMappings() {
        StringBuilder yaml = new StringBuilder();
        for (int i = 0; i < 120; i++) {
            yaml.append("  ".repeat(i)).append("k").append(i).append(":\n");
        }
        yaml.append("  ".repeat(120)).append("v\n");
        assertThat(errors(yaml.toString())).singleElement().asString()
                .startsWith("svcproxy.yaml:51:").endsWith(": nested too deep: more than "
                        + YamlDocuments.NESTING_DEPTH_LIMIT + " levels of collections (the limit)");
    }

    @Test
    void nestingBelowTheLimitIsJudgedOnItsMeritsWithAPosition() {
        String yaml = "services: " + "[".repeat(10) + "]".repeat(10) + "\n";
        assertThat(errors(yaml)).singleElement().asString().startsWith("svcproxy.yaml:1:");
    }

    @Test
    void rejectsABillionLaughs() {
        StringBuilder yaml = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 30; i++) {
            String p = "*a" + (i - 1);
            yaml.append("a").append(i).append(": &a").append(i).append(" [").append(String.join(", ",
                    java.util.Collections.nCopies(10, p))).append("]\n");
        }
        long start = System.nanoTime();
        assertThat(errors(yaml.toString())).singleElement().asString()
                .startsWith("svcproxy.yaml:").contains(": too many aliases: more than ");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void rejectsAVeryLongScalarInAKnownPlaceWithItsPosition() {
        String yaml = "proxy:\n  scheduler: \"" + "r".repeat(1_000_000) + "\"\n";
        assertThat(errors(yaml)).singleElement().asString().startsWith("svcproxy.yaml:2:14: scheduler: ");
    }

    @Test
    void rejectsManyThousandsOfUnknownKeysEachAtItsPlace() {
        StringBuilder yaml = new StringBuilder("proxy:\n");
        for (int i = 0; i < 5000; i++) {
            yaml.append("  k").append(i).append(": 1\n");
        }
        assertThat(errors(yaml.toString())).hasSize(5000).first().asString()
                .startsWith("svcproxy.yaml:2:3: unknown key: k0");
    }
}
