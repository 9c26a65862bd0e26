package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The limits, outlier detection and health checks: defaults, values, and every validation message. */
class RobustnessConfigTest {
    private static final String SERVICE = """
            services:
              - name: web
                clusterIP: 127.0.10.1
                ports: [{port: 80}]
                endpoints: [{ip: 127.0.0.11}]
            """;

    @Test
    void hasDefaultsWhenNothingIsSet() {
        ProxyConfig config = parse(SERVICE);
        assertThat(config.proxy().outlierDetection())
                .isEqualTo(new OutlierDetection(5, Duration.ofSeconds(10), Duration.ofMinutes(5)));
        assertThat(config.proxy().limits()).isEqualTo(new ProxyLimits(0, 16384, 90, 80));
        ServiceSpec web = config.services().get(0);
        assertThat(web.maxConnections()).isZero();
        assertThat(web.maxConnectionsPerClient()).isZero();
        assertThat(web.healthCheck()).isNull();
    }

    @Test
    void readsEveryKey() {
        ProxyConfig config = parse("""
                proxy:
                  outlierDetection: {consecutiveFailures: 3, baseEjectionTime: 2s, maxEjectionTime: 1m,
                                     maxEjectionPercent: 50}
                  maxConnections: 10000
                  connectQueue: 64
                  fdGuard: {pausePercent: 95, resumePercent: 85}
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                    endpoints: [{ip: 127.0.0.11}]
                    maxConnections: 100
                    maxConnectionsPerClient: 10
                    healthCheck: {interval: 2s, timeout: 500ms, rise: 1, fall: 2}
                """);
        assertThat(config.proxy().outlierDetection())
                .isEqualTo(new OutlierDetection(3, Duration.ofSeconds(2), Duration.ofMinutes(1), 50));
        assertThat(config.proxy().limits()).isEqualTo(new ProxyLimits(10000, 64, 95, 85));
        ServiceSpec web = config.services().get(0);
        assertThat(web.maxConnections()).isEqualTo(100);
        assertThat(web.maxConnectionsPerClient()).isEqualTo(10);
        assertThat(web.healthCheck())
                .isEqualTo(new HealthCheckSpec(Duration.ofSeconds(2), Duration.ofMillis(500), 1, 2));
    }

    @Test
    void anEmptyHealthCheckMapMeansTheDefaults() {
        ProxyConfig config = parse(SERVICE + "    healthCheck: {}\n");
        assertThat(config.services().get(0).healthCheck()).isEqualTo(HealthCheckSpec.defaults());
    }

    @Test
    void zeroConsecutiveFailuresTurnsOutlierDetectionOff() {
        ProxyConfig config = parse("proxy: {outlierDetection: {consecutiveFailures: 0}}\n" + SERVICE);
        assertThat(config.proxy().outlierDetection().enabled()).isFalse();
    }

    @Test
    void rejectsBadOutlierDetection() {
        assertThat(errors("""
                proxy:
                  outlierDetection:
                    consecutiveFailures: -1
                    baseEjectionTime: 10ms
                    maxEjectionTime: 2d
                    color: red
                """)).containsExactly(
                "svcproxy.yaml:3:26: consecutiveFailures: -1 (expected: 0..1000)",
                "svcproxy.yaml:4:23: baseEjectionTime: 10ms (expected: 100ms..24h)",
                "svcproxy.yaml:5:22: maxEjectionTime: 2d (expected: " + Durations.EXPECTED + ")",
                "svcproxy.yaml:6:5: unknown key: color (expected: consecutiveFailures, baseEjectionTime, "
                        + "maxEjectionTime, maxEjectionPercent)");
    }

    @Test
    void rejectsAMaxEjectionPercentOutsideZeroToAHundred() {
        assertThat(errors("proxy:\n  outlierDetection: {maxEjectionPercent: 101}\n"))
                .containsExactly("svcproxy.yaml:2:42: maxEjectionPercent: 101 (expected: 0..100)");
        assertThat(errors("proxy:\n  outlierDetection: {maxEjectionPercent: 10%}\n")).singleElement().asString()
                .startsWith("svcproxy.yaml:2:42: maxEjectionPercent: 10%");
    }

