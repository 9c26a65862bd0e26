package io.svcproxy.config.registry;

import io.svcproxy.config.IngressSpec;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ProxySettings;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.config.ServiceSpec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merges the sources into one versioned desired state. The config file's Service ports come first; a Kubernetes
 * Service port on a key the config file already serves is left out (and logged once), so a local override wins, and
 * so is one on a TCP address and port svcproxy's admin or Ingress listener takes (it could not be bound: the config
 * file refuses such a Service).
 * Kubernetes Services that name no scheduler get the config's {@code proxy.scheduler}. Every change that alters
 * the merged state publishes a new {@link DesiredState} to the listener, on the caller's thread.
 */
public final class Registry {
    private static final Logger log = LoggerFactory.getLogger(Registry.class);

    private final Consumer<DesiredState> listener;
    private final boolean kubernetesExpected;
    private ProxyConfig config;
    private List<ServicePortSpec> kubernetes = List.of();
    private boolean kubernetesSynced;
    private boolean kubernetesIngressesExpected;
    private List<IngressSpec> kubernetesIngresses = List.of();
    private boolean kubernetesIngressesSynced;
    private DesiredState current;
    /**
     * The config file's Service ports and the config they were resolved from, and each Kubernetes Service port
     * with the default scheduler filled in (by the identity of the source's object; {@code namedWith} is the
     * scheduler they got): a change from one source rebuilds only what changed, and what did not stays the same
     * object, which the reconciler passes over at the cost of a reference compare.
     */
    private ProxyConfig resolvedFrom;
    private List<ServicePortSpec> resolved = List.of();
    private Map<ServicePortSpec, ServicePortSpec> named = new IdentityHashMap<>();
    private String namedWith;
    /**
     * The Kubernetes list of the last publish, and in the same places what each became in the merged state
     * ({@code null} where the config file serves the key): when the next list replaces Service ports in their
     * places (the common change: endpoints of existing Services), only those are looked at.
     */
    private List<ServicePortSpec> publishedIn = List.of();
    private List<ServicePortSpec> publishedOut = List.of();
    /** The keys of the Kubernetes Service ports left out at the last full merge: each is logged when it first is. */
    private Set<ServiceKey> leftOut = Set.of();
    /** Which Kubernetes Service port gets an external or LoadBalancer address that more than one lists. */
    private final ExtraAddressClaims claims = new ExtraAddressClaims();

