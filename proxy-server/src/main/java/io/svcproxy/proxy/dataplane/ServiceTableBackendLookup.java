package io.svcproxy.proxy.dataplane;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.Protocol;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.util.function.Supplier;

/**
 * The Ingress's view of the Service ports in force: an Ingress backend (a Service port by number or name) resolves
 * to the very {@link BackendSet} its ClusterIP listener picks from, so both share one endpoint list, one rr
 * position and one set of counters. A Service with several ClusterIPs (dual-stack) resolves to its first port in
 * {@link ServiceTable#servicePorts()} order.
 */
public final class ServiceTableBackendLookup implements BackendLookup {
    private final ServiceTable table;
    /** The data plane's settings in force: this node's name, outlier detection. */
    private final Supplier<DataPlaneSettings> settings;
    private final ProxyMetrics metrics;

    public ServiceTableBackendLookup(ServiceTable table, Supplier<DataPlaneSettings> settings, ProxyMetrics metrics) {
        this.table = table;
        this.settings = settings;
        this.metrics = metrics;
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
                : (endpoint, client) -> ProxyProtocolHeader.write(endpoint, proxyProtocol, client),
                new PortOutcomes(port));
    }

    /** A request's connects reported to its Service port as its ClusterIP's TCP connections report theirs. */
    private final class PortOutcomes implements Outcomes {
        private final ServicePort port;

        PortOutcomes(ServicePort port) {
            this.port = port;
        }

        @Override
        public void connected(BackendState backend, long nanos) {
            backend.counters().health().connectSucceeded();
            metrics.connected(port, backend, nanos);
        }

        @Override
        public void connectFailed(BackendState backend, Throwable cause) {
            port.connectFailed(backend, ConnectErrors.reason(cause), metrics, settings.get());
        }

        @Override
        public void noEndpoint() {
            port.countNoEndpoint();
        }
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
                ? port.localEndpoints(settings.get().node().nodeName()) : port.clusterEndpoints();
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
