package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** From helper-106's review: error messages that named something the user did not write. */
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
}
