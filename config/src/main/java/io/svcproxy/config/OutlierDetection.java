package io.svcproxy.config;

import java.time.Duration;

/**
 * The {@code proxy.outlierDetection} section: passive ejection of endpoints whose connects fail in a row (Envoy's
 * {@code consecutive_gateway_failure}, HAProxy's {@code observe layer4} with {@code error-limit}).
 *
 * @param consecutiveFailures failed connects in a row that eject an endpoint (default 5); 0 turns it off
 * @param baseEjectionTime how long the first ejection lasts (default 10s); each ejection in a row doubles it
 * @param maxEjectionTime the longest ejection (default 5m)
 */
public record OutlierDetection(int consecutiveFailures, Duration baseEjectionTime, Duration maxEjectionTime) {
    /** The defaults: 5 failures in a row, 10s doubling up to 5m. */
    public static OutlierDetection defaults() {
        return new OutlierDetection(5, Duration.ofSeconds(10), Duration.ofMinutes(5));
    }

    /** Returns whether passive ejection is on. */
    public boolean enabled() {
        return consecutiveFailures > 0;
    }
}
