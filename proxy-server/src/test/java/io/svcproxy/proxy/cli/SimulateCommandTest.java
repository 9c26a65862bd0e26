package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code svcproxy simulate} in-process: table, JSON, HTML, determinism, bad input with FILE:LINE. */
class SimulateCommandTest {
    private static final String CONFIG = """
            services:
              - name: web
                namespace: shop
                clusterIP: 127.0.10.200
                scheduler: rr
                ports: [{port: 80, targetPort: 8080}]
                endpoints:
                  - {ip: 127.0.0.201}
                  - {ip: 127.0.0.202}
                  - {ip: 127.0.0.203}
            """;

    @TempDir
    Path dir;

    Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    private CommandLineTest.Result run(String... args) {
        return CommandLineTest.run(args);
    }

    @Test
    void jsonHasTheSpecShapeWithHandComputedNumbers() throws IOException {
        Path config = write("c.yaml", CONFIG);
        // out of start order on purpose (a connection log is in end order): replayed by start, ties by line
        Path trace = write("t.csv", """
                start,client,clientPort,duration
                3,127.0.1.4,1004,1
                0,127.0.1.1,1001,10
                1,127.0.1.2,1002,10
                2,127.0.1.3,1003,0.5
                """);
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--schedulers", "rr,lc", "--json");
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
        // rr: .201 .202 .203 .201 (.201 then holds 2 at once: peakImbalance 2 / (4/3)); lc: t0 .201, t1 .202, t2 .203 (ends 2.5), t3 .203 is empty again -> .203
        assertThat(r.out().strip()).isEqualTo("{\"service\": \"shop/web\", \"port\": \"80\", \"connections\": 4, "
                + "\"schedulers\": {"
                + "\"rr\": {\"endpoints\": ["
                + "{\"endpoint\": \"127.0.0.201:8080\", \"connections\": 2, \"peakActive\": 2, \"share\": 0.500}, "
                + "{\"endpoint\": \"127.0.0.202:8080\", \"connections\": 1, \"peakActive\": 1, \"share\": 0.250}, "
                + "{\"endpoint\": \"127.0.0.203:8080\", \"connections\": 1, \"peakActive\": 1, \"share\": 0.250}], "
                + "\"imbalance\": 1.500, \"peakImbalance\": 1.500, \"moved\": 0.000, \"refused\": 0}, "
                + "\"lc\": {\"endpoints\": ["
                + "{\"endpoint\": \"127.0.0.201:8080\", \"connections\": 1, \"peakActive\": 1, \"share\": 0.250}, "
                + "{\"endpoint\": \"127.0.0.202:8080\", \"connections\": 1, \"peakActive\": 1, \"share\": 0.250}, "
                + "{\"endpoint\": \"127.0.0.203:8080\", \"connections\": 2, \"peakActive\": 1, \"share\": 0.500}], "
                + "\"imbalance\": 1.500, \"peakImbalance\": 1.000, \"moved\": 0.000, \"refused\": 0}}}");
    }

