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
}
