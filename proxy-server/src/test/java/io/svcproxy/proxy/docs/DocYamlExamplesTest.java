package io.svcproxy.proxy.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.proxy.Main;
import io.svcproxy.proxy.docs.DocFiles.Snippet;
import io.svcproxy.proxy.ingress.TestCertificates;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * Every YAML example of the docs, checked as a user would use it. A block whose top-level keys are the config's
 * ({@code proxy}, {@code services}, {@code pods}, {@code registry}, {@code ingresses}) is a whole config: written to
 * a file, with stand-ins for the files it names (a generated certificate pair for {@code certFile}/{@code keyFile},
 * {@code pods: []} for a registry file, a kubeconfig; {@code ~} and absolute paths moved under a temporary folder),
 * and run through {@code validate}, which must accept it. Any other block must be in {@link #FRAGMENTS}, which says
 * where it goes and checks it there. Nothing reaches the network.
 */
class DocYamlExamplesTest {
    private static final Set<String> CONFIG_KEYS = Set.of("proxy", "services", "pods", "registry", "ingresses");
    private static final Pattern YAML_START = Pattern.compile("^(- )?\\{?[A-Za-z_][\\w.-]*:(\\s|$)");
    private static final Pattern TOP_LEVEL_KEY = Pattern.compile("(?m)^([A-Za-z_][\\w.-]*):");
    private static final Pattern ERROR = Pattern.compile("(?m)^.*?:(\\d+):(\\d+): (.*)$");

    /** A block a doc says is an excerpt, and what it says completes it (appended to the block). */
    record Excerpt(String file, Predicate<String> block, String why, String completion) {
    }

    /** A block that is not a whole config: where it goes, and the check of it there. */
    record Fragment(String file, Predicate<String> block, String goesWhere, Check check) {
    }

    /** Checks a fragment where it goes; {@code folder} is the block's own temporary folder. */
    interface Check {
        void check(Snippet block, Path folder) throws Exception;
    }

    static final List<Excerpt> EXCERPTS = List.of(new Excerpt("README.md",
            text -> text.contains("ingresses:") && text.contains("name: shop"),
            "README: \"The block is an excerpt: validate wants the Services it names in the same file (web with port"
                    + " 80, api with a port named http)\"",
            """
            services:
              - {name: web, clusterIP: 127.0.10.254, ports: [{port: 80}]}
              - {name: api, clusterIP: 127.0.10.254, ports: [{name: http, port: 8080}]}
            """));

    static final List<Fragment> FRAGMENTS = List.of(new Fragment("docs/simulate.md",
            text -> text.startsWith("- {at:"),
            "a file of simulate --events: replayed over a Service whose endpoints it names",
            DocSimulateExamplesTest::eventsReplay));

    @TempDir
    Path dir;

    /** The YAML code blocks: fenced {@code yaml}, and indented blocks that start as YAML does. */
    static List<Snippet> yamlBlocks() {
        List<Snippet> yaml = new ArrayList<>();
        for (Snippet block : DocFiles.codeBlocks()) {
            String first = block.text().lines().filter(l -> !l.isBlank() && !l.startsWith("#")).findFirst().orElse("");
            if (block.language().equals("yaml") || block.language().equals("indented")
                    && YAML_START.matcher(first).find()) {
                yaml.add(block);
            }
        }
        return yaml;
    }

    static boolean wholeConfig(Snippet block) {
        Matcher m = TOP_LEVEL_KEY.matcher(block.text());
        boolean any = false;
        while (m.find()) {
            if (!CONFIG_KEYS.contains(m.group(1))) {
                return false;
            }
            any = true;
        }
        return any;
    }

    @Test
    void theDocsHaveYamlExamples() {
        // a parser that found nothing would pass every check below
        assertThat(yamlBlocks().stream().filter(DocYamlExamplesTest::wholeConfig).count()).isGreaterThanOrEqualTo(6);
    }

    @Test
    void everyBlockIsAWholeConfigOrAKnownFragment() {
        List<String> unknown = new ArrayList<>();
        for (Snippet block : yamlBlocks()) {
            if (!wholeConfig(block) && FRAGMENTS.stream().noneMatch(f -> f.file().equals(block.file())
                    && f.block().test(block.text()))) {
                unknown.add(block.where() + ": a YAML block that is neither a whole config nor in FRAGMENTS "
                        + "(say where it goes):\n" + block.text());
            }
        }
        assertThat(unknown).isEmpty();
        for (Fragment f : FRAGMENTS) {
            assertThat(yamlBlocks()).as("FRAGMENTS entry of %s that no block matches: %s", f.file(), f.goesWhere())
                    .anyMatch(b -> b.file().equals(f.file()) && f.block().test(b.text()));
        }
        for (Excerpt e : EXCERPTS) {
            assertThat(yamlBlocks()).as("EXCERPTS entry of %s that no block matches: %s", e.file(), e.why())
                    .anyMatch(b -> b.file().equals(e.file()) && e.block().test(b.text()));
        }
    }

    @TestFactory
    Stream<DynamicTest> everyWholeConfigValidates() {
        return yamlBlocks().stream().filter(DocYamlExamplesTest::wholeConfig)
                .map(block -> DynamicTest.dynamicTest(block.where(), () -> validates(block)));
    }

    @TestFactory
    Stream<DynamicTest> everyKnownFragmentWorksWhereItGoes() {
        return yamlBlocks().stream().flatMap(block -> FRAGMENTS.stream()
                .filter(f -> f.file().equals(block.file()) && f.block().test(block.text()))
                .map(f -> DynamicTest.dynamicTest(block.where() + " (" + f.goesWhere() + ")",
                        () -> f.check().check(block, folder(block)))));
    }

    private Path folder(Snippet block) throws IOException {
        return Files.createDirectories(dir.resolve(block.file().replace('/', '_') + "_" + block.line()));
    }

    private void validates(Snippet block) throws Exception {
        Path folder = folder(block);
        String text = block.text();
        int blockLines = (int) text.lines().count();
        for (Excerpt e : EXCERPTS) {
            if (e.file().equals(block.file()) && e.block().test(text)) {
                text = text + e.completion();
            }
        }
        text = standIns(text, folder);
        Path config = folder.resolve("svcproxy.yaml");
        Files.writeString(config, text);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new String[] {"validate", "--config", config.toString()},
                new PrintWriter(out, true), new PrintWriter(err, true));
        List<String> problems = new ArrayList<>();
        Matcher m = ERROR.matcher(err.toString());
        while (m.find()) {
            int line = Integer.parseInt(m.group(1));
            problems.add((line <= blockLines ? block.file() + ":" + (block.line() + line - 1) + ":" + m.group(2)
                    : "(the test's completion of the excerpt, line " + (line - blockLines) + ")") + ": " + m.group(3));
        }
        assertThat(code).as("%s: the doc's config example does not validate:%n%s%n(validate's stderr: %s)",
                block.where(), String.join("\n", problems), err).isZero();
        assertThat(err.toString()).as(block.where()).isEmpty();
    }

    /**
     * Makes the files {@code text} names exist under {@code folder} and returns the text with {@code ~/} and absolute
     * paths moved under it (a user's home and {@code /var/log} are not the test's to write).
     */
    static String standIns(String text, Path folder) throws IOException, InterruptedException {
        Object tree = new Yaml().load(text);
        List<String[]> pairs = new ArrayList<>();
        List<String> registryFiles = new ArrayList<>();
        List<String> kubeconfigs = new ArrayList<>();
        List<String> logs = new ArrayList<>();
        collect(tree, null, pairs, registryFiles, kubeconfigs, logs);
        String result = text;
        List<String> all = new ArrayList<>(registryFiles);
        all.addAll(kubeconfigs);
        all.addAll(logs);
        pairs.forEach(p -> all.addAll(List.of(p)));
        for (String path : all) {
            String moved = moved(path, folder);
            if (!moved.equals(path)) {
                result = result.replace(path, moved);
            }
        }
        for (String path : registryFiles) {
            write(folder, moved(path, folder), "pods: []\n");
        }
        for (String path : kubeconfigs) {
            write(folder, moved(path, folder), """
                    apiVersion: v1
                    kind: Config
                    clusters: [{name: c, cluster: {server: "https://127.0.154.1:6443"}}]
                    users: [{name: u, user: {token: t}}]
                    contexts: [{name: x, context: {cluster: c, user: u}}]
                    current-context: x
                    """);
        }
        for (String path : logs) {
            Path file = folder.resolve(moved(path, folder));
            Files.createDirectories(file.getParent());
        }
        for (String[] pair : pairs) {
            Path scratch = Files.createTempDirectory(folder, "pair");
            TestCertificates.write(scratch, "pair", "shop.example", "RSA");
            write(folder, moved(pair[0], folder), Files.readString(scratch.resolve("pair.pem")));
            write(folder, moved(pair[1], folder), Files.readString(scratch.resolve("pair-key.pem")));
        }
        return result;
    }

    private static void write(Path folder, String path, String content) throws IOException {
        Path file = folder.resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }

    private static String moved(String path, Path folder) {
        if (path.startsWith("~/")) {
            return folder.resolve("home").resolve(path.substring(2)).toString();
        }
        if (path.startsWith("/") && !path.startsWith(folder.toString())) {
            return folder.resolve("root").resolve(path.substring(1)).toString();
        }
        return path;
    }

    @SuppressWarnings("unchecked")
    private static void collect(Object node, String key, List<String[]> pairs, List<String> registryFiles,
            List<String> kubeconfigs, List<String> logs) {
        if (node instanceof Map<?, ?> map) {
            if (map.get("certFile") instanceof String cert && map.get("keyFile") instanceof String key2) {
                pairs.add(new String[] {cert, key2});
            }
            if (map.get("kubeconfig") instanceof String kubeconfig) {
                kubeconfigs.add(kubeconfig);
            }
            if (map.get("connectionLog") instanceof String log && !log.equals("off")) {
                logs.add(log);
            }
            if ("registry".equals(key) && map.get("files") instanceof List<?> files) {
                files.forEach(f -> registryFiles.add(String.valueOf(f)));
            }
            map.forEach((k, v) -> collect(v, String.valueOf(k), pairs, registryFiles, kubeconfigs, logs));
        } else if (node instanceof List<?> list) {
            list.forEach(v -> collect(v, key, pairs, registryFiles, kubeconfigs, logs));
        }
    }
}
