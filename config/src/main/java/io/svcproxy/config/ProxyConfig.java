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
 * @param ingresses the Ingresses of the {@code ingresses:} list, in file order
 */
public record ProxyConfig(Path source, ProxySettings proxy, RegistrySettings registry,
                          List<ServiceSpec> services, List<PodSpec> pods, List<IngressSpec> ingresses) {
    public ProxyConfig {
        services = List.copyOf(services);
        pods = List.copyOf(pods);
        ingresses = List.copyOf(ingresses);
    }

    /** Returns a config without Ingresses. */
    public ProxyConfig(Path source, ProxySettings proxy, RegistrySettings registry, List<ServiceSpec> services,
                       List<PodSpec> pods) {
        this(source, proxy, registry, services, pods, List.of());
    }

    /**
     * Returns the files besides the config whose content is part of it: the registry files, then each TLS entry's
     * certFile and keyFile. A change in any of them is a reload.
     */
    public List<Path> watchedFiles() {
        return watchedFiles(registry.files(), ingresses);
    }

    /** The files a config of {@code registryFiles} and {@code ingresses} reads: the first, then the TLS pairs. */
    static List<Path> watchedFiles(List<Path> registryFiles, List<IngressSpec> ingresses) {
        List<Path> files = new java.util.ArrayList<>(registryFiles);
        for (IngressSpec ingress : ingresses) {
            for (IngressSpec.Tls tls : ingress.tls()) {
                if (tls.certFile() != null) {
                    files.add(tls.certFile());
                }
                if (tls.keyFile() != null) {
                    files.add(tls.keyFile());
                }
            }
        }
        return List.copyOf(files);
    }
}
