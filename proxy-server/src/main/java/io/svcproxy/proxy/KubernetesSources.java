package io.svcproxy.proxy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.svcproxy.config.IngressSettings;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.registry.Registry;
import io.svcproxy.config.source.KubernetesIngressSource;
import io.svcproxy.config.source.KubernetesSource;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes API's sources of one {@link ProxyServer} ({@code registry.kubernetes}): its client, the Services
 * and EndpointSlices' source and, with an Ingress listener at start, the Ingresses' source, reporting to the
 * registry; started together, told of the reloads that reach them, closed together. The restart-only part of
 * {@code registry.kubernetes} is what they were started with.
 */
final class KubernetesSources implements AutoCloseable {
    /** The proxy server's logger: operators follow one name for its sources. */
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final KubernetesClient client;
    private final KubernetesSource services;
    /** The Ingresses' source, or {@code null} when no Ingress listener was on at start. */
    private final KubernetesIngressSource ingresses;
    /** This node's name as the mapping was started with it (empty: unknown). */
    private final String nodeName;

    private KubernetesSources(KubernetesClient client, KubernetesSource services, KubernetesIngressSource ingresses,
                              String nodeName) {
        this.client = client;
        this.services = services;
        this.ingresses = ingresses;
        this.nodeName = nodeName;
    }

    /**
     * Connects and starts the sources of {@code kubernetes}, as node {@code nodeName} (the data plane's: {@code
     * proxy.nodeName} first, so that the mapping's Local endpoints, terminating fallback and topology hints agree
     * with the address rules and the health check node ports; empty: unknown); the Ingresses' with {@code ingress}'s
     * listeners when one is on.
     *
     * @throws IllegalArgumentException if the kubeconfig cannot be used
     */
    static KubernetesSources start(KubernetesSettings kubernetes, IngressSettings ingress, String nodeName,
                                   Registry registry) {
        KubernetesClient client = KubernetesSource.connect(kubernetes);
        KubernetesSettings sourceSettings = nodeName.isEmpty() ? kubernetes : kubernetes.withNodeName(nodeName);
        KubernetesSource services = new KubernetesSource(client, sourceSettings, registry::setKubernetes);
        services.start();
        KubernetesIngressSource ingresses = null;
        if (ingress.enabled()) {
            ingresses = new KubernetesIngressSource(client, kubernetes, ingress, registry::setKubernetesIngresses);
            ingresses.start();
        }
        log.info("Watching Kubernetes namespaces={} kubeconfig={}",
                kubernetes.namespaces().isEmpty() ? "all" : kubernetes.namespaces(), kubernetes.kubeconfig());
        return new KubernetesSources(client, services, ingresses, nodeName);
    }

    /** This node's name as the mapping was started with it (empty: unknown). */
    String nodeName() {
        return nodeName;
    }

    /** Takes the schedulers per Service of a reload from {@code previous} to {@code next} (before it applies). */
    void setSchedulers(ProxyConfig previous, ProxyConfig next) {
        KubernetesSettings nextKubernetes = next.registry().kubernetes();
        if (nextKubernetes != null && !nextKubernetes.services().equals(
                previous.registry().kubernetes() == null ? null : previous.registry().kubernetes().services())) {
            services.setSchedulers(nextKubernetes); // as a changed scheduler of the config file's Services
        }
    }

    /** Takes the Ingress listeners of a reload from {@code previous} to {@code next}, once they moved. */
    void setListeners(ProxyConfig previous, ProxyConfig next) {
        if (ingresses != null && !Objects.equals(next.proxy().ingress(), previous.proxy().ingress())) {
            ingresses.setListeners(next.proxy().ingress()); // the status names where it listens now
        }
    }

    /** Takes this proxy's addresses out of the Ingresses' status, waiting at most {@code timeout} (shutdown). */
    void withdrawStatus(Duration timeout) {
        if (ingresses != null) {
            ingresses.withdrawStatus(timeout);
        }
    }

    @Override
    public void close() {
        services.close();
        if (ingresses != null) {
            ingresses.close();
        }
        client.close();
    }
}
