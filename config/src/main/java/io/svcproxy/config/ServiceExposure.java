package io.svcproxy.config;

import java.net.InetAddress;
import java.util.List;

/**
 * Where a Service is reachable besides its clusterIP, and who may reach it there.
 *
 * @param type ClusterIP, NodePort or LoadBalancer
 * @param externalIPs also served on these addresses at the Service ports
 * @param loadBalancerIPs type LoadBalancer: the ingress IPs, served at the Service ports
 * @param loadBalancerSourceRanges on the LoadBalancer IPs only clients inside one of these; empty admits all
 * @param externalTrafficPolicy which endpoints serve node, external and LoadBalancer addresses
 * @param internalTrafficPolicy which endpoints serve the clusterIP (Kubernetes' {@code internalTrafficPolicy})
 * @param healthCheckNodePort type LoadBalancer with externalTrafficPolicy Local: the node port where a load
 *                            balancer asks whether this node has a ready endpoint of the Service; 0 when none
 */
public record ServiceExposure(ServiceType type, List<InetAddress> externalIPs, List<InetAddress> loadBalancerIPs,
                              List<Cidr> loadBalancerSourceRanges, TrafficPolicy externalTrafficPolicy,
                              TrafficPolicy internalTrafficPolicy, int healthCheckNodePort) {
    private static final ServiceExposure CLUSTER_IP = new ServiceExposure(ServiceType.CLUSTER_IP, List.of(),
            List.of(), List.of(), TrafficPolicy.CLUSTER);

    public ServiceExposure {
        if (healthCheckNodePort < 0 || healthCheckNodePort > 65535) {
            throw new IllegalArgumentException("healthCheckNodePort " + healthCheckNodePort);
        }
        java.util.Objects.requireNonNull(type, "type");
        java.util.Objects.requireNonNull(externalTrafficPolicy, "externalTrafficPolicy");
        java.util.Objects.requireNonNull(internalTrafficPolicy, "internalTrafficPolicy");
        externalIPs = List.copyOf(externalIPs);
        loadBalancerIPs = List.copyOf(loadBalancerIPs);
        loadBalancerSourceRanges = List.copyOf(loadBalancerSourceRanges);
    }

    /** The exposure of a Service without healthCheckNodePort. */
    public ServiceExposure(ServiceType type, List<InetAddress> externalIPs, List<InetAddress> loadBalancerIPs,
                           List<Cidr> loadBalancerSourceRanges, TrafficPolicy externalTrafficPolicy,
                           TrafficPolicy internalTrafficPolicy) {
        this(type, externalIPs, loadBalancerIPs, loadBalancerSourceRanges, externalTrafficPolicy,
                internalTrafficPolicy, 0);
    }

    /** The exposure of a Service whose clusterIP uses every endpoint (internalTrafficPolicy Cluster). */
    public ServiceExposure(ServiceType type, List<InetAddress> externalIPs, List<InetAddress> loadBalancerIPs,
                           List<Cidr> loadBalancerSourceRanges, TrafficPolicy externalTrafficPolicy) {
        this(type, externalIPs, loadBalancerIPs, loadBalancerSourceRanges, externalTrafficPolicy,
                TrafficPolicy.CLUSTER);
    }

    /** Whether the Service is reached from outside the cluster: node ports, externalIPs or LoadBalancer IPs. */
    public boolean externallyAccessible() {
        return type.hasNodePorts() || !externalIPs.isEmpty() || !loadBalancerIPs.isEmpty();
    }

    /** A ClusterIP Service with no other address. */
    public static ServiceExposure clusterIP() {
        return CLUSTER_IP;
    }

    /**
     * Returns whether a client may connect on a LoadBalancer IP. As kube-proxy, the ranges of the client's family
     * apply (a LoadBalancer IP is served by the Service's half of its own family, so the client's family is the
     * address's): none of that family, or a zero-length one ({@code 0.0.0.0/0}, {@code ::/0}), admits everyone.
     */
    public boolean admitsOnLoadBalancer(InetAddress client) {
        return admitsOnLoadBalancer(client, List.of());
    }

    /**
     * As {@link #admitsOnLoadBalancer(InetAddress)}, on a node of {@code nodeAddresses}: when a range of the client's
     * family holds a node address, a client whose address is one of the Service's LoadBalancer IPs is admitted too,
     * as kube-proxy's {@code allowFromNode} does (a LoadBalancer IP added to the node, as {@code vipInterface} adds
     * it, is the source of a connection from the node to it).
     */
    public boolean admitsOnLoadBalancer(InetAddress client, List<InetAddress> nodeAddresses) {
        boolean any = false;
        boolean allowFromNode = false;
        for (Cidr c : loadBalancerSourceRanges) {
            if (c.network().getClass() != client.getClass()) {
                continue;
            }
            if (c.prefix() == 0 || c.contains(client)) {
                return true;
            }
            any = true;
            for (InetAddress node : nodeAddresses) {
                allowFromNode |= node.getClass() == client.getClass() && c.contains(node);
            }
        }
        return !any || allowFromNode && loadBalancerIPs.contains(client);
    }
}
