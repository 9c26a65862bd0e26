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

    public ServiceTableBackendLookup(ServiceTable table) {
        this.table = table;
    }

    @Override
    public BackendSet backendSet(ServiceBackend backend) {
        for (ServicePort port : table.portsOf(backend.service())) {
            if (port.key().protocol() != Protocol.TCP) {
                continue;
            }
            boolean match = backend.portName() != null
                    ? backend.portName().equals(port.spec().port().name())
                    : backend.portNumber() == port.key().port();
            if (match) {
                return port.backendSet();
            }
        }
        return null;
    }
}
