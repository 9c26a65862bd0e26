package io.svcproxy.config;

import java.time.Duration;

/**
 * The {@code proxy.outlierDetection} section: passive ejection of endpoints whose connects fail in a row (Envoy's
 * {@code consecutive_gateway_failure}, HAProxy's {@code observe layer4} with {@code error-limit}).
 *
 * @param consecutiveFailures failed connects in a row that eject an endpoint (default 5); 0 turns it off
 * @param baseEjectionTime how long the first ejection lasts (default 10s); each ejection in a row doubles it
 * @param maxEjectionTime the longest ejection (default 5m)
 * @param maxEjectionPercent the largest share of a Service port's endpoints ejected at once, 0..100 (default 100;
 *                           Envoy's {@code max_ejection_percent}): one may always be ejected, whatever the share
 */
public record OutlierDetection(int consecutiveFailures, Duration baseEjectionTime, Duration maxEjectionTime,
                               int maxEjectionPercent) {
    /** The defaults: 5 failures in a row, 10s doubling up to 5m, no share limit. */
    public static OutlierDetection defaults() {
        return new OutlierDetection(5, Duration.ofSeconds(10), Duration.ofMinutes(5), 100);
    }

    /** The settings with the default share limit (100%). */
    public OutlierDetection(int consecutiveFailures, Duration baseEjectionTime, Duration maxEjectionTime) {
        this(consecutiveFailures, baseEjectionTime, maxEjectionTime, 100);
    }

    /**
     * Returns whether one more endpoint may be ejected while {@code ejected} of the port's {@code endpoints} are:
     * always when none is, else while the share with it stays within {@link #maxEjectionPercent} (as Envoy).
     */
    public boolean mayEjectAnother(int ejected, int endpoints) {
        return ejected == 0 || 100L * (ejected + 1) <= (long) maxEjectionPercent * endpoints;
    }

    /** Returns whether passive ejection is on. */
    public boolean enabled() {
        return consecutiveFailures > 0;
    }
}
