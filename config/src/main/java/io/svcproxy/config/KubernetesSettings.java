package io.svcproxy.config;

import java.nio.file.Path;
import java.util.List;

/**
 * The {@code registry.kubernetes:} section.
 *
 * @param kubeconfig the kubeconfig file, or {@code null} for the in-cluster service account
 * @param namespaces the namespaces to watch; empty for all
 */
public record KubernetesSettings(Path kubeconfig, List<String> namespaces) {
    public KubernetesSettings {
        namespaces = List.copyOf(namespaces);
    }
}
