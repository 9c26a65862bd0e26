package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * helper-123's review: SPEC's validate prints FILE:LINE:COLUMN pointing "at the offending key or value". Two places
 * where the position is not where the problem is written.
 */
class H123ReviewErrorPlacesTest {
    /**
     * An alias is composed by SnakeYAML into the anchored node itself (the same object, its marks the anchor's), so
     * a value written as {@code *web} is reported where {@code &web} is: the duplicate Service is reported at the
     * first one's name, "also at line 3", at line 3, and the operator is never shown line 7.
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
                """)).as("the second Service is the alias at line 7")
                .allSatisfy(e -> assertThat(e).startsWith("svcproxy.yaml:7:"));
    }

    /**
     * An endpoint address written as an alias of the clusterIP: the loop error names the endpoint ({@code ip:}) but
     * points at the clusterIP's line and column (3:16), not at the endpoint (5:24).
     */
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
}
