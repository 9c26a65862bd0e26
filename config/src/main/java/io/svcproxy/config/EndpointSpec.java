package io.svcproxy.config;

import java.net.InetAddress;
import java.util.Map;

/**
 * One explicit endpoint of a Service without selector.
 *
 * @param ip the endpoint's address
 * @param port its port for a single-port Service, or 0 to use the numeric targetPort
 * @param ports for a Service with several ports: the endpoint's port by Service port name; empty otherwise
 * @param weight 0..65535 (default 1); 0 takes no new connections
 * @param nodeName the node the endpoint runs on, for {@code externalTrafficPolicy: Local}; empty when not given
 */
public record EndpointSpec(InetAddress ip, int port, Map<String, Integer> ports, int weight, String nodeName) {
    public EndpointSpec {
        ports = Map.copyOf(ports);
        java.util.Objects.requireNonNull(nodeName, "nodeName");
    }

    /** Returns an endpoint of no known node. */
    public EndpointSpec(InetAddress ip, int port, Map<String, Integer> ports, int weight) {
        this(ip, port, ports, weight, "");
    }
}
