package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.Service;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.Cidr;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.ServiceType;
import io.svcproxy.config.TrafficPolicy;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Kubernetes Service's addresses besides its clusterIPs: {@code spec.type}, {@code spec.externalIPs},
 * {@code status.loadBalancer.ingress[].ip} (of {@code ipMode} VIP, the default),
 * {@code spec.loadBalancerSourceRanges}, {@code spec.externalTrafficPolicy}, {@code spec.internalTrafficPolicy} and
 * {@code spec.healthCheckNodePort}.
 * The API server validated them; a value that still does not parse is left out with one log line, as a bad
 * clusterIP is.
 */
final class KubernetesExposure {
    private static final Logger log = LoggerFactory.getLogger(KubernetesExposure.class);

    private KubernetesExposure() {
    }

    /** Returns the exposure of a ClusterIP, NodePort or LoadBalancer Service (other types are not mapped). */
    static ServiceExposure of(Service service, String qualified) {
        io.fabric8.kubernetes.api.model.ServiceSpec spec = service.getSpec();
        ServiceType type = spec.getType() == null ? ServiceType.CLUSTER_IP : ServiceType.of(spec.getType());
        if (type == null) {
            type = ServiceType.CLUSTER_IP;
        }
        List<InetAddress> external = ips(spec.getExternalIPs(), qualified, "externalIP");
        List<InetAddress> lb = List.of();
        List<Cidr> ranges = new ArrayList<>();
        if (type == ServiceType.LOAD_BALANCER) {
            List<String> ingress = new ArrayList<>();
            if (service.getStatus() != null && service.getStatus().getLoadBalancer() != null
                    && service.getStatus().getLoadBalancer().getIngress() != null) {
                for (LoadBalancerIngress i : service.getStatus().getLoadBalancer().getIngress()) {
                    // a hostname-only ingress has no address to serve; one of ipMode Proxy is the load balancer's
                    // own address, which sends on to the node addresses: as kube-proxy, not served (only the
                    // default, VIP, is)
                    if (i != null && i.getIp() != null && !i.getIp().isEmpty() && !"Proxy".equals(i.getIpMode())) {
                        ingress.add(i.getIp());
                    }
                }
            }
            lb = ips(ingress, qualified, "loadBalancer ingress ip");
            if (spec.getLoadBalancerSourceRanges() != null) {
                for (String r : spec.getLoadBalancerSourceRanges()) {
                    try {
                        // as kube-proxy: host bits name their network, they are not an error (a range left out
                        // here narrows the LoadBalancer, and all of them left out would open it to everyone)
                        ranges.add(Cidr.parseNetworkSloppy(r.trim()));
                    } catch (IllegalArgumentException | NullPointerException e) {
                        log.warn("Skipping bad loadBalancerSourceRange service={} range={}", qualified, r);
                    }
                }
                if (ranges.isEmpty() && !spec.getLoadBalancerSourceRanges().isEmpty()) {
                    // ranges were asked for and none could be read: closed to every client, never open to all
                    log.warn("No loadBalancerSourceRange readable, the LoadBalancer IPs admit no client service={}",
                            qualified);
                    ranges.addAll(Cidr.NONE);
                }
            }
        }
        TrafficPolicy policy = "Local".equals(spec.getExternalTrafficPolicy()) ? TrafficPolicy.LOCAL
                : TrafficPolicy.CLUSTER;
        TrafficPolicy internal = "Local".equals(spec.getInternalTrafficPolicy()) ? TrafficPolicy.LOCAL
                : TrafficPolicy.CLUSTER;
        // kube-proxy serves it for a LoadBalancer of policy Local only, as the API server allocates it
        int healthCheckNodePort = type == ServiceType.LOAD_BALANCER && policy == TrafficPolicy.LOCAL
                && spec.getHealthCheckNodePort() != null && spec.getHealthCheckNodePort() > 0
                && spec.getHealthCheckNodePort() <= 65535 ? spec.getHealthCheckNodePort() : 0;
        return new ServiceExposure(type, external, lb, ranges, policy, internal, healthCheckNodePort);
    }

    private static List<InetAddress> ips(List<String> texts, String qualified, String what) {
        List<InetAddress> out = new ArrayList<>();
        if (texts == null) {
            return out;
        }
        for (String t : texts) {
            try {
                InetAddress ip = Addresses.parseIpSloppy(t);
                if (!out.contains(ip)) {
                    out.add(ip);
                }
            } catch (IllegalArgumentException | NullPointerException e) {
                log.warn("Skipping bad {} service={} address={}", what, qualified, t);
            }
        }
        return out;
    }
}
