package io.svcproxy.config;

import io.svcproxy.balancer.SchedulerFlag;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The {@code registry.kubernetes:} section.
 *
 * @param kubeconfig the kubeconfig file, or {@code null} for the in-cluster service account
 * @param namespaces the namespaces to watch; empty for all
 * @param nodeName this node's name, for {@code internalTrafficPolicy: Local} and node hints; {@code null} when
 *     not written: the source then reads the environment variable {@code NODE_NAME} (set by the downward API)
 * @param zone this node's zone, for zone hints; {@code null} when not written: the source then reads the label
 *     {@code topology.kubernetes.io/zone} of the Node named {@code nodeName}, when it may
 * @param services the schedulers chosen for Kubernetes Services by namespace and name; they win over the
 *     Service's annotation {@code svcproxy.io/scheduler}
 */
public record KubernetesSettings(Path kubeconfig, List<String> namespaces, String nodeName, String zone,
                                 List<ServiceScheduler> services) {
    public KubernetesSettings {
        namespaces = List.copyOf(namespaces);
        services = List.copyOf(services);
    }

    /** Whether the kubeconfig file, when one is set, is a file this process can read (as a client needs it). */
    public boolean kubeconfigReadable() {
        return kubeconfig == null || Files.isRegularFile(kubeconfig) && Files.isReadable(kubeconfig);
    }

    /** These settings with the schedulers of {@code services} ({@code registry.kubernetes.services}). */
    public KubernetesSettings withServices(List<ServiceScheduler> services) {
        return new KubernetesSettings(kubeconfig, namespaces, nodeName, zone, services);
    }

    /** These settings for the node {@code name}. */
    public KubernetesSettings withNodeName(String name) {
        return new KubernetesSettings(kubeconfig, namespaces, name, zone, services);
    }

    /** Returns settings with neither node, zone nor per-Service schedulers. */
    public KubernetesSettings(Path kubeconfig, List<String> namespaces) {
        this(kubeconfig, namespaces, null, null, List.of());
    }

    /** Returns the scheduler chosen for a Service, or {@code null} when the YAML names none. */
    public ServiceScheduler scheduler(String namespace, String name) {
        for (ServiceScheduler s : services) {
            if (s.namespace().equals(namespace) && s.name().equals(name)) {
                return s;
            }
        }
        return null;
    }

    /**
     * One entry of {@code registry.kubernetes.services}: the scheduler of one Kubernetes Service.
     *
     * @param namespace the Service's namespace ({@code default} unless written)
     * @param name the Service's name
     * @param scheduler an IPVS scheduler name
     * @param schedulerFlags its flags
     */
    public record ServiceScheduler(String namespace, String name, String scheduler,
                                   Set<SchedulerFlag> schedulerFlags) {
        public ServiceScheduler {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(scheduler, "scheduler");
            schedulerFlags = Set.copyOf(schedulerFlags);
        }
    }
}
