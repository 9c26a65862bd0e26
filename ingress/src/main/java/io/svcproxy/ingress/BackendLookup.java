package io.svcproxy.ingress;

import io.svcproxy.balancer.BackendSet;

/**
 * The seam to the L4 data plane: the current endpoint list and scheduler of a Service port, the very
 * {@link BackendSet} its ClusterIP listener picks from (same rr position, same counters). proxy-server implements
 * it over its reconciled Service table; the Ingress never keeps a copy.
 */
@FunctionalInterface
public interface BackendLookup {
    /** The port's current set, or {@code null} if the Service or the port is not (or no longer) defined. */
    BackendSet backendSet(ServiceBackend backend);

    /**
     * The endpoints of the port's set a request may take, as traffic to its ClusterIP may (its traffic policy), or
     * {@code null} for every ready one (the common case, and a lookup that knows no policies).
     */
    default java.util.function.Predicate<io.svcproxy.balancer.Backend> eligible(ServiceBackend backend) {
        return null;
    }

    /** {@code context}, narrowed to what {@link #eligible} allows for {@code backend}. */
    default io.svcproxy.balancer.PickContext narrow(ServiceBackend backend, io.svcproxy.balancer.PickContext context) {
        java.util.function.Predicate<io.svcproxy.balancer.Backend> e = eligible(backend);
        return e == null ? context : context.onlyEligible(e);
    }
}
