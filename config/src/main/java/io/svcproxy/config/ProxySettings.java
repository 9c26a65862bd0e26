package io.svcproxy.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code proxy:} section.
 *
 * @param scheduler the default scheduler, {@code rr} unless set
 * @param admin the admin HTTP listener, {@code 127.0.0.1:9901} by default; {@code null} when disabled
 * @param connectTimeout per attempt to reach one endpoint (default 2s)
 * @param connectAttempts distinct endpoints tried for one client connection (default 3)
 * @param idleTimeout a proxied connection with no bytes either way this long is closed (default 1h)
 * @param drainTimeout how long connections may outlive their endpoint's removal, or shutdown (default 30s)
 * @param vipInterface the interface that holds ClusterIPs; empty for none
 * @param outlierDetection passive ejection of failing endpoints
 * @param limits the proxy-wide connection limits and the file-descriptor guard
 * @param udp the UDP flow settings
 * @param node the node addresses, nodePort range and node name
 * @param ingress the Ingress listeners, IngressClass and response timeout
 * @param connectionLog the file that gets one JSON line per ended connection or UDP flow; {@code null} when off
 * @param transport the socket transport of the TCP data plane ({@code auto} unless set); read at start only
 */
public record ProxySettings(String scheduler, InetSocketAddress admin, Duration connectTimeout,
                            int connectAttempts, Duration idleTimeout, Duration drainTimeout,
                            String vipInterface, OutlierDetection outlierDetection, ProxyLimits limits,
                            UdpSettings udp, NodeSettings node, IngressSettings ingress,
                            Path connectionLog, TransportChoice transport) {
    public ProxySettings {
        java.util.Objects.requireNonNull(ingress, "ingress");
        java.util.Objects.requireNonNull(transport, "transport");
        java.util.Objects.requireNonNull(outlierDetection, "outlierDetection");
        java.util.Objects.requireNonNull(limits, "limits");
        java.util.Objects.requireNonNull(udp, "udp");
        java.util.Objects.requireNonNull(node, "node");
    }

    /** Returns settings with the default transport ({@code auto}). */
    public ProxySettings(String scheduler, InetSocketAddress admin, Duration connectTimeout, int connectAttempts,
                         Duration idleTimeout, Duration drainTimeout, String vipInterface,
                         OutlierDetection outlierDetection, ProxyLimits limits, UdpSettings udp, NodeSettings node,
                         IngressSettings ingress, Path connectionLog) {
        this(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout, vipInterface,
                outlierDetection, limits, udp, node, ingress, connectionLog, TransportChoice.AUTO);
    }

    /** Returns settings without Ingress listeners. */
    public ProxySettings(String scheduler, InetSocketAddress admin, Duration connectTimeout, int connectAttempts,
                         Duration idleTimeout, Duration drainTimeout, String vipInterface,
                         OutlierDetection outlierDetection, ProxyLimits limits, UdpSettings udp, NodeSettings node) {
        this(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout, vipInterface,
                outlierDetection, limits, udp, node, IngressSettings.defaults());
    }

    /** Returns settings with the default node settings. */
    public ProxySettings(String scheduler, InetSocketAddress admin, Duration connectTimeout, int connectAttempts,
                         Duration idleTimeout, Duration drainTimeout, String vipInterface,
                         OutlierDetection outlierDetection, ProxyLimits limits, UdpSettings udp) {
        this(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout, vipInterface,
                outlierDetection, limits, udp, NodeSettings.defaults());
    }

    /** Returns settings without a connection log. */
    public ProxySettings(String scheduler, InetSocketAddress admin, Duration connectTimeout, int connectAttempts,
                         Duration idleTimeout, Duration drainTimeout, String vipInterface,
                         OutlierDetection outlierDetection, ProxyLimits limits, UdpSettings udp, NodeSettings node,
                         IngressSettings ingress) {
        this(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout, vipInterface,
                outlierDetection, limits, udp, node, ingress, null);
    }

    /** Returns these settings with {@code connectionLog} ({@code null}: off). */
    public ProxySettings withConnectionLog(Path connectionLog) {
        return new ProxySettings(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout,
                vipInterface, outlierDetection, limits, udp, node, ingress, connectionLog, transport);
    }

    /** Returns these settings with {@code transport}. */
    public ProxySettings withTransport(TransportChoice transport) {
        return new ProxySettings(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout,
                vipInterface, outlierDetection, limits, udp, node, ingress, connectionLog, transport);
    }

    /** Returns settings with the default UDP settings. */
    public ProxySettings(String scheduler, InetSocketAddress admin, Duration connectTimeout, int connectAttempts,
                         Duration idleTimeout, Duration drainTimeout, String vipInterface,
                         OutlierDetection outlierDetection, ProxyLimits limits) {
        this(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout, vipInterface,
                outlierDetection, limits, UdpSettings.defaults());
    }

    /** Returns settings with the default outlier detection and limits. */
    public ProxySettings(String scheduler, InetSocketAddress admin, Duration connectTimeout, int connectAttempts,
                         Duration idleTimeout, Duration drainTimeout, String vipInterface) {
        this(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout, vipInterface,
                OutlierDetection.defaults(), ProxyLimits.defaults());
    }

    /**
     * svcproxy's listeners besides its Service ports (the admin server, the Ingress's), by address, with the key
     * that sets each: a Service port at the address and port of one could not be bound. One bound to every address
     * shares its port with the Service ports there, each of which takes the connections to its own address (as
     * kube-proxy's rules take them before a process listening on every address of the node).
     */
    public Map<InetSocketAddress, String> ownListeners() {
        Map<InetSocketAddress, String> own = new LinkedHashMap<>();
        if (admin != null) {
            own.put(admin, "proxy.admin");
        }
        if (ingress != null && ingress.http() != null) {
            own.put(ingress.http(), "proxy.ingress.http");
        }
        if (ingress != null && ingress.https() != null) {
            own.put(ingress.https(), "proxy.ingress.https");
        }
        return own;
    }

    /**
     * Which of {@link #ownListeners()} is bound at the address and port of a TCP Service port at {@code key}, as its
     * key and address ({@code proxy.admin 127.0.0.1:9901}), or {@code null} when none is. One bound to every address
     * at that port is not: the Service port listens at its own address beside it (SO_REUSEPORT) and takes the
     * connections to that address.
     */
    public String listenerTaking(ServiceKey key) {
        return listenerTaking(ownListeners(), key);
    }

    /** As {@link #listenerTaking(ServiceKey)}, among {@code own} ({@link #ownListeners()}, made once by a caller). */
    public static String listenerTaking(Map<InetSocketAddress, String> own, ServiceKey key) {
        if (key.protocol() != Protocol.TCP) {
            return null;
        }
        for (Map.Entry<InetSocketAddress, String> e : own.entrySet()) {
            InetSocketAddress a = e.getKey();
            if (a.getPort() == key.port() && key.clusterIP().equals(a.getAddress())) {
                return e.getValue() + " " + Addresses.format(a.getAddress(), a.getPort());
            }
        }
        return null;
    }

    /** The settings of a config without a {@code proxy:} section. */
    public static ProxySettings defaults() {
        return new ProxySettings("rr", new InetSocketAddress("127.0.0.1", 9901), Duration.ofSeconds(2), 3,
                Duration.ofHours(1), Duration.ofSeconds(30), "");
    }
}
