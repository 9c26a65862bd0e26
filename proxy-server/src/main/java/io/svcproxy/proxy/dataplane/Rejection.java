package io.svcproxy.proxy.dataplane;

import java.util.Locale;

/** Why a client connection was closed at once, before any endpoint was tried: the {@code reason} label. */
public enum Rejection {
    /** The Service port's {@code maxConnections}, or the proxy's {@code proxy.maxConnections}, is reached. */
    MAX_CONNECTIONS,
    /** The client address already has the Service's {@code maxConnectionsPerClient} open on this port. */
    MAX_CONNECTIONS_PER_CLIENT,
    /** {@code proxy.connectQueue} connects to endpoints are already in progress. */
    CONNECT_QUEUE,
    /** The process is near its file-descriptor limit: accepted in the moment before accepting paused. */
    FD_LIMIT,
    /** A client outside the Service's {@code loadBalancerSourceRanges}, on a LoadBalancer IP. */
    SOURCE_RANGE,
    /** {@code externalTrafficPolicy: Local} on a node, external or LoadBalancer address, and no endpoint is local. */
    NO_LOCAL_ENDPOINT;

    /** Returns the metric label, as {@code max_connections}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
