package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * From helper-98's review: a key set alone, inside its documented range, must not be rejected because of another key's default
 * that the user never wrote.
 */
class HealthCheckDefaultsTest {
    private static final String SERVICE = """
            services:
              - name: web
                clusterIP: 127.0.10.200
                ports: [{port: 46080}]
                endpoints: [{ip: 127.0.0.200}]
            """;

    /**
     * {@code interval} is documented as 100ms..1h; with only {@code interval: 500ms} written, the default
     * {@code timeout} (1s) is over it and the config is rejected with "timeout: 1s (expected: at most interval
     * 500ms)". HAProxy uses {@code inter} as the check timeout when {@code timeout check} is not set; the default
     * timeout should be min(1s, interval).
     */
    @Test
    void aShortIntervalAloneIsAcceptedWithTheTimeoutCappedAtTheInterval() {
        ProxyConfig config = parse(SERVICE + "    healthCheck: {interval: 500ms}\n");
        HealthCheckSpec hc = config.services().get(0).healthCheck();
        assertThat(hc.interval()).isEqualTo(Duration.ofMillis(500));
        assertThat(hc.timeout()).isLessThanOrEqualTo(Duration.ofMillis(500));
    }

    /**
     * {@code baseEjectionTime} is documented as 100ms..24h; with only {@code baseEjectionTime: 10m} written, the
     * default {@code maxEjectionTime} (5m) is below it and the config is rejected with "maxEjectionTime: 5m
     * (expected: at least baseEjectionTime 10m)". Envoy's max_ejection_time defaults to "300s or base_ejection_time,
     * whichever is larger".
     */
    @Test
    void aLongBaseEjectionTimeAloneIsAcceptedWithTheMaximumRaisedToIt() {
        ProxyConfig config = parse("proxy: {outlierDetection: {baseEjectionTime: 10m}}\n" + SERVICE);
        OutlierDetection o = config.proxy().outlierDetection();
        assertThat(o.baseEjectionTime()).isEqualTo(Duration.ofMinutes(10));
        assertThat(o.maxEjectionTime()).isGreaterThanOrEqualTo(Duration.ofMinutes(10));
    }
}