    @Test
    void atMostTheShareOfEndpointsIsEjectedButAlwaysOne() {
        OutlierDetection half = new OutlierDetection(5, Duration.ofSeconds(10), Duration.ofMinutes(5), 50);
        assertThat(half.mayEjectAnother(0, 4)).isTrue();
        assertThat(half.mayEjectAnother(1, 4)).isTrue(); // 2 of 4
        assertThat(half.mayEjectAnother(2, 4)).isFalse(); // 3 of 4
        OutlierDetection none = new OutlierDetection(5, Duration.ofSeconds(10), Duration.ofMinutes(5), 0);
        assertThat(none.mayEjectAnother(0, 10)).as("one may always be ejected, as Envoy").isTrue();
        assertThat(none.mayEjectAnother(1, 10)).isFalse();
        assertThat(OutlierDetection.defaults().mayEjectAnother(9, 10)).isTrue();
    }

    @Test
    void rejectsAMaxEjectionTimeBelowTheBase() throws ConfigException {
        assertThat(errors("proxy:\n  outlierDetection: {baseEjectionTime: 1m, maxEjectionTime: 30s}\n"))
                .containsExactly("svcproxy.yaml:2:61: maxEjectionTime: 30s (expected: at least baseEjectionTime 1m)");
        // unwritten, the maximum is raised to the base (Envoy's default; HealthCheckDefaultsTest)
        assertThat(ConfigLoader.parse("proxy:\n  outlierDetection: {baseEjectionTime: 1h}\n", "svcproxy.yaml").proxy()
                .outlierDetection().maxEjectionTime()).isEqualTo(java.time.Duration.ofHours(1));
        assertThat(errors("proxy:\n  outlierDetection: 5\n"))
                .containsExactly("svcproxy.yaml:2:21: outlierDetection: 5 (expected: a map of consecutiveFailures, "
                        + "baseEjectionTime, maxEjectionTime, maxEjectionPercent)");
    }

    @Test
    void rejectsBadProxyLimits() {
        assertThat(errors("""
                proxy:
                  maxConnections: -5
                  connectQueue: 0
                  fdGuard: {pausePercent: 101, resumePercent: 0}
                """)).containsExactly(
                "svcproxy.yaml:2:19: maxConnections: -5 (expected: 0..10000000)",
                "svcproxy.yaml:3:17: connectQueue: 0 (expected: 1..1000000)",
                "svcproxy.yaml:4:27: pausePercent: 101 (expected: 2..100)",
                "svcproxy.yaml:4:47: resumePercent: 0 (expected: 1..99)");
    }

    @Test
    void rejectsAResumeLevelNotBelowThePauseLevel() {
        assertThat(errors("proxy:\n  fdGuard: {pausePercent: 70, resumePercent: 70}\n"))
                .containsExactly("svcproxy.yaml:2:46: resumePercent: 70 (expected: below pausePercent 70)");
        assertThat(errors("proxy:\n  fdGuard: {pausePercnt: 50}\n"))
                .containsExactly("svcproxy.yaml:2:13: unknown key: pausePercnt (did you mean 'pausePercent'?)");
    }

    @Test
    void rejectsBadServiceLimits() {
        assertThat(errors(SERVICE + "    maxConnections: lots\n    maxConnectionsPerClient: -1\n")).containsExactly(
                "svcproxy.yaml:6:21: maxConnections: lots (expected: 0..10000000)",
                "svcproxy.yaml:7:30: maxConnectionsPerClient: -1 (expected: 0..10000000)");
    }

    @Test
    void rejectsBadHealthChecks() {
        assertThat(errors(SERVICE + """
                    healthCheck:
                      interval: 10ms
                      timeout: 2m
                      rise: 0
                      fall: 101
                      path: /healthz
                """)).containsExactly(
                "svcproxy.yaml:7:17: interval: 10ms (expected: 100ms..1h)",
                "svcproxy.yaml:8:16: timeout: 2m (expected: 10ms..1m)",
                "svcproxy.yaml:9:13: rise: 0 (expected: 1..100)",
                "svcproxy.yaml:10:13: fall: 101 (expected: 1..100)",
                "svcproxy.yaml:11:7: unknown key: path (expected: interval, timeout, rise, fall)");
        assertThat(errors(SERVICE + "    healthCheck: {interval: 1s, timeout: 2s}\n")).containsExactly(
                "svcproxy.yaml:6:42: timeout: 2s (expected: at most interval 1s)");
        assertThat(errors(SERVICE + "    healthCheck: [tcp]\n")).containsExactly(
                "svcproxy.yaml:6:18: healthCheck: a list (expected: a map of interval, timeout, rise, fall)");
    }
}
