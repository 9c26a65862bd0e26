package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code simulate}'s bad input is {@code FILE:LINE: message} and exit 2 (SPEC), whichever row or line it is on
 * (helper-106's review): a row naming a Service port the config does not have is an error on any row, not only the
 * first (a later one was "left out" as another port's); an events file that is not UTF-8 names the line of the
 * bad byte; an alias of a collection in it is said in words at its line, not as SnakeYAML's limit. Also: a trace
 * with no connections is an error naming the file, and the events refuse a quoted number as the config does.
 */
class SimulateInputErrorsTest {
    private static final String CONFIG = """
            proxy: {admin: off}
            services:
              - name: web
                clusterIP: 127.0.10.216
                ports: [{name: http, port: 44000}]
                endpoints: [{ip: 127.0.0.220, port: 44001}, {ip: 127.0.0.221, port: 44001}]
            """;

    /** Two Service ports of one Service, and another Service. */
    private static final String TWO_PORTS = """
            proxy: {admin: off}
            services:
              - name: web
                clusterIP: 127.0.10.216
                ports: [{name: http, port: 44000}, {name: https, port: 44443}]
                endpoints:
                  - {ip: 127.0.0.220, ports: {http: 44001, https: 44444}}
                  - {ip: 127.0.0.221, ports: {http: 44001, https: 44444}}
              - name: api
                clusterIP: 127.0.10.217
                ports: [{port: 45000}]
                endpoints: [{ip: 127.0.0.222, port: 45001}]
            """;

    private static final String ONE_ROW = "start,client,clientPort,duration\n0,127.0.0.11,1000,1\n";

    @TempDir
    Path dir;

    Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    CommandLineTest.Result simulate(Path config, Path trace, String... more) {
        return CommandLineTest.simulateTrace(config, trace, more);
    }

    @Test
    void aLaterRowNamingAPortTheConfigDoesNotHaveIsAnErrorAsTheFirstIs() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration,service,port\n"
                + "0,127.0.0.11,1000,1,default/web,http\n1,127.0.0.11,1000,1,default/web,htp\n");
        CommandLineTest.Result r = simulate(config, trace);
        assertThat(r.code()).as("out: %s err: %s", r.out(), r.err()).isEqualTo(2);
        assertThat(r.err()).startsWith(trace + ":3: no Service port default/web:htp in the config");
    }

    @Test
    void aLaterRowNamingAServiceTheConfigDoesNotHaveIsAnError() throws IOException {
        Path config = write("c.yaml", TWO_PORTS);
        Path trace = write("t.csv", "start,client,clientPort,duration,service,port\n"
                + "0,127.0.0.11,1000,1,default/web,http\n1,127.0.0.11,1000,1,default/wbe,http\n");
        CommandLineTest.Result r = simulate(config, trace);
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(trace + ":3: no Service port default/wbe:http in the config (expected one of:"
                + " default/web:http, default/web:https, default/api:45000)");
    }

    /** Without a service column a port is the chosen Service's: one it does not have is the same error. */
    @Test
    void aRowWithAPortTheChosenServiceDoesNotHaveIsAnError() throws IOException {
        Path config = write("c.yaml", TWO_PORTS);
        Path trace = write("t.csv", "start,client,clientPort,duration,port\n"
                + "0,127.0.0.11,1000,1,http\n1,127.0.0.11,1000,1,45000\n");
        CommandLineTest.Result r = simulate(config, trace, "--service", "default/web:http");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(trace + ":3: no Service port default/web:45000 in the config");
    }

    /** docs/simulate.md: rows of another Service port of the config are left out and counted, by name or number. */
    @Test
    void rowsOfOtherServicePortsOfTheConfigAreLeftOutAndCounted() throws IOException {
        Path config = write("c.yaml", TWO_PORTS);
        Path trace = write("t.csv", "start,client,clientPort,duration,service,port\n"
                + "0,127.0.0.11,1000,1,default/web,http\n1,127.0.0.11,1000,1,default/web,https\n"
                + "2,127.0.0.11,1000,1,default/web,44443\n3,127.0.0.11,1000,1,default/api,45000\n"
                + "4,127.0.0.11,1000,1,default/api,\n5,127.0.0.11,1000,1,default/web,44000\n");
        CommandLineTest.Result r = simulate(config, trace);
        assertThat(r.code()).as("err: %s", r.err()).isZero();
        assertThat(r.out())
                .startsWith("Service default/web port http: 2 connections (4 of other Service ports left out)");
    }

    @Test
    void anEmptyTraceIsAnErrorNamingTheFile() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "");
        CommandLineTest.Result r = simulate(config, trace);
        assertThat(r.code()).as("out: %s", r.out()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith(trace + ":1: no connections in it");
    }

    @Test
    void aTraceOfAHeaderLineOnlyIsAnErrorAfterIt() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration\n");
        CommandLineTest.Result r = simulate(config, trace);
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(trace + ":2: no connections in it");
    }

    /** A connection log whose only line is being written has no connection yet: said at that line. */
    @Test
    void aLogWhoseOnlyEntryIsCutShortIsAnErrorAtThatLine() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.log", "{\"start\": 1, \"client\": \"127.0.0.11\", \"clientPo");
        CommandLineTest.Result r = simulate(config, trace);
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(trace + ":1: no connections in it: its only entry is cut short");
    }

    @Test
    void anEventsFileThatIsNotUtf8NamesItsLine() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", ONE_ROW);
        Path events = dir.resolve("ev.yaml");
        Files.write(events, "- {at: 1, endpoint: 127.0.0.220:44001, weight: 3}\n- {at: 2, endpoint: \"caf\u00e9\"}\n"
                .getBytes(StandardCharsets.ISO_8859_1));
        CommandLineTest.Result r = simulate(config, trace, "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":2: not UTF-8 text");
    }

    /** The line is counted over the whole file, whatever its line lengths and where its reads end. */
    @Test
    void aByteThatIsNotUtf8AfterALongLineIsCountedToItsLine() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", ONE_ROW);
        Path events = dir.resolve("ev.yaml");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        // "é" (two bytes) straddles the 8,192nd byte, then a line of 20,000 bytes, then the bad byte
        bytes.writeBytes(("# " + "x".repeat(8189) + "\u00e9\n").getBytes(StandardCharsets.UTF_8));
        bytes.writeBytes(("# " + "y".repeat(20_000) + "\n").getBytes(StandardCharsets.UTF_8));
        bytes.writeBytes("- {at: 1, endpoint: 127.0.0.220:44001, weight: 3}\n".getBytes(StandardCharsets.UTF_8));
        bytes.writeBytes("# caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        Files.write(events, bytes.toByteArray());
        CommandLineTest.Result r = simulate(config, trace, "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":4: not UTF-8 text");
    }

    @Test
    void anAliasInTheEventsFileIsReportedInWordsNotSnakeYamlsLimit() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", ONE_ROW);
        Path events = write("ev.yaml", "- &a {at: 1, endpoint: 127.0.0.220:44001, weight: 3}\n- *a\n");
        CommandLineTest.Result r = simulate(config, trace, "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":2: *a: an alias of a list or map is not supported in an events file")
                .doesNotContain("specified max");
    }

    /** As the config: {@code weight: "3"} is a string, not a number, and refused with its line. */
    @Test
    void aQuotedWeightIsRefusedAsTheConfigRefusesIt() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", ONE_ROW);
        Path events = write("ev.yaml", "- {at: 1, endpoint: 127.0.0.220:44001, weight: 3}\n"
                + "- {at: 2, endpoint: 127.0.0.220:44001, weight: \"3\"}\n");
        CommandLineTest.Result r = simulate(config, trace, "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":2: weight: 3 (expected: a number 0..65535, not a string: without"
                + " quotes)");
    }

    @Test
    void otherQuotedNumbersAndAQuotedTrueAreRefusedToo() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", ONE_ROW);
        String[][] cases = {
            {"- {at: '1.5', endpoint: 127.0.0.220:44001, weight: 3}\n",
                ":1: at: 1.5 (expected: seconds, such as 12 or 12.5, not a string: without quotes)"},
            {"- {at: 1, add: {ip: 127.0.0.230, port: \"44001\"}}\n",
                ":1: port: 44001 (expected: a number 1..65535, not a string: without quotes)"},
            {"- {at: 1, add: {ip: 127.0.0.230, port: 44001, weight: !!str 2}}\n",
                ":1: weight: 2 (expected: a number 0..65535, not tagged !!str: without the tag)"},
            {"- {at: 1, endpoint: 127.0.0.220:44001, remove: \"true\"}\n",
                ":1: remove: true (expected: true, not a string: without quotes)"},
        };
        for (String[] c : cases) {
            Path events = write("ev.yaml", c[0]);
            CommandLineTest.Result r = simulate(config, trace, "--events", events.toString());
            assertThat(r.code()).as(c[0]).isEqualTo(2);
            assertThat(r.err()).as(c[0]).startsWith(events + c[1]);
        }
        Path plain = write("ev.yaml", "- {at: 1.5, endpoint: 127.0.0.220:44001, weight: 3}\n"
                + "- {at: 2, add: {ip: 127.0.0.230, port: 44001, weight: 2}}\n"
                + "- {at: 3, endpoint: 127.0.0.221:44001, remove: true}\n");
        CommandLineTest.Result r = simulate(config, trace, "--events", plain.toString());
        assertThat(r.code()).as("err: %s", r.err()).isZero();
    }

    /**
     * From helper-133's review: a value error in a connection log line (a whole object, so not "cut short") is told without the column the
     * same reader gives a syntax error on that line ({@code column N: expected ','}), nor the key's place: on a line
     * of ten keys "client: '...'" at line 1 is all there is.
     */
    @Test
    void aBadValueInALogLineNamesItsColumnAsASyntaxErrorDoes() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path log = write("c.log", "{\"start\": 1.5, \"client\": \"127.0.133.300\", \"clientPort\": 1000, "
                + "\"service\": \"default/web\", \"port\": \"http\", \"endpoint\": \"127.0.0.88:44001\", "
                + "\"duration\": 1, \"bytesToEndpoint\": 1, \"bytesToClient\": 1, \"end\": \"fin\"}\n");
        CommandLineTest.Result r = simulate(config, log);
        assertThat(r.code()).isEqualTo(2);
        // the value is at column 26 (its quote; 27 its first digit) of the line
        assertThat(r.err()).startsWith(log + ":1:").containsPattern("column 2[67]");
    }
}
