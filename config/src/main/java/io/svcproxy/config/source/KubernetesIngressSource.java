package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngressBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.svcproxy.config.IngressSettings;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.config.KubernetesSettings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches networking.k8s.io/v1 Ingresses and IngressClasses and the TLS Secrets of the watched namespaces with fabric8
 * informers, and reports the full list of Ingresses of {@code proxy.ingress.className} (or of the default class) as
 * {@link IngressSpec}s, oldest first ({@link KubernetesIngressMapper}), after every change. It writes each served
 * Ingress's {@code status.loadBalancer.ingress} with the addresses it is served on (the IPs of
 * {@code proxy.ingress.http} and {@code https}; for an unspecified address, {@code $POD_IP}), and takes its addresses
 * out of the status of an Ingress it no longer serves, and of every Ingress when it shuts down gracefully
 * ({@link #withdrawStatus}; a replica that dies leaves its address until another one rewrites the status).
 *
 * <p>Least RBAC: get, list and watch on ingresses and ingressclasses (networking.k8s.io) and on secrets; update on
 * ingresses/status. Events are coalesced as in {@link KubernetesSource}; recomputes, listener calls and status
 * writes run on this source's one thread. A status write that fails (a conflict, a 403) is logged and tried again
 * at the next change or resync.
 */
public final class KubernetesIngressSource implements AutoCloseable {
    /** Receives the Kubernetes Ingresses of the class, on the source's thread. */
    public interface Listener {
        /**
         * Takes the full list, oldest first.
         *
         * @param synced whether every informer has listed its resources at least once
         */
        void update(List<IngressSpec> ingresses, boolean synced);
    }

    /** The environment variable the downward API sets to the Pod's IP ({@code status.podIP}). */
    public static final String POD_IP_ENV = "POD_IP";

    private static final Logger log = LoggerFactory.getLogger(KubernetesIngressSource.class);
    /** Only TLS Secrets are listed and held (field selector {@code type}), not every Secret of the namespaces. */
    private static final String TLS_SECRETS = KubernetesIngressMapper.TLS_SECRET_TYPE;

    private final KubernetesClient client;
    private final KubernetesSettings settings;
    private final Listener listener;
    private final KubernetesIngressMapper mapper;
    private final List<String> statusIps;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean pending = new AtomicBoolean();
    private final List<SharedIndexInformer<Ingress>> ingressInformers = new ArrayList<>();
    private final List<SharedIndexInformer<Secret>> secretInformers = new ArrayList<>();
    private SharedIndexInformer<IngressClass> classInformer;
    private volatile boolean closed;
    /** Set by {@link #withdrawStatus}: the status is no longer written. */
    private volatile boolean withdrawn;
    // Confined to the executor's thread.
    private List<IngressSpec> last;
    private boolean lastSynced;

    /**
     * Creates a source; {@link #start()} starts it. It does not own the client: {@link #close()} leaves it open.
     */
    public KubernetesIngressSource(KubernetesClient client, KubernetesSettings settings, IngressSettings ingress,
                                   Listener listener) {
        this.client = Objects.requireNonNull(client, "client");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.mapper = new KubernetesIngressMapper(ingress.className());
        this.statusIps = statusIps(ingress, System.getenv(POD_IP_ENV));
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "svcproxy-kubernetes-ingress");
            t.setDaemon(true);
            return t;
        });
    }

    /** The IPs written to the status: the listeners' addresses; an unspecified one is {@code podIp}, if any. */
    static List<String> statusIps(IngressSettings ingress, String podIp) {
        Set<String> ips = new LinkedHashSet<>();
        for (InetSocketAddress a : new InetSocketAddress[] {ingress.http(), ingress.https()}) {
            if (a == null) {
                continue;
            }
            if (a.getAddress().isAnyLocalAddress()) {
                if (podIp != null && !podIp.isEmpty()) {
                    ips.add(podIp);
                }
            } else {
                ips.add(a.getAddress().getHostAddress());
            }
        }
        return List.copyOf(ips);
    }

    /** Starts the informers. Returns at once; the listener hears of the first full list when it has arrived. */
    public synchronized void start() {
        if (classInformer != null) {
            throw new IllegalStateException("already started");
        }
        long resync = TimeUnit.MINUTES.toMillis(KubernetesSource.RESYNC_MINUTES);
        classInformer = client.network().v1().ingressClasses().runnableInformer(resync);
        if (settings.namespaces().isEmpty()) {
            ingressInformers.add(client.network().v1().ingresses().inAnyNamespace().runnableInformer(resync));
            secretInformers.add(client.secrets().inAnyNamespace().withField("type", TLS_SECRETS)
                    .runnableInformer(resync));
        } else {
            for (String ns : settings.namespaces()) {
                ingressInformers.add(client.network().v1().ingresses().inNamespace(ns).runnableInformer(resync));
                secretInformers.add(client.secrets().inNamespace(ns).withField("type", TLS_SECRETS)
                        .runnableInformer(resync));
            }
        }
        log.info("Starting Kubernetes ingress source namespaces={} statusAddresses={}",
                settings.namespaces().isEmpty() ? "all" : settings.namespaces(), statusIps);
        for (SharedIndexInformer<?> informer : all()) {
            start(informer);
        }
    }

    private List<SharedIndexInformer<?>> all() {
        List<SharedIndexInformer<?>> all = new ArrayList<>(ingressInformers);
        all.addAll(secretInformers);
        if (classInformer != null) {
            all.add(classInformer);
        }
        return all;
    }

    private <T> void start(SharedIndexInformer<T> informer) {
        Informers.start(informer, this::trigger, () -> closed, log);
    }

    /** Returns whether every informer has listed its resources at least once. */
    public synchronized boolean synced() {
        List<SharedIndexInformer<?>> all = all();
        return classInformer != null && all.stream().allMatch(SharedIndexInformer::hasSynced);
    }

    /**
     * Takes this proxy's addresses out of the status of every Ingress that lists them, at the start of a graceful
     * shutdown, so that a load balancer or external-dns following the status stops sending clients here (another
     * replica serving the same address writes it back at its next recompute). On this source's thread, after which
     * no recompute writes the status again; waits up to {@code timeout} for the API server.
     */
    public void withdrawStatus(Duration timeout) {
        if (statusIps.isEmpty() || closed) {
            return;
        }
        withdrawn = true;
        try {
            executor.submit(() -> {
                List<Ingress> all = new ArrayList<>();
                ingressInformers.forEach(i -> all.addAll(i.getStore().list()));
                writeStatus(all, List.of());
            }).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException | RejectedExecutionException e) {
            log.info("Ingress status not withdrawn error={}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the informers and the source's thread. The client stays open. */
    @Override
    public synchronized void close() {
        closed = true;
        for (SharedIndexInformer<?> informer : all()) {
            informer.stop();
        }
        executor.shutdownNow();
    }

    private void trigger() {
        if (!closed && pending.compareAndSet(false, true)) {
            try {
                executor.schedule(this::recompute, KubernetesSource.COALESCE_MILLIS, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                // closed meanwhile
            }
        }
    }

    private void recompute() {
        pending.set(false);
        if (closed) {
            return;
        }
        try {
            boolean synced = synced();
            List<Ingress> all = new ArrayList<>();
            ingressInformers.forEach(i -> all.addAll(i.getStore().list()));
            Map<String, Secret> secrets = new HashMap<>();
            for (SharedIndexInformer<Secret> informer : secretInformers) {
                for (Secret s : informer.getStore().list()) {
                    secrets.put(s.getMetadata().getNamespace() + "/" + s.getMetadata().getName(), s);
                }
            }
            List<Ingress> served = mapper.served(all, classInformer.getStore().list());
            List<IngressSpec> out = new ArrayList<>();
            for (Ingress ingress : served) {
                out.add(mapper.map(ingress, secrets));
            }
            if (synced && !withdrawn) {
                writeStatus(all, served);
            }
            if (out.equals(last) && synced == lastSynced) {
                return;
            }
            last = List.copyOf(out);
            lastSynced = synced;
            log.info("Kubernetes ingresses updated ingresses={} synced={}", out.size(), synced);
            listener.update(last, synced);
        } catch (RuntimeException e) {
            log.error("Kubernetes ingress recompute failed", e);
        }
    }

    /** Writes our addresses into the status of the served Ingresses, and takes them out of the others'. */
    private void writeStatus(List<Ingress> all, List<Ingress> served) {
        if (statusIps.isEmpty()) {
            return;
        }
        Set<String> servedIds = new HashSet<>();
        served.forEach(i -> servedIds.add(id(i)));
        for (Ingress ingress : all) {
            List<IngressLoadBalancerIngress> entries = statusEntries(entries(ingress), statusIps,
                    servedIds.contains(id(ingress)));
            if (entries == null) {
                continue;
            }
            List<String> wanted = entries.stream().map(KubernetesIngressSource::key).toList();
            Ingress updated = new IngressBuilder(ingress).editOrNewStatus().editOrNewLoadBalancer()
                    .withIngress(entries).endLoadBalancer().endStatus().build();
            try {
                client.network().v1().ingresses().inNamespace(ingress.getMetadata().getNamespace())
                        .resource(updated).updateStatus();
                log.info("Ingress status written ingress={} addresses={}", id(ingress), wanted);
            } catch (KubernetesClientException e) {
                log.info("Ingress status not written, retrying at the next change ingress={} code={} error={}",
                        id(ingress), e.getCode(), e.getMessage());
            }
        }
    }

    /**
     * The status entries an Ingress should have, or {@code null} when it has them already (compared as a set: two
     * replicas that each put their own address first rewrote each other's order forever, each write a watch event
     * that set off the other's). Ours are added when it is served and taken out when not; entries of others (another
     * replica's address, a hostname, ports) are kept as they are; the list is sorted, as ingress-nginx writes it, so
     * every replica wants the same one.
     */
    static List<IngressLoadBalancerIngress> statusEntries(List<IngressLoadBalancerIngress> current, List<String> ours,
                                                          boolean served) {
        List<IngressLoadBalancerIngress> out = new ArrayList<>();
        for (IngressLoadBalancerIngress e : current) {
            if (e.getIp() == null || !ours.contains(e.getIp())) {
                out.add(e);
            }
        }
        if (served) {
            for (String ip : ours) {
                out.add(new IngressLoadBalancerIngressBuilder().withIp(ip).build());
            }
        }
        Set<String> before = new HashSet<>();
        current.forEach(e -> before.add(key(e)));
        Set<String> after = new HashSet<>();
        out.forEach(e -> after.add(key(e)));
        if (before.equals(after)) {
            return null;
        }
        out.sort(java.util.Comparator.comparing(KubernetesIngressSource::key));
        return out;
    }

    /** An entry's address (its IP, else its hostname) for comparing and sorting. */
    private static String key(IngressLoadBalancerIngress e) {
        return e.getIp() != null ? e.getIp() : String.valueOf(e.getHostname());
    }

    private static List<IngressLoadBalancerIngress> entries(Ingress ingress) {
        if (ingress.getStatus() == null || ingress.getStatus().getLoadBalancer() == null
                || ingress.getStatus().getLoadBalancer().getIngress() == null) {
            return List.of();
        }
        return ingress.getStatus().getLoadBalancer().getIngress();
    }

    private static String id(Ingress ingress) {
        return ingress.getMetadata().getNamespace() + "/" + ingress.getMetadata().getName();
    }
}
