package io.svcproxy.config;

import java.nio.file.Path;
import java.util.List;

/**
 * The {@code registry:} section.
 *
 * @param files more YAML files holding {@code pods:} lists, resolved against the config file's folder
 * @param kubernetes the Kubernetes API source, or {@code null} when not configured
 */
public record RegistrySettings(List<Path> files, KubernetesSettings kubernetes) {
    public RegistrySettings {
        files = List.copyOf(files);
    }

    /** The settings of a config without a {@code registry:} section. */
    public static RegistrySettings none() {
        return new RegistrySettings(List.of(), null);
    }
}
