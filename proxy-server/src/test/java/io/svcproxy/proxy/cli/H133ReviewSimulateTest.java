package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * helper-133's review of {@code svcproxy simulate}: where its replay of endpoint changes differs from what the live
 * proxy does with the same changes, and where its events file is read otherwise than the config reads the same
 * YAML (values the config refuses accepted, advice that does not fit what was written, a problem at line 1).
 */
class H133ReviewSimulateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** sh without fallback over two endpoints: a client whose bucket holds a weight-0 endpoint is refused. */
    private static final String SH = """
            proxy: {admin: off, drainTimeout: 1s}
            services:
              - name: web
                clusterIP: 127.0.10.24
                scheduler: sh
                ports: [{name: http, port: 44000}]
                endpoints: [{ip: 127.0.0.84, port: 44001}, {ip: 127.0.0.85, port: 44001}]
            """;

    private static final String SH_UDP = """
            proxy: {admin: off}
            services:
              - name: dns
                clusterIP: 127.0.10.25
                scheduler: sh
                ports: [{name: dns, protocol: UDP, port: 53, targetPort: 5353}]
                endpoints: [{ip: 127.0.0.86}, {ip: 127.0.0.87}]
            """;

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

    private CommandLineTest.Result simulate(Path config, Path trace, String... more) {
        String[] args = new String[5 + more.length];
        args[0] = "simulate";
        args[1] = "--config";
        args[2] = config.toString();
        args[3] = "--trace";
        args[4] = trace.toString();
        System.arraycopy(more, 0, args, 5, more.length);
        return CommandLineTest.run(args);
    }

    /** The endpoint sh gives the client of {@code trace}'s one connection, by a replay without events. */
    private String endpointOf(Path config, Path trace) throws IOException {
        CommandLineTest.Result r = simulate(config, trace, "--json");
        assertThat(r.code()).as("err: %s", r.err()).isZero();
        for (JsonNode e : JSON.readTree(r.out()).path("schedulers").path("sh").path("endpoints")) {
            if (e.path("connections").asLong() == 1) {
                return e.path("endpoint").asText();
            }
        }
        throw new AssertionError("no endpoint took the connection: " + r.out());
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
        CommandLineTest.Result r = simulate(config, trace, "--events", events.toString());
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
        CommandLineTest.Result r = simulate(config, trace, "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":3");
    }

    /**
     * A value error in a connection log line (a whole object, so not "cut short") is told without the column the
     * same reader gives a syntax error on that line ({@code column N: expected ','}), nor the key's place: on a line
     * of ten keys "client: '...'" at line 1 is all there is.
     */
    @Test
    void aBadValueInALogLineNamesItsColumnAsASyntaxErrorDoes() throws IOException {
        Path config = write("c.yaml", RR);
        Path log = write("c.log", "{\"start\": 1.5, \"client\": \"127.0.133.300\", \"clientPort\": 1000, "
                + "\"service\": \"default/web\", \"port\": \"http\", \"endpoint\": \"127.0.0.88:44001\", "
                + "\"duration\": 1, \"bytesToEndpoint\": 1, \"bytesToClient\": 1, \"end\": \"fin\"}\n");
        CommandLineTest.Result r = simulate(config, log);
        assertThat(r.code()).isEqualTo(2);
        // the value is at column 26 (its quote; 27 its first digit) of the line
        assertThat(r.err()).startsWith(log + ":1:").containsPattern("column 2[67]");
    }
}
