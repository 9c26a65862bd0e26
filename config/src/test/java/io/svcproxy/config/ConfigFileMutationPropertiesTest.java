package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Edits an operator's editor, shell or tool makes to a valid config file and its registry file, written to disk as
 * bytes and read as a reload reads them ({@link ConfigLoader#load}): lines deleted, duplicated, cut short, indented
 * wrong or with a tab, values of another type (huge numbers, negative ports, quoted numbers), anchors, aliases and
 * merge keys, empty and multiple documents, a byte order mark, CRLF line ends, bytes that are not UTF-8. The loader
 * answers each with a config, or with errors that each name the file and a line and column in it (line 0 only for a
 * file that cannot be read at all), whose message says what is wrong without an exception's name or a stack trace.
 * {@link ConfigMutationPropertiesTest} edits one document in memory at random offsets; this one edits whole lines
 * of every section (Ingresses, node ports, UDP, health checks included) and the registry file too.
 */
class ConfigFileMutationPropertiesTest {
    static final String CONFIG = """
            # svcproxy config: every section, block and flow styles
            proxy:
              scheduler: rr
              admin: 127.0.150.1:9901
              connectTimeout: 2s
              connectAttempts: 3
              idleTimeout: 1h
              drainTimeout: 30s
              vipInterface: ""
              outlierDetection:
                consecutiveFailures: 5
                baseEjectionTime: 30s
                maxEjectionTime: 5m
                maxEjectionPercent: 50
              fdGuard: {pausePercent: 90, resumePercent: 80}
              udpIdleTimeout: 30s
              maxUdpFlows: 1000
              nodePortRange: 30000-32767
              ingress:
                http: 127.0.150.2:8080
                responseTimeout: 60s
            registry:
              files: [pods.yaml]
            services:
              - name: web
                namespace: default
                clusterIP: 127.0.150.10
                selector: {app: web}
                scheduler: sh
                schedulerFlags: [sh-port]
                sessionAffinity: ClientIP
                sessionAffinityTimeout: 3h
                type: NodePort
                healthCheck: {interval: 5s, timeout: 1s, rise: 2, fall: 3}
                ports:
                  - name: http
                    protocol: TCP
                    port: 80
                    targetPort: web
                    nodePort: 30080
                  - {name: dns, protocol: UDP, port: 53, targetPort: 5353, udpResponses: 1, nodePort: 30053}
              - name: db
                clusterIP: "fd00::1"
                externalIPs: [127.0.150.20]
                ports: [{port: 5432, proxyProtocol: v2}]
                endpoints:
                  - {ip: 127.0.150.5, port: 5432, weight: 1}
                  - ip: "fd00::5"
                    weight: 0
            pods:
              - name: web-1
                ip: 127.0.150.11
                labels: {app: web}
                ready: true
                weight: 1
                ports: [{name: web, containerPort: 8080}]
            ingresses:
              - name: shop
                rules:
                  - host: shop.example
                    http:
                      paths:
                        - path: /
                          pathType: Prefix
                          backend: {service: {name: web, port: {number: 80}}}
            """;

    static final String PODS = """
            # registry file
            pods:
              - name: web-2
                namespace: default
                ip: 127.0.150.12
                labels:
                  app: web
                  tier: front
                ready: false
                weight: 2
                ports:
                  - name: web
                    containerPort: 8080
                    protocol: TCP
              - {name: web-3, ip: "fd00::12", labels: {app: web}, ports: [{name: web, containerPort: 8080}]}
            """;

    /** Values of another type or out of range, put in place of a line's value. */
    private static final String[] VALUES = {
        "[]", "{}", "~", "null", "\"\"", "\"80\"", "'80'", "!!str 80", "-1", "-80", "0", "65536", "4294967296",
        "99999999999999999999", "1e3", "0x50", "0o17", "1_000", "1:30", "080", ".inf", "-.nan", "1.5", "yes", "off",
        "2s", "-2s", "999999999999h", "[a, b]", "{a: 1}", "&a 1", "*a", "*missing", "!!binary aGk=", "!!map {}",
        "!java.io.File /etc", "|", ">-", "'", "\"", "{", "[", "127.0.0.1", "::ffff:127.0.0.1", "0.0.0.0",
        "256.1.1.1", "web", "Web_Service", "\u00e9", "\uD83D\uDE00", "\u2028", "\u0085", "\"\\u0000\"", "\"\\x01\"",
    };

    /** Whole lines put in at a line, at that line's indentation. */
    private static final String[] LINES = {
        "<<: *a", "<<: {name: x}", "<<: [*a, *b]", "&a", "*a", "? [x]", "? complex\n: key", "---", "...",
        "--- !!map", "%YAML 1.1", "%TAG ! tag:x,2000:", "- item", "key: value", "name: web", "port: 80",
        "ports: []", "pods: []", "services: []", "registry: {files: [nowhere.yaml]}", "registry: {files: [/dev/zero]}",
        "registry: {files: [.]}", "files: [pods.yaml, pods.yaml]", "# comment", "", "\t", "  \t  key: 1",
    };

    /** Bytes that are not UTF-8, or that UTF-8 forbids: a Latin-1 é, a lone lead byte, an encoded surrogate, NUL. */
    private static final byte[][] BAD_BYTES = {
        {(byte) 0xe9}, {(byte) 0xc3}, {(byte) 0xff}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {0},
        {(byte) 0xc0, (byte) 0x80}, {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xef, (byte) 0xbb},
    };

    private static Path dir;

    @BeforeContainer
    static void folder() throws IOException {
        dir = Files.createTempDirectory("svcproxy-mutants");
    }

    @AfterContainer
    static void removeFolder() throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    @Example
    void theUneditedFilesAreValid() throws Exception {
        ProxyConfig config = ConfigLoader.load(write(CONFIG.getBytes(StandardCharsets.UTF_8),
                PODS.getBytes(StandardCharsets.UTF_8)));
        assertThat(config.services()).hasSize(2);
        assertThat(config.pods()).hasSize(3);
        assertThat(config.ingresses()).hasSize(1);
    }

    /** Either file cut short at the start of every line and in the middle of every line: what a reader racing a writer sees. */
    @Example
    void everyTruncationIsAnsweredWithPositionedErrors() throws Exception {
        for (boolean registry : new boolean[] {false, true}) {
            String text = registry ? PODS : CONFIG;
            List<Integer> cuts = new ArrayList<>();
            for (int i = 0; i <= text.length(); i = text.indexOf('\n', i) < 0 ? text.length() + 1
                    : text.indexOf('\n', i) + 1) {
                cuts.add(i);
                int end = text.indexOf('\n', i);
                if (end > i + 1) {
                    cuts.add(i + (end - i) / 2);
                }
            }
            for (int cut : cuts) {
                String cutText = text.substring(0, Math.min(cut, text.length()));
                byte[] config = (registry ? CONFIG : cutText).getBytes(StandardCharsets.UTF_8);
                byte[] pods = (registry ? cutText : PODS).getBytes(StandardCharsets.UTF_8);
                assertAnsweredProperly(config, pods);
            }
        }
    }

    @Property(tries = 300, seed = "20261206")
    void editedFilesAreAcceptedOrRejectedWithPositionedErrors(@ForAll("edits") Edited edited) throws Exception {
        assertAnsweredProperly(edited.config(), edited.pods());
    }

    private static void assertAnsweredProperly(byte[] config, byte[] pods) throws Exception {
        Path file = write(config, pods);
        try {
            ConfigLoader.load(file);
        } catch (ConfigException e) {
            assertThat(e.errors()).isNotEmpty().allSatisfy(error -> assertPositioned(error, file, config, pods));
        }
    }

    /**
     * An error names one of the two files and a line and column inside it (or line 0 for a whole file that cannot be
     * read), and says what is wrong in words, not with an exception's name or a stack trace.
     */
    private static void assertPositioned(ConfigError error, Path file, byte[] config, byte[] pods) {
        Path registry = dir.resolve("pods.yaml");
        assertThat(error.file()).as("file of %s", error).isIn(file.toString(), registry.toString());
        ConfigAssertions.assertReadable(error);
        String message = error.message();
        if (error.line() == 0) {
            assertThat(error.column()).as("column of %s", error).isZero();
            assertThat(message).as("message of %s", error).startsWith("cannot read: ");
            return;
        }
        byte[] bytes = error.file().equals(file.toString()) ? config : pods;
        String text = new String(bytes, StandardCharsets.UTF_8);
        assertThat(error.line()).as("line of %s", error).isBetween(1, lineCount(text));
        assertThat(error.column()).as("column of %s", error).isBetween(1, text.length() + 1);
    }

    /** Lines as YAML breaks them (CR, LF, CRLF, NEL, LS, PS), and one past the last for an error at the end. */
    private static int lineCount(String text) {
        int lines = 1;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\u0085' || c == '\u2028' || c == '\u2029'
                    || c == '\r' && (i + 1 == text.length() || text.charAt(i + 1) != '\n')) {
                lines++;
            }
        }
        return lines + 1;
    }

    private static Path write(byte[] config, byte[] pods) throws IOException {
        Path file = dir.resolve("svcproxy.yaml");
        Files.write(file, config);
        Files.write(dir.resolve("pods.yaml"), pods);
        return file;
    }

    @Provide
    Arbitrary<Edited> edits() {
        Arbitrary<Edit> edit = Combinators.combine(
                Arbitraries.of(Kind.class),
                Arbitraries.integers().between(0, 200),
                Arbitraries.integers().between(0, 1000),
                Arbitraries.of(true, false)).as(Edit::new);
        Arbitrary<Encoding> encoding = Combinators.combine(
                Arbitraries.of(Bytes.class),
                Arbitraries.integers().between(0, 5000),
                Arbitraries.integers().between(0, BAD_BYTES.length - 1),
                Arbitraries.of(true, false)).as(Encoding::new);
        return Combinators.combine(edit.list().ofMinSize(1).ofMaxSize(4), encoding.list().ofMaxSize(2))
                .as((list, encodings) -> {
                    String config = CONFIG;
                    String pods = PODS;
                    for (Edit e : list) {
                        if (e.registry()) {
                            pods = e.apply(pods);
                        } else {
                            config = e.apply(config);
                        }
                    }
                    byte[] configBytes = config.getBytes(StandardCharsets.UTF_8);
                    byte[] podBytes = pods.getBytes(StandardCharsets.UTF_8);
                    for (Encoding enc : encodings) {
                        if (enc.registry()) {
                            podBytes = enc.apply(podBytes);
                        } else {
                            configBytes = enc.apply(configBytes);
                        }
                    }
                    return new Edited(list, encodings, configBytes, podBytes);
                });
    }

    /** The files after the edits; {@code toString} says what was done, for jqwik's report of a failing try. */
    record Edited(List<Edit> edits, List<Encoding> encodings, byte[] config, byte[] pods) {
        @Override
        public String toString() {
            return "edits=" + edits + " encodings=" + encodings + "\n--- svcproxy.yaml\n"
                    + new String(config, StandardCharsets.ISO_8859_1) + "\n--- pods.yaml\n"
                    + new String(pods, StandardCharsets.ISO_8859_1);
        }
    }

    enum Kind { DELETE, DUPLICATE, RETYPE, TRUNCATE, INDENT, OUTDENT, TAB, INSERT, ANCHOR, EMPTY, SECOND_DOCUMENT }

    /** One line-wise edit of the config file or the registry file: at line {@code line}, with choice {@code pick}. */
    record Edit(Kind kind, int line, int pick, boolean registry) {
        String apply(String text) {
            List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
            int at = Math.min(line, lines.size() - 1);
            String target = lines.get(at);
            String indent = target.substring(0, target.length() - target.stripLeading().length());
            switch (kind) {
                case DELETE -> lines.remove(at);
                case DUPLICATE -> lines.add(at, target);
                case RETYPE -> lines.set(at, retyped(target, VALUES[pick % VALUES.length]));
                case TRUNCATE -> {
                    lines = new ArrayList<>(lines.subList(0, at + 1));
                    lines.set(at, target.substring(0, Math.min(target.length(), pick % (target.length() + 1))));
                }
                case INDENT -> lines.set(at, " ".repeat(1 + pick % 3) + target);
                case OUTDENT -> lines.set(at, target.substring(Math.min(indent.length(), 1 + pick % 3)));
                case TAB -> lines.set(at, pick % 2 == 0 ? "\t" + target.stripLeading()
                        : indent + "\t" + target.stripLeading());
                case INSERT -> lines.add(at, indent + LINES[pick % LINES.length]);
                case ANCHOR -> {
                    // an anchor on this line's value, used by an alias or a merge key further down
                    lines.set(at, retyped(target, "&a " + valueOf(target)));
                    int later = Math.min(lines.size() - 1, at + 1 + pick % 12);
                    String other = lines.get(later);
                    lines.set(later, pick % 2 == 0 ? retyped(other, "*a")
                            : other.substring(0, other.length() - other.stripLeading().length()) + "<<: *a");
                }
                case EMPTY -> {
                    return List.of("", "\n", "---\n", "...\n", "# nothing yet\n", "--- ~\n", "\n\n\n")
                            .get(pick % 7);
                }
                case SECOND_DOCUMENT -> {
                    return pick % 2 == 0 ? text + "---\n" + text : text + "---\n";
                }
                default -> throw new AssertionError(kind);
            }
            return String.join("\n", lines);
        }

        /** The line with its value (what follows the key's {@code ": "}, or the item's {@code "- "}) replaced. */
        private static String retyped(String line, String value) {
            int colon = line.indexOf(": ");
            if (colon >= 0) {
                return line.substring(0, colon + 2) + value;
            }
            int dash = line.indexOf("- ");
            if (dash >= 0) {
                return line.substring(0, dash + 2) + value;
            }
            return line + (line.endsWith(":") ? " " : ": ") + value;
        }

        private static String valueOf(String line) {
            int colon = line.indexOf(": ");
            return colon >= 0 ? line.substring(colon + 2) : "x";
        }
    }

    enum Bytes { BOM, CRLF, CR, BAD_BYTE, BOM_INSIDE, NO_FINAL_NEWLINE }

    /** One byte-wise change of a whole file, after the line-wise edits. */
    record Encoding(Bytes kind, int at, int pick, boolean registry) {
        byte[] apply(byte[] bytes) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int offset = bytes.length == 0 ? 0 : at % (bytes.length + 1);
            switch (kind) {
                case BOM -> {
                    out.writeBytes(new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf});
                    out.writeBytes(bytes);
                }
                case CRLF, CR -> {
                    for (byte b : bytes) {
                        if (b == '\n') {
                            out.write('\r');
                            if (kind == Bytes.CRLF) {
                                out.write('\n');
                            }
                        } else {
                            out.write(b);
                        }
                    }
                }
                case BAD_BYTE, BOM_INSIDE -> {
                    out.write(bytes, 0, offset);
                    out.writeBytes(kind == Bytes.BAD_BYTE ? BAD_BYTES[pick]
                            : new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf});
                    out.write(bytes, offset, bytes.length - offset);
                }
                case NO_FINAL_NEWLINE -> {
                    int end = bytes.length;
                    while (end > 0 && (bytes[end - 1] == '\n' || bytes[end - 1] == '\r')) {
                        end--;
                    }
                    out.write(bytes, 0, end);
                }
                default -> throw new AssertionError(kind);
            }
            return out.toByteArray();
        }
    }
}
