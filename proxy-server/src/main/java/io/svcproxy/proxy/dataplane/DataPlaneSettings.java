package io.svcproxy.proxy.dataplane;

import io.svcproxy.config.OutlierDetection;
import io.svcproxy.config.ProxyLimits;
import io.svcproxy.config.ProxySettings;
import java.time.Duration;

/**
 * The per-connection knobs of the data plane, read once per accepted connection.
 *
 * @param connectTimeoutMillis per attempt to reach one endpoint
 * @param connectAttempts distinct endpoints tried for one client connection
 * @param idleTimeout a connection with no bytes either way this long is closed
 * @param drainTimeout how long connections may outlive their endpoint's removal, or shutdown
 * @param outlierDetection passive ejection of endpoints whose connects fail in a row
 * @param limits the proxy-wide connection limits and the file-descriptor guard
 * @param udp the UDP flow settings
 * @param node the node addresses NodePorts listen on
 */
public record DataPlaneSettings(int connectTimeoutMillis, int connectAttempts, Duration idleTimeout,
                                Duration drainTimeout, OutlierDetection outlierDetection, ProxyLimits limits,
                                io.svcproxy.config.UdpSettings udp, io.svcproxy.config.NodeSettings node) {
    /** Returns the data plane's share of the {@code proxy:} section. */
    public static DataPlaneSettings of(ProxySettings proxy) {
        long millis = Math.max(1, Math.min(Integer.MAX_VALUE, proxy.connectTimeout().toMillis()));
        return new DataPlaneSettings((int) millis, proxy.connectAttempts(), proxy.idleTimeout(),
                proxy.drainTimeout(), proxy.outlierDetection(), proxy.limits(), proxy.udp(), proxy.node());
    }
}
