package io.svcproxy.config.registry;

import io.svcproxy.config.Addresses;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ProxySettings;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
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
 * once; the others are published without it, and each such loss is logged once (WARN), not at every change. An
 * address of the other family than a port's clusterIP is not its to claim: it never binds it.
 */
final class ExtraAddressClaims {
    private static final Logger log = LoggerFactory.getLogger(ExtraAddressClaims.class);

    /** The order claims are made in: namespace, name, then the port's name and number (as the source lists them). */
    private static final Comparator<ServicePortSpec> ORDER = Comparator
            .comparing((ServicePortSpec p) -> p.service().namespace())
            .thenComparing(p -> p.service().name())
            .thenComparing(p -> p.port().name())
            .thenComparingInt(p -> p.key().port());

    /** What was said at the last claim: "service address", so that a loss is logged when it first happens. */
    private Set<String> said = Set.of();
    /** Each port published without some addresses at the last claim, by the object it was made from. */
    private Map<ServicePortSpec, ServicePortSpec> stripped = new IdentityHashMap<>();

    /**
     * Returns {@code out} (the Kubernetes Service ports in their places, {@code null} where left out) with each
     * port's extra addresses that an earlier claim holds removed from its exposure; the list is changed in place.
     * {@code own}: svcproxy's own listeners ({@link io.svcproxy.config.ProxySettings#ownListeners()}).
     */
    List<ServicePortSpec> claim(Map<InetSocketAddress, String> own, List<ServicePortSpec> resolved,
                                List<ServicePortSpec> out) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) {
            ServicePortSpec spec = out.get(i);
            if (spec != null && !spec.service().extraAddresses().isEmpty()) {
                order.add(i);
            }
        }
        if (order.isEmpty()) {
            said = Set.of();
            stripped = new IdentityHashMap<>();
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
            for (ServiceKey at : extraKeys(spec)) {
                claimed.putIfAbsent(at, "the config file's " + spec.service().qualifiedName());
            }
        }
        order.sort(Comparator.comparing(out::get, ORDER));
        Set<String> sayNow = new HashSet<>();
        Map<ServicePortSpec, ServicePortSpec> strippedNow = new IdentityHashMap<>();
        for (int i : order) {
            ServicePortSpec spec = out.get(i);
            String name = spec.service().qualifiedName();
            List<InetAddress> lost = new ArrayList<>();
            for (ServiceKey at : extraKeys(spec)) {
                String holder = ProxySettings.listenerTaking(own, at);
                holder = holder != null ? "svcproxy's " + holder : claimed.putIfAbsent(at, name);
                if (holder != null && !holder.equals(name)) {
                    lost.add(at.clusterIP());
                    String what = name + " " + at;
                    if (sayNow.add(what) && !said.contains(what)) {
                        log.warn("Kubernetes service address ignored: another listener takes it service={} "
                                + "address={} holder={}", name, at, holder);
                    }
                }
            }
            if (!lost.isEmpty()) {
                ServicePortSpec was = stripped.get(spec);
                ServicePortSpec now = was != null && sameLoss(spec, was, lost) ? was : without(spec, lost);
                strippedNow.put(spec, now);
                out.set(i, now);
            }
        }
        said = sayNow;
        stripped = strippedNow;
        return out;
    }

    /**
     * The addresses, at its port and protocol, that {@code spec} would listen on besides its clusterIP: its extra
     * addresses of its clusterIP's family (the only ones it binds; ServiceAddresses).
     */
    static List<ServiceKey> extraKeys(ServicePortSpec spec) {
        List<ServiceKey> keys = new ArrayList<>();
        Class<?> family = spec.key().clusterIP().getClass();
        for (InetAddress ip : spec.service().extraAddresses()) {
            if (ip.getClass() == family) {
                keys.add(new ServiceKey(ip, spec.key().port(), spec.key().protocol()));
            }
        }
        return keys;
    }

    /** Whether {@code was}, made from {@code spec} before, lacks exactly {@code lost}: then it is kept as it is. */
    private static boolean sameLoss(ServicePortSpec spec, ServicePortSpec was, List<InetAddress> lost) {
        Set<InetAddress> kept = new HashSet<>(spec.service().extraAddresses());
        lost.forEach(kept::remove);
        return kept.equals(was.service().extraAddresses());
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
