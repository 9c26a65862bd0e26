package io.svcproxy.proxy.dataplane;

import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.NodeSettings;
import io.svcproxy.config.OutlierDetection;
import io.svcproxy.config.ProxyLimits;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ProxySettings;
import io.svcproxy.config.source.KubernetesSource;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

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
     * (the downward API's {@code spec.nodeName}), else empty: then no endpoint is local. The node addresses are
     * those written in {@code proxy.nodeAddresses} and, for each CIDR written there, this host's interface
     * addresses inside it, as they are now.
     */
    public static DataPlaneSettings of(ProxyConfig config) {
        return of(config, KubernetesSource.nodeNameFromEnvironment(System.getenv(KubernetesSource.NODE_NAME_ENV)),
                DataPlaneSettings::hostAddresses);
    }

    /** These settings with another node name (one fixed at start, while the Kubernetes mapping uses it). */
    public DataPlaneSettings withNodeName(String name) {
        return new DataPlaneSettings(connectTimeoutMillis, connectAttempts, idleTimeout, drainTimeout,
                outlierDetection, limits, udp, node.withNodeName(name));
    }

    static DataPlaneSettings of(ProxyConfig config, String nodeNameEnv, Supplier<List<InetAddress>> hostAddresses) {
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
        Set<InetAddress> addresses = new LinkedHashSet<>(node.nodeAddresses());
        if (!node.nodeAddressRanges().isEmpty()) {
            for (InetAddress a : hostAddresses.get()) {
                if (node.nodeAddressRanges().stream().anyMatch(c -> c.contains(a))) {
                    addresses.add(a);
                }
            }
        }
        return new DataPlaneSettings((int) millis, proxy.connectAttempts(), proxy.idleTimeout(),
                proxy.drainTimeout(), proxy.outlierDetection(), proxy.limits(), proxy.udp(),
                new NodeSettings(List.copyOf(addresses), node.nodePortLow(), node.nodePortHigh(), nodeName,
                        node.nodeAddressRanges()));
    }

    /** Returns the addresses of this host's interfaces that are up, in interface order; IPv6 without scope. */
    static List<InetAddress> hostAddresses() {
        List<InetAddress> out = new ArrayList<>();
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nic.isUp()) {
                    continue;
                }
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    if (a instanceof Inet6Address six && six.isLinkLocalAddress()) {
                        continue; // fe80::/10 needs a scope to bind; kube-proxy skips it too
                    }
                    out.add(a);
                }
            }
        } catch (SocketException e) {
            throw new UncheckedIOException("Cannot list this host's network interfaces for proxy.nodeAddresses", e);
        }
        return out;
    }
}
