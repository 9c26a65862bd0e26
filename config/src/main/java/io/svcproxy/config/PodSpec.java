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
 */
public record PodSpec(String name, String namespace, InetAddress ip, Map<String, String> labels, boolean ready,
                      int weight, Map<String, Integer> ports) {
    public PodSpec {
        labels = Map.copyOf(labels);
        ports = Map.copyOf(ports);
    }
}
