package io.svcproxy.config;

import java.time.Duration;

/**
 * A Service's {@code healthCheck:} active TCP checks: every {@code interval} svcproxy connects to each endpoint
 * and closes at once; an endpoint turns unhealthy after {@code fall} failed checks in a row and healthy again
 * after {@code rise} good ones (HAProxy's {@code inter}, {@code rise}, {@code fall}).
 *
 * @param interval between two checks of one endpoint (default 5s)
 * @param timeout for one check's connect (default 1s, or the interval when that is shorter)
 * @param rise good checks in a row that make an unhealthy endpoint healthy (default 2)
 * @param fall failed checks in a row that make an endpoint unhealthy (default 3)
 */
public record HealthCheckSpec(Duration interval, Duration timeout, int rise, int fall) {
    /** The defaults: every 5s, 1s timeout, rise 2, fall 3. */
    public static HealthCheckSpec defaults() {
        return new HealthCheckSpec(Duration.ofSeconds(5), Duration.ofSeconds(1), 2, 3);
    }
}
