package io.svcproxy.config;

import java.net.InetAddress;
import java.util.List;

/**
 * What svcproxy knows of the node it runs on ({@code proxy.nodeAddresses}, {@code nodePortRange}, {@code nodeName}).
 *
 * @param nodeAddresses where NodePorts listen; empty for nowhere (default)
 * @param nodePortLow the lowest nodePort allowed, inclusive (default 30000)
 * @param nodePortHigh the highest, inclusive (default 32767)
 * @param nodeName this node, for {@code externalTrafficPolicy: Local}; empty when not set
 */
public record NodeSettings(List<InetAddress> nodeAddresses, int nodePortLow, int nodePortHigh, String nodeName) {
    private static final NodeSettings DEFAULTS = new NodeSettings(List.of(), 30000, 32767, "");

    public NodeSettings {
        nodeAddresses = List.copyOf(nodeAddresses);
        java.util.Objects.requireNonNull(nodeName, "nodeName");
    }

    /** No node address, the Kubernetes default range, no node name. */
    public static NodeSettings defaults() {
        return DEFAULTS;
    }

    /** Returns the range as written in the config file, {@code LOW-HIGH}. */
    public String range() {
        return nodePortLow + "-" + nodePortHigh;
    }
}
