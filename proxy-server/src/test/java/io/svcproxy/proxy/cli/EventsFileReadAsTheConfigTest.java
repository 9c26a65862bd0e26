package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The events file's numbers and booleans are read as the config reads the same YAML (io.svcproxy.config.Values).
 * From helper-133's review: the events reader told an unquoted {@code weight: 09} to drop quotes it did not have and
 * a {@code !!str 2} the same instead of naming its tag, took {@code weight: 010} (which the config refuses for its
 * leading zero) as 10, and refused {@code remove: True}, a YAML true the config takes; and it reported a character
 * YAML does not allow, or a collection nested past SnakeYAML's limit, at line 1 in SnakeYAML's words, where the
 * config (YamlDocuments) names the line.
 */
class EventsFileReadAsTheConfigTest {
    private static final String RR = """
            proxy: {admin: off}
            services:
              - name: web
                clusterIP: 127.0.10.26
                ports: [{name: http, port: 44000}]
                endpoints: [{ip: 127.0.0.88, port: 44001}, {ip: 127.0.0.89, port: 44001}]
            """;

    private static final String ONE_ROW = "start,client,clientPort,duration\n0,127.0.133.11,1000,1\n";

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    /**
     * The config was fixed today (cb81f0e) to say "not a string: without quotes" only of a quoted value. The events
     * reader still says it of any scalar SnakeYAML resolved as text that looks like digits: {@code weight: 09} and
     * {@code port: 08080} were written without quotes.
     */
    @Test
    void anUnquotedNumberIsNotToldToDropItsQuotes() throws IOException {
        Path config = write("c.yaml", RR);
        Path trace = write("t.csv", ONE_ROW);
        String[] cases = {
            "- {at: 1, endpoint: 127.0.0.88:44001, weight: 09}\n",
            "- {at: 1, add: {ip: 127.0.133.20, port: 08080}}\n",
            "- {at: 09, endpoint: 127.0.0.88:44001, weight: 2}\n",
        };
        for (String c : cases) {
            Path events = write("ev.yaml", c);
            CommandLineTest.Result r = CommandLineTest.simulateTrace(config, trace, "--events", events.toString());
            // refused or taken (at: 09 is 9 s to SnakeYAML's YAML 1.2 reading), but not told it was quoted
            assertThat(r.err()).as(c).doesNotContain("not a string", "without quotes");
        }
    }

    /**
     * As the config says it since cb81f0e (Values.writtenAs): a value tagged with another type is told to drop the
     * tag, not quotes it does not have.
     */
    @Test
    void aTaggedNumberIsToldOfItsTagAsTheConfigTellsIt() throws IOException {
        Path config = write("c.yaml", RR);
        Path trace = write("t.csv", ONE_ROW);
        Path events = write("ev.yaml", "- {at: 1, endpoint: 127.0.0.88:44001, weight: !!str 2}\n");
        CommandLineTest.Result r = CommandLineTest.simulateTrace(config, trace, "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":1: ").contains("not tagged !!str: without the tag")
                .doesNotContain("without quotes");
    }

    /**
     * The config refuses {@code weight: 010} ("0..65535, without a leading zero": YAML 1.1, kubectl's, reads it as
     * octal 8, YAML 1.2 as 10); docs/simulate.md: numbers are refused "as the config refuses them". The events
     * reader takes it as weight 10 (and {@code at: 010} as 10 s).
     */
    @Test
    void aLeadingZeroIsRefusedAsTheConfigRefusesIt() throws IOException {
        Path config = write("c.yaml", RR);
        Path trace = write("t.csv", ONE_ROW);
        Path events = write("ev.yaml", "- {at: 1, endpoint: 127.0.0.88:44001, weight: 010}\n");
        CommandLineTest.Result r = CommandLineTest.simulateTrace(config, trace, "--events", events.toString());
        assertThat(r.code()).as("out: %s", r.out()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":1: ").contains("leading zero");
    }

    /**
     * {@code True} is YAML's true (the 1.2 core schema's true|True|TRUE; SnakeYAML tags it !!bool) and the config
     * takes it as true (Values.bool); the events reader refuses it: "remove: 'True' (expected: true)".
     */
    @Test
    void aYamlTrueIsTakenForRemove() throws IOException {
        Path config = write("c.yaml", RR);
        Path trace = write("t.csv", ONE_ROW);
        Path events = write("ev.yaml", "- {at: 1, endpoint: 127.0.0.89:44001, remove: True}\n");
        CommandLineTest.Result r = CommandLineTest.simulateTrace(config, trace, "--events", events.toString());
        assertThat(r.code()).as("err: %s", r.err()).isZero();
    }

    /**
     * A character YAML does not allow (a control character, here on line 3) is SnakeYAML's ReaderException, which has
     * no mark: the events reader reports it at line 1 with SnakeYAML's own text; the config (YamlDocuments) reports
     * the same at its line and column.
     */
    @Test
    void aControlCharacterIsReportedAtItsLine() throws IOException {
        Path config = write("c.yaml", RR);
        Path trace = write("t.csv", ONE_ROW);
        Path events = dir.resolve("ev.yaml");
        Files.write(events, ("- {at: 1, endpoint: 127.0.0.88:44001, weight: 2}\n"
                + "- {at: 2, endpoint: 127.0.0.88:44001, weight: 3}\n"
                + "- {at: 3, endpoint: 127.0.0.88:44001, weight: 4\u0001}\n").getBytes(StandardCharsets.UTF_8));
        CommandLineTest.Result r = CommandLineTest.simulateTrace(config, trace, "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":3");
    }

    /**
     * SnakeYAML's nesting limit has no mark either: the events reader says "Nesting Depth exceeded max 50" at line 1;
     * the config (YamlDocuments) says "nested too deep" where the limit was crossed.
     */
    @Test
    void aCollectionNestedTooDeepIsReportedAtItsLine() throws IOException {
        Path config = write("c.yaml", RR);
        Path trace = write("t.csv", ONE_ROW);
        Path events = write("ev.yaml", "- {at: 1, endpoint: 127.0.0.88:44001, weight: 2}\n"
                + "- {at: 2, endpoint: 127.0.0.88:44001, weight: 3}\n"
                + "- " + "[".repeat(60) + "1" + "]".repeat(60) + "\n");
        CommandLineTest.Result r = CommandLineTest.simulateTrace(config, trace, "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":3");
    }
}
