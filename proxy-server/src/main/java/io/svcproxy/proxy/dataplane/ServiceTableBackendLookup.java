package io.svcproxy.proxy.dataplane;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.config.Protocol;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.ServiceBackend;

/**
 * The Ingress's view of the Service ports in force: an Ingress backend (a Service port by number or name) resolves
 * to the very {@link BackendSet} its ClusterIP listener picks from, so both share one endpoint list, one rr
 * position and one set of counters. A Service with several ClusterIPs (dual-stack) resolves to its first port in
 * {@link ServiceTable#servicePorts()} order.
 */
public final class ServiceTableBackendLookup implements BackendLookup {
    private final ServiceTable table;
    /** This node's name ({@code proxy.nodeName}), for an {@code internalTrafficPolicy: Local} port. */
    private final java.util.function.Supplier<String> nodeName;

    public ServiceTableBackendLookup(ServiceTable table, java.util.function.Supplier<String> nodeName) {
        this.table = table;
        this.nodeName = nodeName;
    }

    @Override
    public BackendSet backendSet(ServiceBackend backend) {
        ServicePort port = port(backend);
        return port == null ? null : port.backendSet();
    }

    /**
     * The port's set, the endpoints its ClusterIP's traffic may take ({@link #eligible}) and the PROXY protocol
     * header of a port with {@code proxyProtocol}, as the TCP relay sends it (the Ingress's client as the source, the
     * address it connected to as the destination), with one lookup.
     */
    @Override
    public Target target(ServiceBackend backend) {
        ServicePort port = port(backend);
        if (port == null) {
            return null;
        }
        io.svcproxy.config.ProxyProtocol proxyProtocol = port.spec().port().proxyProtocol();
        return new Target(port.backendSet(), eligible(port), proxyProtocol == null ? null
                : (endpoint, client) -> ProxyProtocolHeader.write(endpoint, proxyProtocol, client));
    }

    /**
     * As traffic to the port's ClusterIP picks (AddressRules, without its refusal: an empty set answers 503):
     * {@code internalTrafficPolicy: Local} this node's ready endpoints, else every ready endpoint but those only a
     * Local policy may use.
     */
    @Override
    public java.util.function.Predicate<io.svcproxy.balancer.Backend> eligible(ServiceBackend backend) {
        ServicePort port = port(backend);
        return port == null ? null : eligible(port);
    }

    private java.util.function.Predicate<io.svcproxy.balancer.Backend> eligible(ServicePort port) {
        return port.spec().service().exposure().internalTrafficPolicy() == io.svcproxy.config.TrafficPolicy.LOCAL
                ? port.localEndpoints(nodeName.get()) : port.clusterEndpoints();
    }

    private ServicePort port(ServiceBackend backend) {
        for (ServicePort port : table.portsOf(backend.service())) {
            if (port.key().protocol() != Protocol.TCP) {
                continue;
            }
            boolean match = backend.portName() != null
                    ? backend.portName().equals(port.spec().port().name())
                    : backend.portNumber() == port.key().port();
            if (match) {
                return port;
            }
        }
        return null;
    }
}
