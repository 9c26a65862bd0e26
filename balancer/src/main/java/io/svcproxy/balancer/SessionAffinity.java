package io.svcproxy.balancer;

import java.time.Duration;
import java.util.Objects;

/**
 * A Service's session affinity: {@code None}, or {@code ClientIP} with the time a client keeps its endpoint
 * after its last connection (Kubernetes' default 10800 s).
 *
 * @param clientIp whether affinity is {@code ClientIP}
 * @param timeout how long after its last connection a client keeps its endpoint
 */
public record SessionAffinity(boolean clientIp, Duration timeout) {
    /** Kubernetes' default {@code sessionAffinityConfig.clientIP.timeoutSeconds}. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10800);

    /** No affinity. */
    public static final SessionAffinity NONE = new SessionAffinity(false, DEFAULT_TIMEOUT);

    public SessionAffinity {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
        }
    }

    /** Returns ClientIP affinity with the given timeout. */
    public static SessionAffinity clientIp(Duration timeout) {
        return new SessionAffinity(true, timeout);
    }

    /** Returns the Kubernetes name: {@code None} or {@code ClientIP}. */
    public String label() {
        return clientIp ? "ClientIP" : "None";
    }
}
