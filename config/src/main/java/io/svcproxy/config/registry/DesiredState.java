package io.svcproxy.config.registry;

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
 */
public record DesiredState(long version, ProxyConfig config, List<ServicePortSpec> servicePorts, boolean synced) {
    public DesiredState {
        servicePorts = List.copyOf(servicePorts);
    }
}
