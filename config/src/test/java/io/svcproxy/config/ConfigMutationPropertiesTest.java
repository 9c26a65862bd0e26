package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Random edits of a valid document: the loader answers with a config or with positioned errors, nothing else. */
class ConfigMutationPropertiesTest {
    static final String VALID = """
            proxy:
              scheduler: rr
              admin: 127.0.0.1:9901
              connectTimeout: 2s
              connectAttempts: 3
              idleTimeout: 1h
              drainTimeout: 30s
              vipInterface: ""
            services:
              - name: web
                namespace: default
                clusterIP: 127.0.10.1
                selector: {app: web}
                scheduler: sh
                schedulerFlags: [sh-port]
                sessionAffinity: ClientIP
                sessionAffinityTimeout: 3h
                ports:
                  - {name: http, protocol: TCP, port: 80, targetPort: web}
                  - {name: admin, port: 81}
              - name: db
                clusterIP: "fd00::1"
                ports: [{port: 5432}]
                endpoints:
                  - {ip: 127.0.2.5, port: 5432, weight: 1}
                  - {ip: "fd00::5", weight: 0}
            pods:
              - name: web-1
                ip: 127.0.0.11
                labels: {app: web}
                ready: true
                weight: 1
                ports: [{name: web, containerPort: 8080}]
            """;

    private static final String[] SNIPPETS = {
        ":", "-", " ", "  ", "\n", "\t", "{", "}", "[", "]", ",", "\"", "'", "#", "&a", "*a", "!!str", "!foo", "~",
        "null", "true", "off", "-1", "0", "65536", "99999999999999999999", "1.5", "::1", "0x10", "1:30", "<<",
        "---", "...", "%YAML 1.1", "? ", "|", ">", "name", "port", "ports", "endpoints", "selector", "UDP", "sh-port",
        "\u0001", "\uFEFF", "\uD83D\uDE00", "é",
    };

    @Property(tries = 1000, seed = "20240611")
    void neverThrowsAnythingButPositionedConfigExceptions(@ForAll("mutants") String yaml) {
        try {
            ConfigLoader.parse(yaml, "mutant.yaml");
        } catch (ConfigException e) {
            assertThat(e.errors()).isNotEmpty().allSatisfy(error -> {
                assertThat(error.file()).isEqualTo("mutant.yaml");
                assertThat(error.line()).isGreaterThanOrEqualTo(1);
                assertThat(error.column()).isGreaterThanOrEqualTo(1);
                ConfigAssertions.assertReadable(error);
            });
        }
    }

    @Provide
    Arbitrary<String> mutants() {
        Arbitrary<Mutation> mutation = Combinators.combine(
                Arbitraries.integers().between(0, 3),
                Arbitraries.integers().between(0, VALID.length()),
                Arbitraries.integers().between(0, 40),
                Arbitraries.of(SNIPPETS)).as(Mutation::new);
        return mutation.list().ofMinSize(1).ofMaxSize(6).map(list -> {
            String s = VALID;
            for (Mutation m : list) {
                s = m.apply(s);
            }
            return s;
        });
    }

    /** One edit: insert a snippet, delete a span, replace a span with a snippet, or duplicate a line. */
    record Mutation(int kind, int at, int length, String snippet) {
        String apply(String s) {
            int from = Math.min(at, s.length());
            int to = Math.min(s.length(), from + length);
            return switch (kind) {
                case 0 -> s.substring(0, from) + snippet + s.substring(from);
                case 1 -> s.substring(0, from) + s.substring(to);
                case 2 -> s.substring(0, from) + snippet + s.substring(to);
                default -> {
                    int start = s.lastIndexOf('\n', Math.max(0, from - 1)) + 1;
                    int end = s.indexOf('\n', from);
                    end = end < 0 ? s.length() : end + 1;
                    yield s.substring(0, end) + s.substring(start, end) + s.substring(end);
                }
            };
        }
    }
}
