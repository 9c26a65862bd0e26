package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.ServicePortSpec;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches v1 Services and discovery.k8s.io/v1 EndpointSlices with fabric8 informers and reports the full list of
 * Kubernetes Service ports ({@link KubernetesServiceMapper}) after every change.
 *
 * <p>Events are coalesced: a change schedules one recompute {@value #COALESCE_MILLIS} ms later, and every change
 * until it runs joins it. Recomputes and listener calls run on one thread of this source, one at a time. The
 * informers re-list and re-watch by themselves after a watch error (the fabric8 reflector backs off and lists
 * again when its resource version is gone); this source retries every exception and logs it, and resyncs every
 * {@value #RESYNC_MINUTES} minutes, which also recomputes.
 */
public final class KubernetesSource implements AutoCloseable {
    /** Receives the Kubernetes Service ports, on the source's thread. */
    public interface Listener {
        /**
         * Takes the full list of Service ports; their scheduler is {@code null} when the proxy's default applies.
         *
         * @param synced whether every informer has listed its resources at least once
         */
        void update(List<ServicePortSpec> servicePorts, boolean synced);
    }

    /** The environment variable the downward API sets to the node's name ({@code spec.nodeName}). */
    public static final String NODE_NAME_ENV = "NODE_NAME";
    /** The Node label holding the node's zone. */
    public static final String ZONE_LABEL = "topology.kubernetes.io/zone";

    static final long COALESCE_MILLIS = 50;
    static final long RESYNC_MINUTES = 5;

    private static final Logger log = LoggerFactory.getLogger(KubernetesSource.class);

    private final KubernetesClient client;
    private final KubernetesSettings settings;
    private final Listener listener;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean pending = new AtomicBoolean();
    private final List<SharedIndexInformer<Service>> serviceInformers = new ArrayList<>();
    private final List<SharedIndexInformer<EndpointSlice>> sliceInformers = new ArrayList<>();
    private volatile boolean closed;
    // Confined to the executor's thread.
    private KubernetesServiceMapper mapper;
    private List<ServicePortSpec> last;
    /**
     * The last mapping of each Service, kept while neither the Service nor its slices change: the informers hand
     * out the same objects until a resource changes, so one change maps one Service again, not the cluster, and the
     * Service ports of the others stay the same objects all the way to the reconciler. Source thread only.
     */
    private Map<String, Mapped> mapped = Map.of();
    private boolean lastSynced;

    /**
     * Creates a source; {@link #start()} starts it. It does not own the client: {@link #close()} leaves it open.
     */
    public KubernetesSource(KubernetesClient client, KubernetesSettings settings, Listener listener) {
        this.client = Objects.requireNonNull(client, "client");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "svcproxy-kubernetes");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Returns a client for the settings: from the kubeconfig file when one is set (its current context), else
     * from fabric8's auto-configuration (the {@code KUBECONFIG} or {@code ~/.kube/config} file when there is one,
     * else the in-cluster service account).
     *
     * @throws IllegalArgumentException when the kubeconfig file cannot be read or understood
     */
    public static KubernetesClient connect(KubernetesSettings settings) {
        Config config;
        if (settings.kubeconfig() != null) {
            if (!Files.isReadable(settings.kubeconfig())) {
                throw new IllegalArgumentException("kubeconfig: " + settings.kubeconfig()
                        + " (expected: a readable kubeconfig file)");
            }
            try {
                config = Config.fromKubeconfig(settings.kubeconfig().toFile());
            } catch (KubernetesClientException | IllegalArgumentException e) {
                throw new IllegalArgumentException("kubeconfig: " + settings.kubeconfig() + " (expected: a "
                        + "kubeconfig file: " + e.getMessage() + ")", e);
            }
        } else {
            config = Config.autoConfigure(null);
        }
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /**
     * Starts the informers: Services and EndpointSlices in each configured namespace, or in all namespaces when
     * none is configured. Returns at once; the listener hears of the first full list when it has arrived.
     */
    public synchronized void start() {
        if (!serviceInformers.isEmpty()) {
            throw new IllegalStateException("already started");
        }
        String nodeName = settings.nodeName() != null ? settings.nodeName() : emptyToNull(System.getenv(NODE_NAME_ENV));
        // First task of the source's thread, so before any recompute; off the caller's thread, because reading
        // the Node may wait for an API server that is not there yet.
        executor.execute(() -> {
            String zone = settings.zone() != null ? settings.zone() : zoneOf(nodeName);
            mapper = new KubernetesServiceMapper(settings, nodeName, zone);
            log.info("Starting Kubernetes source namespaces={} node={} zone={}",
                    settings.namespaces().isEmpty() ? "all" : settings.namespaces(), nodeName, zone);
        });
        long resync = TimeUnit.MINUTES.toMillis(RESYNC_MINUTES);
        if (settings.namespaces().isEmpty()) {
            serviceInformers.add(client.services().inAnyNamespace().runnableInformer(resync));
            sliceInformers.add(client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(resync));
        } else {
            for (String ns : settings.namespaces()) {
                serviceInformers.add(client.services().inNamespace(ns).runnableInformer(resync));
                sliceInformers.add(client.discovery().v1().endpointSlices().inNamespace(ns).runnableInformer(resync));
            }
        }
        List<SharedIndexInformer<?>> all = new ArrayList<>(serviceInformers);
        all.addAll(sliceInformers);
        for (SharedIndexInformer<?> informer : all) {
            start(informer);
        }
    }

    private <T> void start(SharedIndexInformer<T> informer) {
        Informers.start(informer, this::trigger, () -> closed, log);
    }

    /** Returns whether every informer has listed its resources at least once. */
    public boolean synced() {
        List<SharedIndexInformer<?>> all;
        synchronized (this) {
            all = new ArrayList<>(serviceInformers);
            all.addAll(sliceInformers);
        }
        return !all.isEmpty() && all.stream().allMatch(SharedIndexInformer::hasSynced);
    }

    /** Stops the informers and the source's thread. The client stays open. */
    @Override
    public synchronized void close() {
        closed = true;
        for (SharedIndexInformer<?> informer : serviceInformers) {
            informer.stop();
        }
        for (SharedIndexInformer<?> informer : sliceInformers) {
            informer.stop();
        }
        executor.shutdownNow();
    }

    private void trigger() {
        if (!closed && pending.compareAndSet(false, true)) {
            try {
                executor.schedule(this::recompute, COALESCE_MILLIS, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closed meanwhile
            }
        }
    }

    private void recompute() {
        pending.set(false); // a change from now on schedules another run
        if (closed || mapper == null) {
            return;
        }
        try {
            boolean synced = synced();
            Map<String, List<EndpointSlice>> slices = new HashMap<>();
            for (SharedIndexInformer<EndpointSlice> informer : sliceInformers) {
                for (EndpointSlice slice : informer.getStore().list()) {
                    if (slice.getMetadata() == null || slice.getMetadata().getLabels() == null) {
                        continue;
                    }
                    String service = slice.getMetadata().getLabels().get(KubernetesServiceMapper.SERVICE_NAME_LABEL);
                    if (service != null) {
                        slices.computeIfAbsent(slice.getMetadata().getNamespace() + "/" + service,
                                k -> new ArrayList<>()).add(slice);
                    }
                }
            }
            // a stable order, so that an unchanged Service's slices compare as the same list (see Mapped)
            slices.values().forEach(l -> l.sort(Comparator.comparing(x -> String.valueOf(x.getMetadata().getName()))));
            List<Service> services = new ArrayList<>();
            for (SharedIndexInformer<Service> informer : serviceInformers) {
                services.addAll(informer.getStore().list());
            }
            services.sort(Comparator.comparing((Service s) -> String.valueOf(s.getMetadata().getNamespace()))
                    .thenComparing(s -> String.valueOf(s.getMetadata().getName())));
            List<ServicePortSpec> out = new ArrayList<>();
            Map<String, Mapped> mapped = new HashMap<>();
            for (Service service : services) {
                String key = service.getMetadata().getNamespace() + "/" + service.getMetadata().getName();
                List<EndpointSlice> own = slices.getOrDefault(key, List.of());
                Mapped previous = this.mapped.get(key);
                Mapped m = previous != null && previous.isOf(service, own) ? previous
                        : new Mapped(service, own, mapper.map(service, own));
                mapped.put(key, m);
                out.addAll(m.servicePorts());
            }
            this.mapped = mapped;
            if (out.equals(last) && synced == lastSynced) {
                return;
            }
            last = List.copyOf(out);
            lastSynced = synced;
            log.debug("Kubernetes services updated servicePorts={} synced={}", out.size(), synced);
            listener.update(last, synced);
        } catch (RuntimeException e) {
            log.error("Kubernetes recompute failed", e);
        }
    }

    /** Returns the zone label of the named Node, or {@code null} when there is no name or it cannot be read. */
    private String zoneOf(String nodeName) {
        if (nodeName == null) {
            return null;
        }
        try {
            Node node = client.nodes().withName(nodeName).get();
            if (node == null || node.getMetadata().getLabels() == null) {
                log.info("Kubernetes node has no zone; zone hints are not honoured node={}", nodeName);
                return null;
            }
            return emptyToNull(node.getMetadata().getLabels().get(ZONE_LABEL));
        } catch (RuntimeException e) { // KubernetesClientException, or its cause when the server is unreachable
            log.info("Cannot read the node's zone; zone hints are not honoured node={} error={}", nodeName,
                    e.getMessage());
            return null;
        }
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    /** A Service and its slices, as the informers gave them, and the Service ports they map to. */
    private record Mapped(Service service, List<EndpointSlice> slices, List<ServicePortSpec> servicePorts) {
        /** Returns whether these are the very objects (not equal ones: the informers replace what changed). */
        boolean isOf(Service service, List<EndpointSlice> slices) {
            if (this.service != service || this.slices.size() != slices.size()) {
                return false;
            }
            for (int i = 0; i < slices.size(); i++) {
                if (this.slices.get(i) != slices.get(i)) {
                    return false;
                }
            }
            return true;
        }
    }
}
