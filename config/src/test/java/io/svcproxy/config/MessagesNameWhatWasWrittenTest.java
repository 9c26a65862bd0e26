package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** From helper-106's and helper-123's reviews: error messages that named something the user did not write. */
class MessagesNameWhatWasWrittenTest {

    @Test
    void aPortRefusedForItsValueIsNotListedAsPort0ByTheIngressBackendCheck() {
        // printed: svcproxy.yaml:8:58: number: 44000 (expected: a port of Service default/web (TCP): 0)
        assertThat(errors("""
                proxy:
                  ingress: {http: 127.0.0.218:44800}
                services:
                  - name: web
                    clusterIP: 127.0.10.216
                    ports: [{name: http, port: 70000}]
                ingresses:
                  - {name: shop, defaultBackend: {service: {name: web, port: {number: 44000}}}}
                """)).noneMatch(e -> e.endsWith("(TCP): 0)"))
                .anyMatch(e -> e.startsWith("svcproxy.yaml:6:32: port: 70000"));
    }

    /** A pausePercent alone no longer meets the default resumePercent 80 (refused, blaming a value not written). */
    @Test
    void aPausePercentAloneResumesTenBelowIt() throws Exception {
        ProxyConfig config = ConfigLoader.parse("proxy:\n  fdGuard: {pausePercent: 50}\n", "svcproxy.yaml");
        assertThat(config.proxy().limits().fdPausePercent()).isEqualTo(50);
        assertThat(config.proxy().limits().fdResumePercent()).isEqualTo(40);
        config = ConfigLoader.parse("proxy:\n  fdGuard: {pausePercent: 5}\n", "svcproxy.yaml");
        assertThat(config.proxy().limits().fdResumePercent()).isEqualTo(1);
        config = ConfigLoader.parse("proxy:\n  fdGuard: {pausePercent: 95}\n", "svcproxy.yaml");
        assertThat(config.proxy().limits().fdResumePercent()).isEqualTo(80);
    }

    /**
     * "Not a string: without quotes" only for a value in quotes. From helper-123's review: an unquoted y (which
     * SnakeYAML's resolver reads as text, though Values lists it among the booleans), a custom tag and a !!float on
     * an integer were all told so: advice that cannot be followed.
     */
    @Test
    void onlyAQuotedValueIsCalledAString() {
        assertThat(errors("""
                pods:
                  - {name: a, ip: 127.0.123.5, ready: y}
                  - {name: b, ip: 127.0.123.6, ready: !flag true, weight: !!float 2}
                  - {name: c, ip: 127.0.123.7, ready: 'true'}
                """)).containsExactly(
                "svcproxy.yaml:2:39: ready: y (expected: true or false; an unquoted y is text, not a boolean)",
                "svcproxy.yaml:3:39: ready: true (expected: true or false, not tagged !flag: without the tag)",
                "svcproxy.yaml:3:59: weight: 2 (expected: a number 0..65535, not tagged !!float: without the tag)",
                "svcproxy.yaml:4:39: ready: true (expected: true or false, not a string: without quotes)");
    }

    /**
     * What the eye cannot see is spelled out: a byte order mark left in the middle of a file by {@code cat a.yaml
     * b.yaml}, a zero-width space pasted from a web page, a non-breaking space, a control character. Printed as they
     * were, the messages read "unknown key: pods (did you mean 'pods'?)" and "scheduler: rr (expected: rr, ...)".
     */
    @Test
    void invisibleCharactersAreShownEscaped() {
        assertThat(errors("services: []\n\uFEFFpods: []\n")).containsExactly(
                "svcproxy.yaml:2:1: unknown key: \\uFEFFpods (did you mean 'pods'?)");
        assertThat(errors("proxy:\n  scheduler: rr\u200B\n")).singleElement().asString()
                .startsWith("svcproxy.yaml:2:14: scheduler: rr\\u200B (expected: rr, wrr,");
        assertThat(errors("pods:\n  - {name: a, ip: 127.0.150.7, labels: {app\u00A0: web}}\n")).singleElement()
                .asString().startsWith("svcproxy.yaml:2:41: labels: app\\u00A0 (expected: a label key");
        assertThat(errors("proxy: {admin: \"off\\x01\\r\"}\n")).singleElement().asString()
                .startsWith("svcproxy.yaml:1:16: admin: off\\u0001\\r (expected: IP:PORT");
        assertThat(errors("proxy:\n  sch\u00E9duler: rr\n")).singleElement().asString()
                .isEqualTo("svcproxy.yaml:2:3: unknown key: sch\u00E9duler (did you mean 'scheduler'?)");
    }
}
