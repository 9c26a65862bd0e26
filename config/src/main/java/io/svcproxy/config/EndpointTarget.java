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
 */
public record EndpointTarget(InetAddress ip, int port, int weight, boolean ready, boolean serving,
                             boolean terminating) {
    /** Returns a ready, serving, not terminating endpoint. */
    public static EndpointTarget ready(InetAddress ip, int port, int weight) {
        return new EndpointTarget(ip, port, weight, true, true, false);
    }
}
