package io.svcproxy.proxy.dataplane;

import io.svcproxy.config.NodeSettings;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.ServicePortSpec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The addresses a Service port listens on besides its clusterIP: every node address at its nodePort (NodePort and
 * LoadBalancer Services), its externalIPs and LoadBalancer IPs at the Service port. All of them serve the same
 * {@link ServicePort}, so one endpoint list and one scheduler state. Protocol-neutral: TCP and UDP listeners can be
 * bound from the same map.
 */
public final class ServiceAddresses {
    private ServiceAddresses() {
    }

    /**
     * Returns the extra addresses of a Service port with their kind, in a stable order. An address that is also
     * the clusterIP at the same port is left out; one that comes twice is listed once, at its first place, with the
     * first kind (node, external), except that a LoadBalancer IP is always of kind lb: its source ranges apply to
     * it even when it is also an externalIP (as kube-proxy's LoadBalancer rules match the address and port,
     * whatever else lists them). Only the addresses of the clusterIP's family are its: as kube-proxy, whose proxier
     * of each family takes the node addresses, externalIPs and LoadBalancer IPs of its family, each half of a
     * dual-stack Service serves its own family's, and a single-stack Service none of the other family.
     */
    public static Map<InetSocketAddress, AddressKind> of(ServicePortSpec spec, NodeSettings node) {
        Map<InetSocketAddress, AddressKind> out = new LinkedHashMap<>();
        ServiceExposure e = spec.service().exposure();
        InetSocketAddress cluster = new InetSocketAddress(spec.key().clusterIP(), spec.key().port());
        if (e.type().hasNodePorts() && spec.port().nodePort() > 0) {
            for (InetAddress a : node.nodeAddresses()) {
                put(out, new InetSocketAddress(a, spec.port().nodePort()), AddressKind.NODE, cluster);
            }
        }
        for (InetAddress a : e.externalIPs()) {
            put(out, new InetSocketAddress(a, spec.port().port()), AddressKind.EXTERNAL, cluster);
        }
        for (InetAddress a : e.loadBalancerIPs()) {
            put(out, new InetSocketAddress(a, spec.port().port()), AddressKind.LB, cluster);
        }
        return out;
    }

    private static void put(Map<InetSocketAddress, AddressKind> out, InetSocketAddress address, AddressKind kind,
                            InetSocketAddress cluster) {
        if (address.getAddress().getClass() != cluster.getAddress().getClass()) {
            return; // the other family's: the other half of a dual-stack Service serves it
        }
        if (!address.equals(cluster)) {
            out.merge(address, kind, (was, now) -> now == AddressKind.LB ? now : was);
        }
    }
}