    @Test
    void theJsonCountsTheConnectionsNoEndpointTook() throws IOException {
        // sh without fallback: a client whose hash lands on the weight-0 endpoint is refused, as IPVS refuses it
        Path config = write("sh.yaml", CONFIG.replace("scheduler: rr", "scheduler: sh")
                .replace("{ip: 127.0.0.202}", "{ip: 127.0.0.202, weight: 0}"));
        StringBuilder trace = new StringBuilder("start,client,clientPort,duration\n");
        for (int i = 1; i <= 30; i++) {
            trace.append(i).append(",127.0.1.").append(i).append(",1000,1\n");
        }
        Path file = write("sh.csv", trace.toString());
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", file.toString(),
                "--schedulers", "sh", "--json");
        assertThat(r.code()).isZero();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"refused\": ([0-9]+)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        int refused = Integer.parseInt(m.group(1));
        assertThat(refused).as("some of 30 clients hash to the weight-0 endpoint").isPositive();
        int taken = 0;
        java.util.regex.Matcher c = java.util.regex.Pattern.compile("\"endpoint\": \"[^\"]+\", \"connections\": ([0-9]+)")
                .matcher(r.out());
        while (c.find()) {
            taken += Integer.parseInt(c.group(1));
        }
        assertThat(taken + refused).as("every connection is an endpoint's or refused").isEqualTo(30);
        CommandLineTest.Result table = run("simulate", "--config", config.toString(), "--trace", file.toString(),
                "--schedulers", "sh");
        assertThat(table.out()).contains("refused " + refused);
    }

    @Test
    void readsTheConnectionLogAndWritesASelfContainedHtmlReport() throws IOException {
        Path config = write("c.yaml", CONFIG);
        StringBuilder log = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            log.append("{\"start\": ").append(1764812345 + i).append(".25, \"client\": \"10.2.0.").append(i % 7)
                    .append("\", \"clientPort\": ").append(40000 + i)
                    .append(", \"service\": \"shop/web\", \"port\": 80, \"endpoint\": \"127.0.0.201:8080\", ")
                    .append("\"duration\": 4.5, \"bytesToEndpoint\": 10, \"bytesToClient\": 20, \"end\": \"fin\"}\n");
        }
        Path trace = write("log.jsonl", log.toString());
        Path html = dir.resolve("report.html");
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--schedulers", "rr,lc,sh,mh", "--html", html.toString());
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("Service shop/web port 80: 30 connections");
        assertThat(r.out()).contains("rr        imbalance 1.000");
        String page = Files.readString(html);
        assertThat(page).contains("<svg", "<polyline", "<h2>mh</h2>", "127.0.0.203:8080");
        assertThat(page).doesNotContain("<script", "src=", "href=", "@import", "url(");
        // same input, same output
        CommandLineTest.Result again = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--schedulers", "rr,lc,sh,mh", "--html", dir.resolve("again.html").toString());
        assertThat(again.out()).isEqualTo(r.out());
        assertThat(Files.readString(dir.resolve("again.html"))).isEqualTo(page);
    }

    @Test
    void aProductionConfigIsReplayedWhereItsLogFolderAndCertificatesAreNot() throws IOException {
        // the connection log's folder and the Ingress's certificates are the production machine's: simulate reads
        // the Services and Pods, validate (which checks what a run would open) still refuses it
        Path config = write("prod.yaml", """
                proxy:
                  connectionLog: /nonexistent-svcproxy-folder/connections.log
                  ingress:
                    http: 127.0.10.190:8080
                    https: 127.0.10.190:8443
                ingresses:
                  - name: shop
                    tls: [{hosts: [shop.example], certFile: /nonexistent-svcproxy-folder/tls.crt,
                           keyFile: /nonexistent-svcproxy-folder/tls.key}]
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                """ + CONFIG.replace("namespace: shop", "namespace: default"));
        Path trace = write("t.csv", "start,client,clientPort,duration\n0,127.0.1.1,1001,1\n1,127.0.1.2,1002,1\n");
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--json");
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("{\"service\": \"default/web\", \"port\": \"80\", \"connections\": 2");
        CommandLineTest.Result validate = run("validate", "--config", config.toString());
        assertThat(validate.code()).isEqualTo(2);
        assertThat(validate.err()).contains("prod.yaml:2:18: ", "connectionLog", "prod.yaml:9:", "certFile",
                "keyFile");
    }

    @Test
    void aUdpPortsFlowsAreReplayedAsTheInactiveConnectionsTheProxyCountsThemAs() throws IOException {
        // nq and sed read active connections only: the proxy counts a flow as one inactive connection, so every
        // overlapping flow goes to the first endpoint under nq (as the live proxy's connection log shows); the
        // same trace on a TCP port spreads
        Path udp = write("udp.yaml", CONFIG.replace("scheduler: rr", "scheduler: nq")
                .replace("ports: [{port: 80, targetPort: 8080}]", "ports: [{protocol: UDP, port: 53, targetPort: 8053}]"));
        Path tcp = write("tcp.yaml", CONFIG.replace("scheduler: rr", "scheduler: nq"));
        Path trace = write("t.csv", """
                start,client,clientPort,duration
                0,127.0.1.1,1001,10
                1,127.0.1.2,1002,10
                2,127.0.1.3,1003,10
                """);
        CommandLineTest.Result flows = run("simulate", "--config", udp.toString(), "--trace", trace.toString(),
                "--json");
        assertThat(flows.err()).isEmpty();
        assertThat(flows.out()).contains("{\"endpoint\": \"127.0.0.201:8053\", \"connections\": 3");
        CommandLineTest.Result connections = run("simulate", "--config", tcp.toString(), "--trace",
                trace.toString(), "--json");
        assertThat(connections.out()).contains("{\"endpoint\": \"127.0.0.201:8080\", \"connections\": 1",
                "{\"endpoint\": \"127.0.0.203:8080\", \"connections\": 1");
    }

    @Test
    void aConnectionLogsCutLastLineIsLeftOutAndNamedOnlyAtTheEnd() throws IOException {
        Path config = write("c.yaml", CONFIG);
        StringBuilder log = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            log.append("{\"start\": ").append(1764812345 + i).append(", \"client\": \"127.0.1.").append(i)
                    .append("\", \"clientPort\": 4000").append(i).append(", \"service\": \"shop/web\", \"port\": 80, ")
                    .append("\"endpoint\": \"127.0.0.201:8080\", \"duration\": 1, \"bytesToEndpoint\": 1, ")
                    .append("\"bytesToClient\": 1, \"end\": \"fin\"}\n");
        }
        // a log read while its writer is inside an entry, or cut by a crash: the last line has no newline
        Path cut = write("cut.log", log + "{\"start\": 1764812349, \"client\": \"127.0");
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", cut.toString(), "--json");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("\"connections\": 3,");
        assertThat(r.err()).startsWith(cut + ":4: the last line is cut short");
        // a last line without newline that is a whole entry is one
        String lastWhole = log.substring(0, log.length() - 1);
        CommandLineTest.Result whole = run("simulate", "--config", config.toString(), "--trace",
                write("whole.log", lastWhole).toString(), "--json");
        assertThat(whole.err()).isEmpty();
        assertThat(whole.out()).contains("\"connections\": 3,");
        // the same bytes inside the file are a bad line, as before
        CommandLineTest.Result middle = run("simulate", "--config", config.toString(), "--trace",
                write("middle.log", "{\"start\": 1764812349, \"client\": \"127.0\n" + log).toString());
        assertThat(middle.code()).isEqualTo(2);
        assertThat(middle.err()).contains("middle.log:1:");
    }

    @Test
    void eventsMoveClientsAndRemovedEndpointsDrain() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", """
                start,client,clientPort,duration
                0,127.0.1.1,1,1
                1,127.0.1.2,1,1
                2,127.0.1.3,1,1
                10,127.0.1.1,2,1
                11,127.0.1.2,2,1
                12,127.0.1.3,2,1
                """);
        Path events = write("events.yaml", """
                - {at: 5, endpoint: 127.0.0.203:8080, remove: true}
                - {at: 5, add: {ip: 127.0.0.204, port: 8080, weight: 1}}
                """);
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--events", events.toString(), "--json");
        assertThat(r.err()).isEmpty();
        // rr: .201 .202 .203; then one reload makes the list .201 .202 .204 and rr resumes at the one that now
        // follows .203's place: .204 .201 .202, so all three clients move
        assertThat(r.out()).contains("{\"endpoint\": \"127.0.0.204:8080\", \"connections\": 1")
                .contains("\"moved\": 1.000");
    }

    @Test
    void badTraceLinesAreNamedWithExit2() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("bad.csv", """
                start,client,clientPort,duration
                0,127.0.1.1,1,1

                1,not-an-ip,1,1
                """);
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo(trace + ":4: client: 'not-an-ip' (expected: an IPv4 or IPv6 address)");

        Path header = write("header.csv", "start,client,port2\n");
        r = run("simulate", "--config", config.toString(), "--trace", header.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(header + ":1: unknown column: 'port2'");

        Path json = write("bad.jsonl", "{\"start\": 1, \"client\": \"127.0.1.1\", \"clientPort\": 1, \"duration\": 1}\n"
                + "{\"start\": 2, \"client\": \"127.0.1.1\" \"clientPort\": 1}\n");
        r = run("simulate", "--config", config.toString(), "--trace", json.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(json + ":2: column 37: expected ',' or '}'");
        Path indented = write("indented.jsonl", "  " + Files.readString(json).lines().toList().get(1) + "\n");
        r = run("simulate", "--config", config.toString(), "--trace", indented.toString());
        assertThat(r.err()).as("the column in the line as written").startsWith(indented + ":1: column 39: ");

        Path negative = write("neg.csv", "start,client,clientPort,duration\n1,127.0.1.1,1,-2\n");
        r = run("simulate", "--config", config.toString(), "--trace", negative.toString());
        assertThat(r.err()).startsWith(negative + ":2: duration: '-2'");
    }

    @Test
    void badEventsAreNamedWithTheirLine() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration\n0,127.0.1.1,1,1\n");
        Path events = write("e.yaml", """
                - {at: 5, endpoint: 127.0.0.203:8080, remove: true}
                - {at: 6, endpoint: 127.0.0.203:8080, weight: 2}
                """);
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(events + ":2: endpoint 127.0.0.203:8080 is not in the list at that time");

        Path typo = write("typo.yaml", "- at: 5\n  endpoint: 127.0.0.201:8080\n  wieght: 2\n");
        r = run("simulate", "--config", config.toString(), "--trace", trace.toString(), "--events", typo.toString());
        assertThat(r.err()).startsWith(typo + ":3: unknown key 'wieght'");

        Path yaml = write("broken.yaml", "- {at: 5, endpoint: [\n");
        r = run("simulate", "--config", config.toString(), "--trace", trace.toString(), "--events", yaml.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith(yaml + ":2: ");
    }

    @Test
    void unreadableFilesAreNamedInWordsWithExit2() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration\n0,127.0.1.1,1,1\n");
        Path latin1 = dir.resolve("latin1.csv");
        Files.write(latin1, "start,client,clientPort,duration\n0,127.0.1.1,1,1 caf\u00e9\n"
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", latin1.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo(latin1 + ":2: not UTF-8 text");

        Path events = dir.resolve("e.yaml");
        Files.write(events, "- {at: 5, endpoint: caf\u00e9}\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        r = run("simulate", "--config", config.toString(), "--trace", trace.toString(), "--events", events.toString());
        assertThat(r.err().strip()).isEqualTo(events + ":1: not UTF-8 text");

        Path missing = dir.resolve("missing.csv");
        r = run("simulate", "--config", config.toString(), "--trace", missing.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo(missing + ": cannot read: no such file");

        Path html = dir.resolve("no-such-dir").resolve("r.html");
        r = run("simulate", "--config", config.toString(), "--trace", trace.toString(), "--html", html.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo(html + ": cannot write: no such file");
        assertThat(r.out()).as("no report printed before the error").isEmpty();
    }

    @Test
    void aCsvTraceWithAByteOrderMarkIsRead() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("bom.csv", "\uFEFFstart,client,clientPort,duration\n0,127.0.1.1,1,1\n");
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--json");
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
    }

    @Test
    void aKeyTwiceInAnEventIsAnError() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration\n0,127.0.1.1,1,1\n");
        Path events = write("dup.yaml", "- at: 5\n  endpoint: 127.0.0.201:8080\n  at: 1\n  weight: 2\n");
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--events", events.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo(events + ":3: duplicate key 'at' (also at line 1)");
    }

    @Test
    void unknownServiceAndSchedulerAreRefused() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration\n0,127.0.1.1,1,1\n");
        CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--service", "shop/api");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("--service: no Service port shop/api in the config (expected one of: shop/web:80)");
        CommandLineTest.Result twice = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                "--schedulers", "rr,lc,rr");
        assertThat(twice.code()).isEqualTo(2);
        assertThat(twice.err().strip()).isEqualTo("--schedulers: rr is named twice");
        r = run("simulate", "--config", config.toString(), "--trace", trace.toString(), "--schedulers", "rr,fast");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("--schedulers: unknown scheduler: fast");
    }

    @Test
    void randomFollowsTheSeedTheSameSeedTheSameReport() throws IOException {
        Path config = write("c.yaml", CONFIG);
        StringBuilder csv = new StringBuilder("start,client,clientPort,duration\n");
        for (int i = 0; i < 60; i++) {
            csv.append(i).append(",10.1.0.").append(i % 9).append(',').append(1000 + i).append(",0.5\n");
        }
        Path trace = write("t.csv", csv.toString());
        String[] args = {"simulate", "--config", config.toString(), "--trace", trace.toString(), "--schedulers",
            "random", "--json", "--seed", "5"};
        CommandLineTest.Result first = run(args);
        assertThat(first.code()).isZero();
        assertThat(run(args).out()).isEqualTo(first.out());
        args[args.length - 1] = "6";
        assertThat(run(args).out()).isNotEqualTo(first.out());
    }

    /**
     * An empty element in {@code --schedulers} (a trailing or doubled comma) is named as such, as the what-if API
     * names it ({@code WhatIfQueryTest}). Before: "--schedulers:  is named twice" for {@code ,}, "unknown
     * scheduler:  (expected: ...)" for {@code rr,,lc} (helper-146).
     */
    @Test
    void anEmptyElementOfSchedulersIsNamedAsSuch() throws IOException {
        Path config = write("c.yaml", CONFIG);
        Path trace = write("t.csv", "start,client,clientPort,duration\n0,127.0.1.1,1001,1\n");
        for (String[] c : new String[][] {{",", "1"}, {"rr,,lc", "2"}, {"rr,", "2"}, {",rr", "1"}}) {
            CommandLineTest.Result r = run("simulate", "--config", config.toString(), "--trace", trace.toString(),
                    "--schedulers", c[0]);
            assertThat(r.code()).as(c[0] + ": " + r.out()).isNotZero();
            assertThat(r.err().strip()).as(c[0]).isEqualTo("--schedulers: element " + c[1] + " of \"" + c[0]
                    + "\" is empty (expected: scheduler names separated by commas, as --schedulers rr,lc)");
        }
    }
}
