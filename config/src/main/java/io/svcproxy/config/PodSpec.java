package io.svcproxy.config;

import java.net.InetAddress;
import java.util.Map;

/**
 * One Pod of the registry.
 *
 * @param name the Pod name
 * @param namespace its namespace ({@code default} unless set)
 * @param ip its address
 * @param labels its labels
 * @param ready whether it takes new connections (default true)
 * @param weight its weight, 0..65535 (default 1)
 * @param ports its container ports by name (unnamed ones are not listed: only names resolve a targetPort)
 * @param nodeName the node it runs on, for {@code externalTrafficPolicy: Local}; empty when not given
 */
public record PodSpec(String name, String namespace, InetAddress ip, Map<String, String> labels, boolean ready,
                      int weight, Map<String, Integer> ports, String nodeName) {
    public PodSpec {
        labels = Map.copyOf(labels);
        ports = Map.copyOf(ports);
        java.util.Objects.requireNonNull(nodeName, "nodeName");
    }

    /** Returns a Pod of no known node. */
    public PodSpec(String name, String namespace, InetAddress ip, Map<String, String> labels, boolean ready,
                   int weight, Map<String, Integer> ports) {
        this(name, namespace, ip, labels, ready, weight, ports, "");
    }
}
