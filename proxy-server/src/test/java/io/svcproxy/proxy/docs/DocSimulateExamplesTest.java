package io.svcproxy.proxy.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.proxy.Main;
import io.svcproxy.proxy.docs.DocFiles.Snippet;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The examples of docs/simulate.md that are not configs, checked by {@code simulate} itself. */
class DocSimulateExamplesTest {
    private static final Pattern ENDPOINT = Pattern.compile("(\\d+\\.\\d+\\.\\d+\\.\\d+):(\\d+)");

    @TempDir
    Path dir;

    /**
     * The connection log's line ({@code {"start": ...}}, printed over two lines, "one line in the file") is one that
     * {@code simulate --trace} reads, over a config with the Service port and endpoint it names.
     */
    @Test
    void theConnectionLogLineIsOneSimulateReplays() throws Exception {
        Snippet example = DocFiles.codeBlocks().stream()
                .filter(b -> b.file().equals("docs/simulate.md") && b.text().startsWith("{\"start\""))
                .findFirst().orElseThrow(() -> new AssertionError("no connection log line in docs/simulate.md"));
        String line = String.join(" ", example.text().lines().map(String::strip).toList());
        Matcher service = Pattern.compile("\"service\": \"([^/]+)/([^\"]+)\", \"port\": \"([^\"]+)\"")
                .matcher(line);
        Matcher endpoint = Pattern.compile("\"endpoint\": \"" + ENDPOINT.pattern() + "\"").matcher(line);
        assertThat(service.find() && endpoint.find()).as("%s: service, port and endpoint fields", example.where())
                .isTrue();
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy: {admin: "off"}
                services:
                  - {name: %s, namespace: %s, clusterIP: 127.0.10.254, ports: [{name: %s, port: 80, targetPort: %s}],
                     endpoints: [{ip: %s}]}
                """.formatted(service.group(2), service.group(1), service.group(3), endpoint.group(2),
                endpoint.group(1)));
        Path log = dir.resolve("connections.log");
        Files.writeString(log, line + "\n");
        Result r = simulate("--config", config.toString(), "--trace", log.toString(), "--schedulers", "rr");
        assertThat(r.code()).as("%s: simulate does not read the doc's connection log line:%n%s", example.where(),
                r.err()).isZero();
        assertThat(r.err()).as(example.where()).isEmpty();
    }

    record Result(int code, String out, String err) {
    }

    static Result simulate(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] line = new String[args.length + 1];
        line[0] = "simulate";
        System.arraycopy(args, 0, line, 1, args.length);
        int code = Main.execute(line, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    /**
     * An {@code --events} example: replayed over a Service whose endpoints are those its events name but do not
     * {@code add}, at the port they name, with a trace of a connection every 30 s across the events' times.
     */
    static void eventsReplay(Snippet block, Path folder) throws Exception {
        List<String> endpoints = new ArrayList<>();
        String port = null;
        for (String line : block.text().lines().toList()) {
            Matcher m = ENDPOINT.matcher(line);
            if (line.contains("endpoint:") && m.find()) {
                String ip = m.group(1);
                port = m.group(2);
                if (!endpoints.contains(ip)) {
                    endpoints.add(ip);
                }
            }
        }
        assertThat(port).as("%s: no endpoint: IP:PORT in the events example", block.where()).isNotNull();
        StringBuilder config = new StringBuilder("""
                proxy: {admin: "off"}
                services:
                  - name: web
                    clusterIP: 127.0.10.254
                """);
        config.append("    ports: [{port: ").append(port).append("}]\n    endpoints: [");
        config.append(String.join(", ", endpoints.stream().map(ip -> "{ip: " + ip + "}").toList()));
        config.append(", {ip: 10.255.255.1}]\n");
        Path configFile = folder.resolve("svcproxy.yaml");
        Files.writeString(configFile, config);
        StringBuilder trace = new StringBuilder("start,client,clientPort,duration\n");
        for (int t = 0; t <= 240; t += 30) {
            trace.append(t).append(",10.9.0.").append(t / 30 + 1).append(",40000,1\n");
        }
        Path traceFile = folder.resolve("trace.csv");
        Files.writeString(traceFile, trace);
        Path events = folder.resolve("events.yaml");
        Files.writeString(events, block.text());
        Result r = simulate("--config", configFile.toString(), "--trace", traceFile.toString(),
                "--events", events.toString());
        Matcher error = Pattern.compile("(?m)^" + Pattern.quote(events.toString()) + ":(\\d+)(.*)$").matcher(r.err());
        StringBuilder problems = new StringBuilder();
        while (error.find()) {
            problems.append(block.file()).append(':').append(block.line() + Integer.parseInt(error.group(1)) - 1)
                    .append(error.group(2)).append('\n');
        }
        assertThat(r.code()).as("%s: simulate --events refuses the doc's events example:%n%s(stderr: %s)",
                block.where(), problems, r.err()).isZero();
        assertThat(r.err()).as(block.where()).isEmpty();
    }
}
