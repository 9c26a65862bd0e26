package io.svcproxy.config;

import java.net.InetAddress;
import java.util.List;

/**
 * What svcproxy knows of the node it runs on ({@code proxy.nodeAddresses}, {@code nodePortRange}, {@code nodeName}).
 *
 * @param nodeAddresses where NodePorts listen, the addresses written in {@code nodeAddresses}; with {@code
 *     nodeAddressRanges} empty too, nowhere (default)
 * @param nodePortLow the lowest nodePort allowed, inclusive (default 30000)
 * @param nodePortHigh the highest, inclusive (default 32767)
 * @param nodeName this node, for {@code externalTrafficPolicy: Local}; empty when not set
 * @param nodeAddressRanges the CIDRs written in {@code nodeAddresses}: NodePorts also listen on every address of
 *     this host's interfaces inside one of them (kube-proxy's {@code --nodeport-addresses}), as found when the
 *     config is applied
 */
public record NodeSettings(List<InetAddress> nodeAddresses, int nodePortLow, int nodePortHigh, String nodeName,
                           List<Cidr> nodeAddressRanges) {
    private static final NodeSettings DEFAULTS = new NodeSettings(List.of(), 30000, 32767, "", List.of());

    public NodeSettings {
        nodeAddresses = List.copyOf(nodeAddresses);
        java.util.Objects.requireNonNull(nodeName, "nodeName");
        nodeAddressRanges = List.copyOf(nodeAddressRanges);
    }

    /** These settings with another node name. */
    public NodeSettings withNodeName(String name) {
        return new NodeSettings(nodeAddresses, nodePortLow, nodePortHigh, name, nodeAddressRanges);
    }

    /** Node settings with the given addresses and no CIDR. */
    public NodeSettings(List<InetAddress> nodeAddresses, int nodePortLow, int nodePortHigh, String nodeName) {
        this(nodeAddresses, nodePortLow, nodePortHigh, nodeName, List.of());
    }

    /** No node address, the Kubernetes default range, no node name. */
    public static NodeSettings defaults() {
        return DEFAULTS;
    }

    /*
     * equals and hashCode written out, as the record's own would be (see ServiceKey): the first config's settings
     * are compared on the main thread before the first Service port listens.
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof NodeSettings n && nodePortLow == n.nodePortLow && nodePortHigh == n.nodePortHigh
                && nodeName.equals(n.nodeName) && nodeAddresses.equals(n.nodeAddresses)
                && nodeAddressRanges.equals(n.nodeAddressRanges);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(nodeAddresses, nodePortLow, nodePortHigh, nodeName, nodeAddressRanges);
    }

    /** Returns the range as written in the config file, {@code LOW-HIGH}. */
    public String range() {
        return nodePortLow + "-" + nodePortHigh;
    }
}
