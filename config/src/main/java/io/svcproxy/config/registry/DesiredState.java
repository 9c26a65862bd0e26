package io.svcproxy.config.registry;

import io.svcproxy.config.IngressSpec;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePortSpec;
import java.util.List;

/**
 * One version of the desired state: the config in force and every Service port to serve, from the config file
 * and from the Kubernetes API.
 *
 * @param version 1 for the first state, one more per change
 * @param config the valid config file in force
 * @param servicePorts every Service port to serve, config file first
 * @param synced whether every source has delivered its first full state (what {@code /readyz} waits for)
 * @param ingresses every Ingress to serve: the config file's in file order, then the Kubernetes API's, oldest first
 * @param servicesSynced whether every source of Service ports has delivered its first full state: the Ingresses'
 *     source aside, as kube-proxy's health (the health check node ports) is its Service sync alone
 */
public record DesiredState(long version, ProxyConfig config, List<ServicePortSpec> servicePorts, boolean synced,
                           List<IngressSpec> ingresses, boolean servicesSynced) {
    public DesiredState {
        servicePorts = List.copyOf(servicePorts);
        ingresses = List.copyOf(ingresses);
    }

    /** Returns a state whose Services are synced when it is. */
    public DesiredState(long version, ProxyConfig config, List<ServicePortSpec> servicePorts, boolean synced,
                        List<IngressSpec> ingresses) {
        this(version, config, servicePorts, synced, ingresses, synced);
    }

    /** Returns a state of the config file's Ingresses only. */
    public DesiredState(long version, ProxyConfig config, List<ServicePortSpec> servicePorts, boolean synced) {
        this(version, config, servicePorts, synced, config.ingresses());
    }
}
