package io.svcproxy.config.registry;

import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives each externalIP or LoadBalancer IP address, port and protocol of the Kubernetes Service ports to one of them.
 * The API server lets two Services list the same externalIP at the same port, or one at an address svcproxy already
 * listens on (a clusterIP, the config file's Services, the admin or Ingress listener); the kernel's rules of
 * kube-proxy send such traffic to the first rule that matches and go on, while a user-space proxy could bind only
 * one listener there and would stay unready for good. So the address goes to the first claim: the config file's
 * Service ports and every clusterIP first, then the Kubernetes Service ports by namespace, name and port, each
 * once; the others are published without it, and each such loss is logged once (WARN), not at every change.
 */
final class ExtraAddressClaims {
    private static final Logger log = LoggerFactory.getLogger(ExtraAddressClaims.class);

    /** What was said at the last claim: "service address", so that a loss is logged when it first happens. */
    private Set<String> said = Set.of();

    /**
     * Returns {@code out} (the Kubernetes Service ports in their places, {@code null} where left out) with each
     * port's extra addresses that an earlier claim holds removed from its exposure; the list is changed in place.
     */
    List<ServicePortSpec> claim(ProxyConfig config, List<ServicePortSpec> resolved, List<ServicePortSpec> out) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) {
            ServicePortSpec spec = out.get(i);
            if (spec != null && !spec.service().extraAddresses().isEmpty()) {
                order.add(i);
            }
        }
        if (order.isEmpty()) {
            said = Set.of();
            return out;
        }
        Map<ServiceKey, String> claimed = new HashMap<>();
        for (ServicePortSpec spec : resolved) {
            claimed.put(spec.key(), "the config file's " + spec.service().qualifiedName());
        }
        for (ServicePortSpec spec : out) {
            if (spec != null) {
                claimed.putIfAbsent(spec.key(), "the clusterIP of " + spec.service().qualifiedName());
            }
        }
        for (ServicePortSpec spec : resolved) {
            for (InetAddress ip : spec.service().extraAddresses()) {
                claimed.putIfAbsent(new ServiceKey(ip, spec.key().port(), spec.key().protocol()),
                        "the config file's " + spec.service().qualifiedName());
            }
        }
        order.sort(Comparator.comparing((Integer i) -> out.get(i).service().qualifiedName())
                .thenComparing(i -> out.get(i).port().name()).thenComparingInt(i -> out.get(i).key().port()));
        Set<String> sayNow = new HashSet<>();
        for (int i : order) {
            ServicePortSpec spec = out.get(i);
            List<InetAddress> lost = new ArrayList<>();
            for (InetAddress ip : spec.service().extraAddresses()) {
                ServiceKey at = new ServiceKey(ip, spec.key().port(), spec.key().protocol());
                String holder = config.proxy().listenerTaking(at);
                holder = holder != null ? "svcproxy's " + holder : claimed.putIfAbsent(at, spec.service()
                        .qualifiedName());
                if (holder != null && !holder.equals(spec.service().qualifiedName())) {
                    lost.add(ip);
                    String what = spec.service().qualifiedName() + " " + at;
                    if (sayNow.add(what) && !said.contains(what)) {
                        log.warn("Kubernetes service address ignored: another listener takes it service={} "
                                + "address={} holder={}", spec.service().qualifiedName(), at, holder);
                    }
                }
            }
            if (!lost.isEmpty()) {
                out.set(i, without(spec, lost));
            }
        }
        said = sayNow;
        return out;
    }

    /** {@code spec} with {@code lost} taken out of its externalIPs and LoadBalancer IPs. */
    static ServicePortSpec without(ServicePortSpec spec, List<InetAddress> lost) {
        ServiceSpec s = spec.service();
        ServiceExposure e = s.exposure();
        List<InetAddress> external = new ArrayList<>(e.externalIPs());
        external.removeAll(lost);
        List<InetAddress> balancer = new ArrayList<>(e.loadBalancerIPs());
        balancer.removeAll(lost);
        ServiceExposure kept = new ServiceExposure(e.type(), external, balancer, e.loadBalancerSourceRanges(),
                e.externalTrafficPolicy(), e.internalTrafficPolicy(), e.healthCheckNodePort());
        ServiceSpec service = new ServiceSpec(s.name(), s.namespace(), s.clusterIP(), s.selector(), s.scheduler(),
                s.schedulerFlags(), s.sessionAffinity(), s.ports(), s.endpoints(), s.maxConnections(),
                s.maxConnectionsPerClient(), s.healthCheck(), kept);
        return new ServicePortSpec(spec.key(), service, spec.port(), spec.endpoints());
    }
}
