package io.svcproxy.proxy.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigError;
import io.svcproxy.config.ConfigException;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.docs.DocFiles.Snippet;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The config keys the docs name by their full path ({@code proxy.idleTimeout}, {@code services[].healthCheck.fall},
 * {@code services[].ports[].protocol}): in the key tables, each key with its default, and in prose, a key with a
 * value ({@code proxy.transport: io_uring}), is placed at its path in a minimal config, which the loader must
 * accept (the key known, the value valid).
 */
class DocConfigKeysTest {
    private static final Pattern KEY = Pattern.compile("^(proxy|services\\[]|pods\\[])((?:\\.[A-Za-z]+(?:\\[])?)+)$");
    private static final Pattern CELL_CODE = Pattern.compile("`([^`]+)`");
    /** A key with a value in prose: {@code proxy.transport: io_uring}. */
    private static final Pattern KEY_VALUE = Pattern.compile("^((?:proxy|services\\[]|pods\\[])[\\w.\\[\\]]+): (\\S.*)$");

    /**
     * Keys the prose names with a value but without their path (README: "A Service may add active TCP checks,
     * `healthCheck: {...}`"): where each goes. Other {@code key: value} spans are HTTP fields, Kubernetes
     * manifests' keys, the Kubernetes API's fields ({@code internalTrafficPolicy: Local}, which the config file does
     * not have: README, "the ClusterIP uses every endpoint (from the API: as its internalTrafficPolicy says)") or the
     * refused examples of docs/simulate.md, and are not placed.
     */
    static final java.util.Map<String, String> BARE_KEYS = java.util.Map.of(
            "healthCheck", "services[]",
            "udpResponses", "services[].ports[]",
            "proxyProtocol", "services[].ports[]",
            "sessionAffinity", "services[]",
            "externalTrafficPolicy", "services[]",
            "ready", "pods[]",
            "admin", "proxy",
            "vipInterface", "proxy");

    /** A documented key at its place, with the value to put there, and where the doc says it. */
    record Placed(Snippet where, String key, String value) {
    }

    /** The keys of the key tables' first column, with the table's default when it is one literal. */
    static List<Placed> tableKeys() {
        List<Placed> keys = new ArrayList<>();
        for (Snippet row : DocFiles.tableRows()) {
            String[] cells = row.text().split("(?<!\\\\)\\|");
            if (cells.length < 4) {
                continue;
            }
            Matcher first = CELL_CODE.matcher(cells[1]);
            String defaultCell = cells[cells.length - 1].trim();
            Matcher literal = Pattern.compile("^`([^`]+)`$").matcher(defaultCell);
            while (first.find()) {
                if (KEY.matcher(first.group(1)).matches()) {
                    keys.add(new Placed(row, first.group(1), literal.find(0) ? literal.group(1) : null));
                }
            }
        }
        return keys;
    }

    /** The keys with a value in prose and inline code ({@code proxy.transport: io_uring}). */
    static List<Placed> proseKeys() {
        List<Placed> keys = new ArrayList<>();
        for (Snippet span : DocFiles.inlineCode()) {
            Matcher m = KEY_VALUE.matcher(span.text());
            if (m.matches() && KEY.matcher(m.group(1)).matches() && !m.group(2).matches("[A-Z_/]+")) {
                keys.add(new Placed(span, m.group(1), m.group(2))); // NAMESPACE/NAME and such are placeholders
            }
            Matcher bare = Pattern.compile("^([A-Za-z]+): (\\S.*)$").matcher(span.text());
            if (bare.matches() && BARE_KEYS.containsKey(bare.group(1))) {
                keys.add(new Placed(span, BARE_KEYS.get(bare.group(1)) + "." + bare.group(1), bare.group(2)));
            }
        }
        return keys;
    }

    /**
     * A minimal config with {@code value} at {@code key}; {@code null} puts a value of no type there, whose only
     * possible problem besides a wrong type is an unknown key.
     */
    static String place(String key, String value) {
        Matcher m = KEY.matcher(key);
        m.matches();
        String[] path = m.group(2).substring(1).split("\\.");
        String v = value == null ? "{}" : value;
        StringBuilder inner = new StringBuilder();
        // innermost first: a.b.c: v -> {a: {b: {c: v}}}; a list step (ports[]) holds one item
        String nested = v;
        for (int i = path.length - 1; i >= 0; i--) {
            String step = path[i];
            if (step.endsWith("[]")) {
                String name = step.substring(0, step.length() - 2);
                String item = name.equals("ports") ? "port: 80, " + (stripBraces(nested).startsWith("udp") ? "protocol: UDP, " : "")
                        : name.equals("endpoints") ? "ip: 127.0.154.7, " : "";
                nested = name + ": [{" + item + stripBraces(nested) + "}]";
            } else {
                nested = step + ": " + nested;
            }
            if (i > 0) {
                nested = "{" + nested + "}";
            }
        }
        inner.append(nested);
        return switch (m.group(1)) {
            case "proxy" -> "proxy: {" + inner + "}\n";
            case "pods[]" -> "pods: [{name: p, ip: 127.0.154.8, " + inner + "}]\n";
            default -> "services: [{name: s, clusterIP: 127.0.154.9, "
                    + (inner.toString().startsWith("ports:") ? "" : "ports: [{port: 80}], ") + inner + "}]\n";
        };
    }

    private static String stripBraces(String s) {
        return s.startsWith("{") && s.endsWith("}") ? s.substring(1, s.length() - 1) : s;
    }

    /** The loader's problems with {@code yaml}: all of them, or only unknown keys when {@code keyOnly}. */
    static List<String> problems(String yaml, boolean keyOnly) {
        try {
            ConfigLoader.parse(yaml, "doc-key.yaml");
            return List.of();
        } catch (ConfigException e) {
            return e.errors().stream().map(ConfigError::toString)
                    .filter(s -> !keyOnly || s.contains("unknown key")).toList();
        }
    }

    @Test
    void theDocsNameKeys() {
        assertThat(tableKeys()).hasSizeGreaterThanOrEqualTo(30);
        assertThat(proseKeys()).isNotEmpty();
    }

    @Test
    void everyDocumentedKeyIsKnownAndItsDefaultValid() {
        List<String> wrong = new ArrayList<>();
        List<Placed> all = new ArrayList<>(tableKeys());
        all.addAll(proseKeys());
        for (Placed p : all) {
            String yaml = place(p.key(), p.value());
            List<String> problems = problems(yaml, p.value() == null);
            if (!problems.isEmpty()) {
                wrong.add(p.where().where() + ": " + p.key() + (p.value() == null ? "" : ": " + p.value()) + " -> "
                        + problems + " (placed as " + yaml.strip() + ")");
            }
        }
        assertThat(wrong).isEmpty();
    }

    @Test
    void aMadeUpKeyOrValueIsCaught() {
        assertThat(problems(place("proxy.idleTimeOut", null), true)).isNotEmpty();
        assertThat(problems(place("services[].ports[].protocol", "SCTP"), false)).isNotEmpty();
        assertThat(problems(place("services[].ports[].protocol", "UDP"), false)).isEmpty();
        assertThat(problems(place("services[].healthCheck.fall", "3"), false)).isEmpty();
    }
}
