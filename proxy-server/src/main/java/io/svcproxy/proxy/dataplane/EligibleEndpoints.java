package io.svcproxy.proxy.dataplane;

import io.svcproxy.balancer.Backend;
import io.svcproxy.balancer.Backends;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ServicePortSpec;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The endpoints of a Service port that one kind of traffic may use, as the filter its picks run under (the
 * scheduler and its state stay the full list's; see {@link io.svcproxy.balancer.PickContext#onlyEligible}). Built
 * once per spec (and node name):
 * <ul>
 *   <li>{@link #local}: under a {@code Local} traffic policy ({@code externalTrafficPolicy} on node, external and
 *       LoadBalancer addresses, {@code internalTrafficPolicy} on the clusterIP), the ready endpoints on this
 *       node;</li>
 *   <li>{@link #cluster}: under the {@code Cluster} policy, the ready endpoints not marked
 *       {@link EndpointTarget#localOnly()} (this node's endpoints that kube-proxy's Local policy takes and its
 *       Cluster policy does not).</li>
 * </ul>
 *
 * @param spec the spec it was built from
 * @param nodeName this node for {@link #local} (empty when unknown: then no endpoint is local); {@code null} for
 *     {@link #cluster}
 * @param endpoints {@code ip:port} of the eligible endpoints
 */
public record EligibleEndpoints(ServicePortSpec spec, String nodeName, Set<String> endpoints)
        implements Predicate<Backend> {
    public EligibleEndpoints {
        endpoints = Set.copyOf(endpoints);
    }

    /** Returns the ready endpoints of {@code spec} on {@code nodeName}. */
    public static EligibleEndpoints local(ServicePortSpec spec, String nodeName) {
        Set<String> local = new HashSet<>();
        if (!nodeName.isEmpty()) {
            for (EndpointTarget t : spec.endpoints()) {
                if (t.ready() && nodeName.equals(t.nodeName())) {
                    local.add(Backends.format(t.ip(), t.port()));
                }
            }
        }
        return new EligibleEndpoints(spec, nodeName, local);
    }

    /**
     * Returns the ready endpoints of {@code spec} that Cluster-policy traffic may use, or {@code null} when that is
     * every ready endpoint (no filter needed: the common case).
     */
    public static EligibleEndpoints cluster(ServicePortSpec spec) {
        Set<String> cluster = new HashSet<>();
        boolean narrowed = false;
        for (EndpointTarget t : spec.endpoints()) {
            if (t.ready()) {
                if (t.localOnly()) {
                    narrowed = true;
                } else {
                    cluster.add(Backends.format(t.ip(), t.port()));
                }
            }
        }
        return narrowed ? new EligibleEndpoints(spec, null, cluster) : null;
    }

    /** Returns whether no endpoint is eligible. */
    public boolean isEmpty() {
        return endpoints.isEmpty();
    }

    @Override
    public boolean test(Backend backend) {
        return endpoints.contains(Backends.format(backend.address(), backend.port()));
    }
}
