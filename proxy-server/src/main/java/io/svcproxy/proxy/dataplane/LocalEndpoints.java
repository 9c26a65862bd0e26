package io.svcproxy.proxy.dataplane;

import io.svcproxy.balancer.Backend;
import io.svcproxy.balancer.Backends;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ServicePortSpec;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Predicate;

/**
 * {@code externalTrafficPolicy: Local}: the endpoints of a Service port on this node, as the filter a pick on a
 * node, external or LoadBalancer address runs under (the scheduler and its state stay the full list's; see
 * {@link io.svcproxy.balancer.PickContext#onlyEligible}). Built once per spec and node name.
 *
 * @param spec the spec it was built from
 * @param nodeName this node; empty when unknown (then no endpoint is local)
 * @param endpoints {@code ip:port} of the endpoints whose nodeName is {@code nodeName}
 */
public record LocalEndpoints(ServicePortSpec spec, String nodeName, Set<String> endpoints)
        implements Predicate<Backend> {
    public LocalEndpoints {
        endpoints = Set.copyOf(endpoints);
    }

    /** Returns the local endpoints of {@code spec} on {@code nodeName}. */
    public static LocalEndpoints of(ServicePortSpec spec, String nodeName) {
        Set<String> local = new HashSet<>();
        if (!nodeName.isEmpty()) {
            for (EndpointTarget t : spec.endpoints()) {
                if (nodeName.equals(t.nodeName())) {
                    local.add(Backends.format(t.ip(), t.port()));
                }
            }
        }
        return new LocalEndpoints(spec, nodeName, local);
    }

    /** Returns whether no endpoint is on this node. */
    public boolean isEmpty() {
        return endpoints.isEmpty();
    }

    @Override
    public boolean test(Backend backend) {
        return endpoints.contains(Backends.format(backend.address(), backend.port()));
    }
}
