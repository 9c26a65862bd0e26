package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Collections;
import org.junit.jupiter.api.Test;

/**
 * What an alias stands for is reported where the alias is written ({@link AliasCopies}), and aliases work as before.
 *
 * <p>From helper-123's review: SnakeYAML's composer puts the anchored node itself where {@code *web} is written (the
 * same object, its marks the anchor's), so a problem in aliased content was reported at the anchor, and the operator
 * was never shown the alias's line.
 */
class AliasPlacesTest {
    /**
     * The duplicate Service was reported at the first one's name, "also at line 3", at line 3, and its port clash at
     * the first one's port.
     */
    @Test
    void aDuplicateServiceWrittenThroughAnAliasIsReportedAtTheAlias() {
        assertThat(errors("""
                services:
                  - &web
                    name: web
                    clusterIP: 127.0.123.1
                    ports: [{port: 80}]
                    endpoints: [{ip: 127.0.123.5}]
                  - *web
                """)).as("the second Service is the alias at line 7").isNotEmpty()
                .allSatisfy(e -> assertThat(e).startsWith("svcproxy.yaml:7:"));
    }

    /** The loop error named the endpoint ({@code ip:}) but pointed at the clusterIP (3:16), not at 5:22. */
    @Test
    void anEndpointWrittenThroughAnAliasIsReportedAtTheEndpoint() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: &vip 127.0.123.1
                    ports: [{port: 80}]
                    endpoints: [{ip: *vip}]
                """)).singleElement().asString().startsWith("svcproxy.yaml:5:22: ip: 127.0.123.1");
    }

    /** An aliased map with a bad value is reported once at the anchor and once at each alias, not twice at one place. */
    @Test
    void aBadValueInAnAliasedMapIsReportedAtEachPlaceItIsWritten() {
        assertThat(errors("""
                services:
                  - name: a
                    clusterIP: 127.0.123.1
                    ports: [&p {port: 70000}]
                  - name: b
                    clusterIP: 127.0.123.2
                    ports: [*p]
                """)).containsExactly(
                "svcproxy.yaml:4:23: port: 70000 (expected: 1..65535)",
                "svcproxy.yaml:7:13: port: 70000 (expected: 1..65535)");
    }

    @Test
    void aliasesStandForTheirContent() {
        ProxyConfig config = parse("""
                services:
                  - name: a
                    clusterIP: 127.0.123.1
                    ports: &ports [{port: 80}]
                    endpoints: &endpoints [{ip: 127.0.123.5, port: 8080, weight: 3}]
                  - name: b
                    clusterIP: 127.0.123.2
                    ports: *ports
                    endpoints: *endpoints
                """);
        assertThat(config.services().get(1).ports()).isEqualTo(config.services().get(0).ports());
        assertThat(config.services().get(1).endpoints()).isEqualTo(config.services().get(0).endpoints());
    }

    /** A node that holds an alias of itself is copied as a node that holds its copy: the copy ends. */
    @Test
    void aRecursiveAliasIsCopiedOnce() {
        assertThat(errors("""
                services:
                  - &s [*s]
                  - *s
                """)).isNotEmpty().allSatisfy(e -> assertThat(e).startsWith("svcproxy.yaml:"));
    }

    /**
     * Aliases of aliases within the composer's limit of 50 expand to 10^4 copies of a list of 1,000: past the copy
     * budget the anchored content is shared again, as SnakeYAML gives it, rather than copied.
     */
    @Test
    void anAliasBombBelowTheAliasLimitStaysWithinTheCopyBudget() {
        StringBuilder yaml = new StringBuilder("x0: &a0 [" + String.join(", ", Collections.nCopies(1000, "x")) + "]\n");
        for (int i = 1; i <= 4; i++) {
            yaml.append("x").append(i).append(": &a").append(i).append(" [")
                    .append(String.join(", ", Collections.nCopies(10, "*a" + (i - 1)))).append("]\n");
        }
        assertThat(errors(yaml.toString())).hasSize(5).allSatisfy(e -> assertThat(e).contains("unknown key: x"));
    }
}
