package io.svcproxy.config;

import java.nio.file.Path;
import java.util.List;

/**
 * A whole, valid config file: the immutable desired state as written. {@link ServicePorts#resolve} turns it
 * into the endpoint lists the data plane serves.
 *
 * @param source the file it was read from, as given; {@code null} for a config built in code (the demo)
 * @param proxy the {@code proxy:} section
 * @param registry the {@code registry:} section
 * @param services the Services, in file order
 * @param pods the inline Pods and those of the registry files, in file order
 */
public record ProxyConfig(Path source, ProxySettings proxy, RegistrySettings registry,
                          List<ServiceSpec> services, List<PodSpec> pods) {
    public ProxyConfig {
        services = List.copyOf(services);
        pods = List.copyOf(pods);
    }
}