    /**
     * @param kubernetesExpected whether a Kubernetes source will report; until it has synced, the state is not
     *     {@link DesiredState#synced()}
     */
    public Registry(boolean kubernetesExpected, Consumer<DesiredState> listener) {
        this.kubernetesExpected = kubernetesExpected;
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /** Takes a new valid config file (with its registry files' Pods). */
    public synchronized void setConfig(ProxyConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        publish();
    }

    /**
     * Takes the Kubernetes source's full set of Service ports. Their {@link ServiceSpec#scheduler()} may be
     * {@code null}: the config's default scheduler applies.
     *
     * @param synced whether the source has listed everything at least once
     */
    public synchronized void setKubernetes(List<ServicePortSpec> servicePorts, boolean synced) {
        this.kubernetes = List.copyOf(servicePorts);
        this.kubernetesSynced |= synced;
        if (config != null) {
            publish();
        }
    }

    /** Declares that a Kubernetes Ingress source will report: until it has synced, the state is not synced. */
    public synchronized void expectKubernetesIngresses() {
        this.kubernetesIngressesExpected = true;
    }

    /**
     * Takes the Kubernetes source's full list of Ingresses of the class, oldest first. They are served after the
     * config file's.
     *
     * @param synced whether the source has listed everything at least once
     */
    public synchronized void setKubernetesIngresses(List<IngressSpec> ingresses, boolean synced) {
        this.kubernetesIngresses = List.copyOf(ingresses);
        this.kubernetesIngressesSynced |= synced;
        if (config != null) {
            publish();
        }
    }

    /** Returns the state last published, or {@code null} before the first config. */
    public synchronized DesiredState current() {
        return current;
    }

    private void publish() {
        String scheduler = config.proxy().scheduler();
        List<ServicePortSpec> out = resolvedFrom == config && scheduler.equals(namedWith) ? inPlace(scheduler) : null;
        if (out == null) {
            out = mergeAll(scheduler);
        }
        publishedIn = kubernetes;
        publishedOut = out;
        List<ServicePortSpec> merged = new ArrayList<>(resolved.size() + out.size());
        merged.addAll(resolved);
        for (ServicePortSpec spec : out) {
            if (spec != null) {
                merged.add(spec);
            }
        }
        boolean servicesSynced = !kubernetesExpected || kubernetesSynced;
        boolean synced = servicesSynced && (!kubernetesIngressesExpected || kubernetesIngressesSynced);
        List<IngressSpec> ingresses = new ArrayList<>(config.ingresses());
        ingresses.addAll(kubernetesIngresses);
        if (current != null && current.servicePorts().equals(merged) && current.synced() == synced
                && current.servicesSynced() == servicesSynced && current.config().equals(config)
                && current.ingresses().equals(ingresses)) {
            return;
        }
        current = new DesiredState(current == null ? 1 : current.version() + 1, config, merged, synced, ingresses,
                servicesSynced);
        listener.accept(current);
    }

    /**
     * The Kubernetes part of the merged state when the new list only replaces Service ports in their places,
     * each by one of the same key (the config file and the default scheduler unchanged): the ports in the same
     * places are the very objects and keep what they became; or {@code null} when the list changed otherwise.
     * Costs a walk of references, not a hash of every key.
     */
    private List<ServicePortSpec> inPlace(String scheduler) {
        if (current == null || kubernetes.size() != publishedIn.size()) {
            return null;
        }
        List<ServicePortSpec> out = null;
        for (int i = 0; i < kubernetes.size(); i++) {
            ServicePortSpec spec = kubernetes.get(i);
            ServicePortSpec before = publishedIn.get(i);
            if (spec == before) {
                continue;
            }
            if (!spec.key().equals(before.key())) {
                return null;
            }
            if (out == null) {
                out = new ArrayList<>(publishedOut);
            }
            ServicePortSpec was = publishedOut.get(i);
            if (was != null && (!spec.service().exposure().equals(before.service().exposure())
                    || spec.port().nodePort() != before.port().nodePort()
                    || !spec.service().extraAddresses().isEmpty()
                    && !spec.service().qualifiedName().equals(before.service().qualifiedName()))) {
                return null; // its addresses, or who claims them, changed: claimed again among all
            }
            named.remove(before);
            if (was != null) { // else the key is still served otherwise: said once, when it was first left out
                ServicePortSpec n = withDefaultScheduler(spec, scheduler);
                named.put(spec, n);
                if (!was.service().exposure().equals(n.service().exposure())) {
                    n = ExtraAddressClaims.without(n, lost(n, was)); // the same addresses lost as before
                }
                out.set(i, n);
            }
        }
        return out == null ? publishedOut : out;
    }

    /** The Kubernetes part of the merged state, every Service port looked at (a key served twice: first wins). */
    private List<ServicePortSpec> mergeAll(String scheduler) {
        if (resolvedFrom != config) {
            resolved = ServicePorts.resolve(config);
            resolvedFrom = config;
        }
        List<ServicePortSpec> out = new ArrayList<>(kubernetes.size());
        // the config file's clusterIPs, and its external and LoadBalancer IPs, at their ports: a Kubernetes clusterIP
        // there is left to the config file too
        Set<ServiceKey> keys = new HashSet<>();
        resolved.forEach(spec -> keys.add(spec.key()));
        resolved.forEach(spec -> keys.addAll(ExtraAddressClaims.extraKeys(spec)));
        Map<InetSocketAddress, String> own = config.proxy().ownListeners();
        Map<ServicePortSpec, ServicePortSpec> named = new IdentityHashMap<>();
        Set<ServiceKey> leftOut = new HashSet<>();
        for (ServicePortSpec spec : kubernetes) {
            String listener = ProxySettings.listenerTaking(own, spec.key());
            if (listener != null || !keys.add(spec.key())) {
                if (leftOut.add(spec.key()) && !this.leftOut.contains(spec.key())) {
                    ignored(spec, listener);
                }
                out.add(null);
                continue;
            }
            ServicePortSpec n = scheduler.equals(namedWith) ? this.named.get(spec) : null;
            if (n == null) {
                n = withDefaultScheduler(spec, scheduler);
            }
            named.put(spec, n);
            out.add(n);
        }
        this.named = named;
        this.namedWith = scheduler;
        this.leftOut = leftOut;
        return claims.claim(own, resolved, out);
    }

    /** The extra addresses of {@code full} that {@code published} (the same port, as published) has not. */
    private static List<InetAddress> lost(ServicePortSpec full, ServicePortSpec published) {
        List<InetAddress> lost = new ArrayList<>(full.service().extraAddresses());
        lost.removeAll(published.service().extraAddresses());
        return lost;
    }

    /** Says once that a Kubernetes Service port is left out: {@code listener}, or the config file, takes its key. */
    private static void ignored(ServicePortSpec spec, String listener) {
        if (listener != null) {
            log.warn("Kubernetes service port ignored: svcproxy's own listener is bound at its address service={} "
                    + "address={} listener={}", spec.service().qualifiedName(), spec.key(), listener);
        } else {
            log.warn("Kubernetes service port ignored: the config file serves its address service={} address={}",
                    spec.service().qualifiedName(), spec.key());
        }
    }

    private static ServicePortSpec withDefaultScheduler(ServicePortSpec spec, String scheduler) {
        ServiceSpec s = spec.service();
        if (s.scheduler() != null) {
            return spec;
        }
        return new ServicePortSpec(spec.key(), s.withScheduler(scheduler), spec.port(), spec.endpoints());
    }
}
