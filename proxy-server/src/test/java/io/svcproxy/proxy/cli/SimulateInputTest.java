package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code svcproxy simulate} makes of unusual input and how it reports it (helper-89's review): endpoints in
 * the scheduling order, directories and over-long lines named, a whole last entry with a bad value an error.
 */
class SimulateInputTest {
    /** Endpoints written in the config NOT in address order. */
    private static final String CONFIG = """
            services:
              - name: web
                namespace: shop
                clusterIP: 127.0.10.200
                scheduler: rr
                ports: [{port: 80, targetPort: 8080}]
                endpoints:
                  - {ip: 127.0.0.203}
                  - {ip: 127.0.0.201}
                  - {ip: 127.0.0.202}
            """;

    /** Two Services: a key twice could pick either. */
    private static final String TWO_SERVICES = CONFIG + """
              - name: api
                namespace: shop
                clusterIP: 127.0.10.201
                scheduler: rr
                ports: [{port: 80, targetPort: 8080}]
                endpoints:
                  - {ip: 127.0.0.211}
            """;

    @TempDir
    Path dir;

    Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    /**
     * docs/simulate.md "Numbers": the config's endpoints in the scheduling order (address, then port), as the
     * admin API lists them, whatever the order the config file writes them in.
     */
    @Test
    void endpointsAreReportedInTheSchedulingOrder() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration\n1,127.0.1.1,1000,1\n");
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString(), "--json");
        assertThat(r.code()).isZero();
        String out = r.out();
        int first = out.indexOf("127.0.0.201:8080");
        int second = out.indexOf("127.0.0.202:8080");
        int third = out.indexOf("127.0.0.203:8080");
        assertThat(first).as("scheduling order: .201, .202, .203 in %s", out).isPositive().isLessThan(second);
        assertThat(second).isLessThan(third);
    }

    /** SPEC: bad input names its FILE; a directory given as --trace is reported without its path. */
    @Test
    void aDirectoryGivenAsTheTraceIsNamed() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path folder = Files.createDirectory(dir.resolve("not-a-trace"));
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                folder.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(folder.toString());
    }

    /** SimulateCommand.reason: "in words (no exception class names)"; a directory as --events leaks one. */
    @Test
    void aDirectoryGivenAsTheEventsIsReportedInWords() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration\n1,127.0.1.1,1000,1\n");
        Path folder = Files.createDirectory(dir.resolve("not-events"));
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString(), "--events", folder.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(folder.toString()).doesNotContain("java.io.");
    }

    /**
     * docs/simulate.md: a log "whose last line has no newline and is not a whole entry" is left out; "anywhere else,
     * such a line is an error". A whole JSON object with a bad value, that only lacks its newline (a hand-written or
     * edited trace), is silently dropped with exit 0 and called "cut short".
     */
    @Test
    void aWholeLastEntryWithABadValueIsAnErrorNotACutLine() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.log", "{\"start\": 1, \"client\": \"127.0.1.1\", \"clientPort\": 5, \"duration\": 1}\n"
                + "{\"start\": 2, \"client\": \"127.0.1.300\", \"clientPort\": 5, \"duration\": 1}");
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString());
        assertThat(r.err()).contains("t.log:2: column 24: client: '127.0.1.300'"); // at the value's quote
        assertThat(r.code()).isEqualTo(2);
    }

    /** An export with no newline (one JSON array) is refused at its line, not read into memory whole. */
    @Test
    void aLineLongerThanAnyEntryIsAnErrorAtItsLine() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration\n" + "1".repeat(200_000) + "\n");
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(trace + ":2: a line longer than 64 KiB");
        assertThat(r.err().length()).as("the line is not echoed").isLessThan(1000);
    }

    /** A JSON entry naming a key twice is an error at its line: which value counts would be a guess. */
    @Test
    void aKeyTwiceInAnEntryIsAnError() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.log", "{\"start\": 1, \"client\": \"127.0.1.1\", \"clientPort\": 5, \"duration\": 1, "
                + "\"start\": 9}\n");
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(trace + ":1:").contains("\"start\" appears twice");
    }

    /**
     * A connection log recorded under other endpoints than the config lists (another cluster's, or before a scale
     * up) is said so on stderr: the replay decides over the config's endpoints (helper-89's review: it was silent).
     */
    @Test
    void aLogOfEndpointsTheConfigDoesNotListIsSaidSo() throws IOException {
        Path config = write("c.yaml", CONFIG);
        String entry = "{\"start\": %d, \"client\": \"127.0.1.1\", \"clientPort\": 5, \"service\": \"shop/web\", "
                + "\"port\": \"80\", \"endpoint\": \"%s\", \"duration\": 1}\n";
        Path trace = write("t.log", entry.formatted(1, "127.0.0.201:8080") + entry.formatted(2, "127.0.0.99:8080")
                + entry.formatted(3, "127.0.0.98:8080") + entry.formatted(4, "127.0.0.202:8080"));
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString(), "--json");
        assertThat(r.code()).isZero();
        assertThat(r.err()).startsWith(trace + ":2: 127.0.0.99:8080 (and 1 more of 4 connections) went to an "
                + "endpoint the config does not list for shop/web");
        assertThat(r.out()).contains("\"connections\": 4");

        Path listed = write("listed.log", entry.formatted(1, "127.0.0.201:8080"));
        assertThat(CommandLineTest.run("simulate", "--config", config.toString(), "--trace", listed.toString())
                .err()).isEmpty();
    }

    /** A first value of {@code null} counts (helper-97's review: the last value won silently). */
    @Test
    void aKeyTwiceWhoseFirstValueIsNullIsAnError() throws IOException {
        Path config = write("c.yaml", TWO_SERVICES);
        Path trace = write("t.log", "{\"start\": 1, \"client\": \"127.0.1.1\", \"clientPort\": 5, \"duration\": 1, "
                + "\"service\": null, \"service\": \"shop/api\"}\n");
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString());
        assertThat(r.err()).as("stderr; stdout was: " + r.out()).contains("\"service\" appears twice");
        assertThat(r.code()).isEqualTo(2);
    }

    /**
     * A whole last entry without its newline is an error too: only a line the parser runs out of is left out as cut
     * short (helper-97's review: it was dropped with exit 0).
     */
    @Test
    void aWholeLastEntryWithAKeyTwiceIsAnErrorNotACutLine() throws IOException {
        Path config = write("c.yaml", TWO_SERVICES);
        Path trace = write("t.log", "{\"start\": 1, \"client\": \"127.0.1.1\", \"clientPort\": 5, \"duration\": 1}\n"
                + "{\"start\": 2, \"client\": \"127.0.1.1\", \"clientPort\": 5, \"duration\": 1, \"start\": 9}");
        CommandLineTest.Result r = CommandLineTest.run("simulate", "--config", config.toString(), "--trace",
                trace.toString(), "--service", "shop/web");
        assertThat(r.err()).as("stderr").contains("t.log:2:").contains("\"start\" appears twice")
                .doesNotContain("cut short");
        assertThat(r.code()).isEqualTo(2);
    }
}
