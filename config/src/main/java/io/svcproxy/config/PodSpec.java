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
 * @param ports its container ports by name, with their protocol (unnamed ones are not listed: only names resolve
 *     a targetPort, and Kubernetes matches a named targetPort by name and protocol)
 * @param nodeName the node it runs on, for {@code externalTrafficPolicy: Local}; empty when not given
 */
public record PodSpec(String name, String namespace, InetAddress ip, Map<String, String> labels, boolean ready,
                      int weight, Map<String, ContainerPort> ports, String nodeName) {
    public PodSpec {
        labels = Map.copyOf(labels);
        ports = Map.copyOf(ports);
        java.util.Objects.requireNonNull(nodeName, "nodeName");
    }

    /** Returns a Pod of no known node. */
    public PodSpec(String name, String namespace, InetAddress ip, Map<String, String> labels, boolean ready,
                   int weight, Map<String, ContainerPort> ports) {
        this(name, namespace, ip, labels, ready, weight, ports, "");
    }

    /** A named container port: its number and protocol. */
    public record ContainerPort(int port, Protocol protocol) {
    }

    /** Returns the number of the container port {@code name} of {@code protocol}, or {@code null} if it has none. */
    public Integer port(String name, Protocol protocol) {
        ContainerPort p = ports.get(name);
        return p != null && p.protocol() == protocol ? p.port() : null;
    }
}
