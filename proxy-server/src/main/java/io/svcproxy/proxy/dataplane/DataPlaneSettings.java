package io.svcproxy.proxy.dataplane;

import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.NodeSettings;
import io.svcproxy.config.OutlierDetection;
import io.svcproxy.config.ProxyLimits;
import io.svcproxy.config.ProxyConfig;
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
 * @param node the node addresses NodePorts listen on, and this node's name as resolved by {@link #of}
 */
public record DataPlaneSettings(int connectTimeoutMillis, int connectAttempts, Duration idleTimeout,
                                Duration drainTimeout, OutlierDetection outlierDetection, ProxyLimits limits,
                                io.svcproxy.config.UdpSettings udp, NodeSettings node) {
    /**
     * Returns the data plane's share of a config. This node's name (for {@code externalTrafficPolicy: Local}) is
     * {@code proxy.nodeName}, else {@code registry.kubernetes.nodeName}, else the environment's {@code NODE_NAME}
     * (the downward API's {@code spec.nodeName}), else empty: then no endpoint is local.
     */
    public static DataPlaneSettings of(ProxyConfig config) {
        return of(config, System.getenv("NODE_NAME"));
    }

    static DataPlaneSettings of(ProxyConfig config, String nodeNameEnv) {
        ProxySettings proxy = config.proxy();
        long millis = Math.max(1, Math.min(Integer.MAX_VALUE, proxy.connectTimeout().toMillis()));
        NodeSettings node = proxy.node();
        String nodeName = node.nodeName();
        KubernetesSettings kubernetes = config.registry().kubernetes();
        if (nodeName.isEmpty() && kubernetes != null && kubernetes.nodeName() != null) {
            nodeName = kubernetes.nodeName();
        }
        if (nodeName.isEmpty() && nodeNameEnv != null) {
            nodeName = nodeNameEnv;
        }
        return new DataPlaneSettings((int) millis, proxy.connectAttempts(), proxy.idleTimeout(),
                proxy.drainTimeout(), proxy.outlierDetection(), proxy.limits(), proxy.udp(),
                new NodeSettings(node.nodeAddresses(), node.nodePortLow(), node.nodePortHigh(), nodeName));
    }
}
