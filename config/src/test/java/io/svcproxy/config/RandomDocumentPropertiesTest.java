package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random documents, not edits of a valid one: random text over YAML's punctuation, and random trees of maps,
 * lists and scalars that use the config's own keys (so that they reach deep into the binder). The loader answers
 * each with a config or with errors that all name a file, line and column; it never throws anything else and
 * never takes long.
 */
class RandomDocumentPropertiesTest {
    private static final List<String> KEYS = List.of("proxy", "services", "pods", "registry", "name", "namespace",
            "clusterIP", "ports", "port", "targetPort", "protocol", "endpoints", "ip", "weight", "selector",
            "labels", "scheduler", "schedulerFlags", "sessionAffinity", "sessionAffinityTimeout", "admin",
            "connectTimeout", "connectAttempts", "idleTimeout", "drainTimeout", "vipInterface", "files", "kubernetes",
            "outlierDetection", "consecutiveFailures", "baseEjectionTime", "maxEjectionTime", "maxEjectionPercent",
            "maxConnections", "maxConnectionsPerClient", "connectQueue", "fdGuard", "pausePercent", "resumePercent",
            "healthCheck", "interval", "timeout", "rise", "fall", "ready", "containerPort", "unknown", "<<");
    private static final List<String> SCALARS = List.of("rr", "sh", "mh", "wrr", "0", "1", "-1", "80", "65536",
            "2s", "250ms", "1h", "0s", "127.0.0.1", "127.0.10.1", "::1", "fd00::1", "127.0.2.5", "web", "db", "TCP",
            "UDP", "SCTP", "ClientIP", "None", "true", "false", "off", "null", "~", "\"\"", "''", "sh-port",
            "mh-fallback", "99999999999999999999", "1.5", "é", "\"\\u0000\"", "&a x", "*a", "!!binary aGk=",
            "127.0.0.1:9901", "[]", "{}");

    @Property(tries = 400, seed = "20261124")
    void randomTextNeverCrashesOrHangsTheLoader(@ForAll("text") String yaml) {
        assertAnsweredProperly(yaml);
    }

    @Property(tries = 400, seed = "20261125")
    void randomTreesOfConfigKeysNeverCrashOrHangTheLoader(@ForAll("trees") String yaml) {
        assertAnsweredProperly(yaml);
    }

    private static void assertAnsweredProperly(String yaml) {
        long start = System.nanoTime();
        try {
            ConfigLoader.parse(yaml, "random.yaml");
        } catch (ConfigException e) {
            assertThat(e.errors()).isNotEmpty().allSatisfy(error -> {
                assertThat(error.file()).isEqualTo("random.yaml");
                assertThat(error.line()).isGreaterThanOrEqualTo(1);
                assertThat(error.column()).isGreaterThanOrEqualTo(1);
                ConfigAssertions.assertReadable(error);
            });
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    }

    @Provide
    Arbitrary<String> text() {
        Arbitrary<String> token = Arbitraries.oneOf(
                Arbitraries.of(":", "- ", " ", "  ", "\n", "\n  ", "\t", "{", "}", "[", "]", ",", "\"", "'", "#",
                        "&a ", "*a", "!!str ", "!!map ", "? ", "|\n", ">\n", "---\n", "...\n", "%YAML 1.2\n", "<<: "),
                Arbitraries.of(KEYS).map(k -> k + ": "),
                Arbitraries.of(SCALARS),
                Arbitraries.strings().ofMaxLength(6));
        return token.list().ofMaxSize(80).map(l -> String.join("", l));
    }

    @Provide
    Arbitrary<String> trees() {
        return node(4).map(n -> n.render(0));
    }

    private Arbitrary<Node> node(int depth) {
        Arbitrary<Node> scalar = Arbitraries.of(SCALARS).map(Scalar::new);
        if (depth == 0) {
            return scalar;
        }
        Arbitrary<Node> map = Arbitraries.of(KEYS).list().ofMaxSize(5)
                .flatMap(keys -> node(depth - 1).list().ofSize(keys.size()).map(values -> new MapNode(keys, values)));
        Arbitrary<Node> list = node(depth - 1).list().ofMaxSize(4).map(ListNode::new);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, scalar), net.jqwik.api.Tuple.of(4, map), net.jqwik.api.Tuple.of(2, list));
    }

    private interface Node {
        String render(int indent);
    }

    private record Scalar(String text) implements Node {
        public String render(int indent) {
            return text;
        }
    }

    private record MapNode(List<String> keys, List<Node> values) implements Node {
        public String render(int indent) {
            if (keys.isEmpty()) {
                return "{}";
            }
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < keys.size(); i++) {
                b.append('\n').append("  ".repeat(indent)).append(keys.get(i)).append(": ")
                        .append(values.get(i).render(indent + 1));
            }
            return b.toString();
        }
    }

    private record ListNode(List<Node> items) implements Node {
        public String render(int indent) {
            if (items.isEmpty()) {
                return "[]";
            }
            StringBuilder b = new StringBuilder();
            for (Node item : items) {
                b.append('\n').append("  ".repeat(indent)).append("- ").append(item.render(indent + 1));
            }
            return b.toString();
        }
    }
}
