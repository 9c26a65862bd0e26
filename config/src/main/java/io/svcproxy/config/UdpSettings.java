package io.svcproxy.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The UDP keys of the {@code proxy:} section.
 *
 * @param idleTimeout a UDP flow with no datagram either way this long is forgotten (default 30s); a port's
 *     {@code udpIdleTimeout} overrides it
 * @param maxFlows flows held at once, all Service ports together; beyond it new flows are dropped (default 65536)
 */
public record UdpSettings(Duration idleTimeout, int maxFlows) {
    public UdpSettings {
        Objects.requireNonNull(idleTimeout, "idleTimeout");
    }

    /** The settings of a config without UDP keys. */
    public static UdpSettings defaults() {
        return new UdpSettings(Duration.ofSeconds(30), 65_536);
    }
}
