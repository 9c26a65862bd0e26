package io.svcproxy.config;

import java.net.InetAddress;

/**
 * One endpoint of a Service port as the desired state names it, with the conditions of a Kubernetes
 * EndpointSlice endpoint.
 *
 * @param ip the endpoint's address
 * @param port the resolved target port
 * @param weight 0..65535
 * @param ready ready to take new connections
 * @param serving serving, whether or not terminating (a ready endpoint is serving)
 * @param terminating being shut down
 * @param nodeName the node it runs on (for {@code externalTrafficPolicy: Local}); empty when not known
 * @param localOnly only traffic under a {@code Local} policy may use it: this node's endpoint that kube-proxy's
 *     Local policy takes and its Cluster policy does not (left out by topology hints, or serving and terminating
 *     while other nodes have ready ones), on a Service port whose other traffic uses the Cluster policy
 * @param readyCondition the source's own ready condition (an EndpointSlice endpoint's {@code conditions.ready},
 *     kube-proxy's {@code IsReady}), which {@code ready} is not for a serving, terminating endpoint taken as the
 *     fallback (ready to take connections, not ready by its condition); and which a terminating endpoint can have
 *     (a Service that publishes not-ready addresses): what a {@code healthCheckNodePort} counts
 */
public record EndpointTarget(InetAddress ip, int port, int weight, boolean ready, boolean serving,
                             boolean terminating, String nodeName, boolean localOnly, boolean readyCondition) {
    public EndpointTarget {
        java.util.Objects.requireNonNull(nodeName, "nodeName");
    }

    /** Returns an endpoint whose ready condition is {@code ready}. */
    public EndpointTarget(InetAddress ip, int port, int weight, boolean ready, boolean serving, boolean terminating,
                          String nodeName, boolean localOnly) {
        this(ip, port, weight, ready, serving, terminating, nodeName, localOnly, ready);
    }

    /** Returns an endpoint any traffic may use. */
    public EndpointTarget(InetAddress ip, int port, int weight, boolean ready, boolean serving, boolean terminating,
                          String nodeName) {
        this(ip, port, weight, ready, serving, terminating, nodeName, false);
    }

    /** Returns an endpoint of no known node. */
    public EndpointTarget(InetAddress ip, int port, int weight, boolean ready, boolean serving, boolean terminating) {
        this(ip, port, weight, ready, serving, terminating, "");
    }

    /** Returns a ready, serving, not terminating endpoint. */
    public static EndpointTarget ready(InetAddress ip, int port, int weight) {
        return new EndpointTarget(ip, port, weight, true, true, false);
    }

    /** Returns a ready, serving, not terminating endpoint on a node ({@code ""} for unknown). */
    public static EndpointTarget ready(InetAddress ip, int port, int weight, String nodeName) {
        return new EndpointTarget(ip, port, weight, true, true, false, nodeName);
    }
}
