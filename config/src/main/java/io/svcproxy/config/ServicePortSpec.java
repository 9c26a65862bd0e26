package io.svcproxy.config;

import java.util.List;

/**
 * The desired state of one listener: a Service port with the endpoints that serve it, resolved from the
 * Service's selector and the Pods, or from its explicit endpoints.
 *
 * @param key the clusterIP, port and protocol to bind
 * @param service the Service it belongs to
 * @param port the Service port
 * @param endpoints the endpoints to use (kube-proxy's {@code CategorizeEndpoints}: the ready ones, or if none is
 *     ready the serving and terminating ones), sorted by IP address then port
 */
public record ServicePortSpec(ServiceKey key, ServiceSpec service, PortSpec port, List<EndpointTarget> endpoints) {
    public ServicePortSpec {
        endpoints = List.copyOf(endpoints);
    }
}
