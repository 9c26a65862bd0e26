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
 */
public record ServiceExposure(ServiceType type, List<InetAddress> externalIPs, List<InetAddress> loadBalancerIPs,
                              List<Cidr> loadBalancerSourceRanges, TrafficPolicy externalTrafficPolicy) {
    private static final ServiceExposure CLUSTER_IP = new ServiceExposure(ServiceType.CLUSTER_IP, List.of(),
            List.of(), List.of(), TrafficPolicy.CLUSTER);

    public ServiceExposure {
        java.util.Objects.requireNonNull(type, "type");
        java.util.Objects.requireNonNull(externalTrafficPolicy, "externalTrafficPolicy");
        externalIPs = List.copyOf(externalIPs);
        loadBalancerIPs = List.copyOf(loadBalancerIPs);
        loadBalancerSourceRanges = List.copyOf(loadBalancerSourceRanges);
    }

    /** A ClusterIP Service with no other address. */
    public static ServiceExposure clusterIP() {
        return CLUSTER_IP;
    }

    /** Returns whether a client may connect on a LoadBalancer IP. */
    public boolean admitsOnLoadBalancer(InetAddress client) {
        if (loadBalancerSourceRanges.isEmpty()) {
            return true;
        }
        for (Cidr c : loadBalancerSourceRanges) {
            if (c.contains(client)) {
                return true;
            }
        }
        return false;
    }
}
