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
 * @param bypassed a ready endpoint (not {@code ready} here) that this node's traffic leaves out: topology hints send
 *     it another zone's or node's connections, or every address of the Service port is under a {@code Local} policy
 *     and it runs on another node. It is still a ready Pod of the Service: its established connections go on with
 *     no drain deadline, listed with weight 0 while they last (kube-proxy's IPVS mode quiesces such a real server and
 *     deletes it once its connections ended; its iptables and nftables modes leave the established conntrack
 *     entries), where an endpoint that left the Service has them cut at {@code drainTimeout}
 */
public record EndpointTarget(InetAddress ip, int port, int weight, boolean ready, boolean serving,
                             boolean terminating, String nodeName, boolean localOnly, boolean readyCondition,
                             boolean bypassed) {
    public EndpointTarget {
        java.util.Objects.requireNonNull(nodeName, "nodeName");
        if (bypassed && (ready || terminating)) {
            throw new IllegalArgumentException("a bypassed endpoint is neither ready here nor terminating");
        }
    }

    /** Returns an endpoint whose ready condition is {@code readyCondition}, not {@link #bypassed}. */
    public EndpointTarget(InetAddress ip, int port, int weight, boolean ready, boolean serving, boolean terminating,
                          String nodeName, boolean localOnly, boolean readyCondition) {
        this(ip, port, weight, ready, serving, terminating, nodeName, localOnly, readyCondition, false);
    }

    /**
     * Whether the endpoint is listed as not ready ({@code svcproxy_endpoints}' {@code not_ready}, the admin API):
     * not ready here, and not {@link #bypassed} (a ready Pod, only left out of this node's picks).
     */
    public boolean notReady() {
        return !ready && !bypassed;
    }

    /** Returns a ready endpoint this node's traffic leaves out ({@link #bypassed}). */
    public static EndpointTarget bypassed(InetAddress ip, int port, boolean serving, String nodeName) {
        return new EndpointTarget(ip, port, 1, false, serving, false, nodeName, false, true, true);
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
