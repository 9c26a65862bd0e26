package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.ServicePortSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
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
 * until it runs joins it. A recompute maps again only the Services named by the events since the last one (a
 * Service's own events and those of the slices labelled with its name, found through an informer index; {@link
 * ServiceChangeTracker}), so one endpoint change costs the mapping of one Service, not of the cluster; the first full
 * list, and a failed recompute, map everything. Recomputes and listener calls run on one thread of this source, one at a time. The
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

    /**
     * Returns this node's name as {@code $NODE_NAME} gives it, taken as kube-proxy takes its hostname ({@code
     * GetHostname}: trimmed and lower-cased, as EndpointSlices write node names), or {@code null} when unset or blank.
     */
    public static String nodeNameFromEnvironment(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        return value.strip().toLowerCase(java.util.Locale.ROOT);
    }
    /** The Node label holding the node's zone. */
    public static final String ZONE_LABEL = "topology.kubernetes.io/zone";
    /** A Service (or EndpointSlice) with this label belongs to another service proxy: kube-proxy leaves it alone. */
    static final String SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name";
    /** The EndpointSlices of a headless Service carry this label. */
    static final String HEADLESS_LABEL = "service.kubernetes.io/headless";

    static final long COALESCE_MILLIS = 50;
    static final long RESYNC_MINUTES = 5;
    /** A failed recompute is run again after this, doubling per failure in a row up to {@link #RETRY_MAX_MILLIS}. */
    private static final long RETRY_MILLIS = 1000;
    private static final long RETRY_MAX_MILLIS = 60_000;

    /** How long after its {@code failed}-th failure in a row (0 for the first) a recompute runs again. */
    static long retryMillis(int failed) {
        return Math.min(RETRY_MAX_MILLIS, RETRY_MILLIS << Math.min(failed, 16));
    }
    private static final Logger log = LoggerFactory.getLogger(KubernetesSource.class);

    private final KubernetesClient client;
    private final KubernetesSettings settings;
    private final Listener listener;
    private final ScheduledExecutorService executor;
    /** How long after start, and then how often, what is not listed yet is named ({@link #reportNotListed}). */
    private volatile long notListedNanos = TimeUnit.SECONDS.toNanos(30);
    static final long NOT_LISTED_REPEAT_SECONDS = 300;
    private volatile List<String> reportedNotListed = List.of();
    private final AtomicBoolean pending = new AtomicBoolean();
    private final List<SharedIndexInformer<Service>> serviceInformers = new ArrayList<>();
    private final List<SharedIndexInformer<EndpointSlice>> sliceInformers = new ArrayList<>();
    /** Which Services changed (any thread), and their mappings (the source's thread). */
    private final ServiceChangeTracker tracker = new ServiceChangeTracker(serviceInformers, sliceInformers);
    /** This node's zone: the YAML's, or read from the Node and followed. */
    private NodeZone nodeZone;
    private volatile boolean closed;
    // Confined to the executor's thread.
    private KubernetesServiceMapper mapper;
    private List<ServicePortSpec> last;
    /** Recomputes that failed in a row, and the run again after the last (the source's thread only). */
    private int failures;
    private java.util.concurrent.ScheduledFuture<?> retry;

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
            if (!settings.kubeconfigReadable()) {
                throw new IllegalArgumentException("kubeconfig: " + settings.kubeconfig()
                        + " (expected: a readable kubeconfig file)");
            }
            try {
                config = Config.fromKubeconfig(settings.kubeconfig().toFile());
            } catch (RuntimeException e) { // the client's own errors, and its YAML parser's on a file that is not YAML
                throw new IllegalArgumentException("kubeconfig: " + settings.kubeconfig() + " (expected: a "
                        + "kubeconfig file: " + String.valueOf(e.getMessage()).replaceAll("\\s*\\R\\s*", " ").trim()
                        + ")", e);
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
        String nodeName = settings.nodeName() != null ? settings.nodeName()
                : nodeNameFromEnvironment(System.getenv(NODE_NAME_ENV));
        long resync = TimeUnit.MINUTES.toMillis(RESYNC_MINUTES);
        nodeZone = NodeZone.start(client, nodeName, settings.zone(), resync, zone -> execute(() -> zoneSeen(zone)));
        // first task of the source's thread, so before any recompute: it waits for the Node's zone (a while at most)
        executor.execute(() -> {
            String zone = nodeZone.first();
            mapper = new KubernetesServiceMapper(settings, nodeName, zone);
            log.info("Starting Kubernetes source namespaces={} node={} zone={}",
                    settings.namespaces().isEmpty() ? "all" : settings.namespaces(), nodeName, zone);
        });
        // kube-proxy's label selector for both (cmd/kube-proxy/app/server.go): not the Services another service proxy
        // serves, nor the EndpointSlices of headless Services (skipped anyway; not held for nothing)
        if (settings.namespaces().isEmpty()) {
            serviceInformers.add(client.services().inAnyNamespace().withoutLabel(SERVICE_PROXY_NAME_LABEL)
                    .withoutLabel(HEADLESS_LABEL).runnableInformer(resync));
            sliceInformers.add(client.discovery().v1().endpointSlices().inAnyNamespace()
                    .withoutLabel(SERVICE_PROXY_NAME_LABEL).withoutLabel(HEADLESS_LABEL).runnableInformer(resync));
        } else {
            for (String ns : settings.namespaces()) {
                serviceInformers.add(client.services().inNamespace(ns).withoutLabel(SERVICE_PROXY_NAME_LABEL)
                        .withoutLabel(HEADLESS_LABEL).runnableInformer(resync));
                sliceInformers.add(client.discovery().v1().endpointSlices().inNamespace(ns)
                        .withoutLabel(SERVICE_PROXY_NAME_LABEL).withoutLabel(HEADLESS_LABEL).runnableInformer(resync));
            }
        }
        sliceInformers.forEach(ServiceChangeTracker::indexByService);
        for (SharedIndexInformer<Service> informer : serviceInformers) {
            Informers.start(informer, service -> changed(tracker.serviceChanged(service)), this::changedAll,
                    () -> closed, log);
        }
        for (SharedIndexInformer<EndpointSlice> informer : sliceInformers) {
            Informers.start(informer, slice -> changed(tracker.sliceChanged(slice)), this::changedAll, () -> closed,
                    log);
        }
        executor.schedule(this::reportNotListed, notListedNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Names, at a WARN, what has not been listed yet, then again every {@link #NOT_LISTED_REPEAT_SECONDS} while it
     * is not: nothing is published before Services and EndpointSlices are both listed (as kube-proxy), so a list
     * the API server refuses (RBAC on one kind, one namespace without its RoleBinding) would otherwise show only as
     * the informers' retries.
     */
    private void reportNotListed() {
        if (closed) {
            return;
        }
        List<String> missing = new ArrayList<>();
        synchronized (this) {
            Informers.notListed("services", serviceInformers, settings.namespaces(), missing);
            Informers.notListed("endpointslices", sliceInformers, settings.namespaces(), missing);
        }
        reportedNotListed = List.copyOf(missing);
        Informers.warnNotListed(log, "Service", missing, executor, this::reportNotListed);
    }

    /** What {@link #reportNotListed} named last (empty: nothing, or not run yet). */
    List<String> reportedNotListed() {
        return reportedNotListed;
    }

    /**
     * Takes the YAML's new choices of scheduler per Service ({@code registry.kubernetes.services} of a reload):
     * every Service is mapped again, and those whose scheduler changed are published with it. Any thread.
     */
    public void setSchedulers(KubernetesSettings next) {
        execute(() -> {
            if (mapper != null) {
                mapper = mapper.withSchedulers(next);
                tracker.remapAll(); // a Service whose objects did not change is mapped again too
                trigger();
            }
        });
    }

    /** Waits this long after start before naming what is not listed (tests shorten it). */
    void notListedAfter(Duration d) {
        notListedNanos = d.toNanos();
    }

    /** Runs a recompute soon when a handler's object named a Service. */
    private void changed(boolean named) {
        if (named) {
            trigger();
        }
    }

    private void changedAll() {
        tracker.changedAll();
        trigger();
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

    /** Maps every Service again for a node of {@code zone} when it is not the zone mapped with. Source's thread. */
    private void zoneSeen(String zone) {
        if (mapper != null && !Objects.equals(zone, mapper.zone())) {
            log.info("Kubernetes node zone changed zone={} was={}", zone, mapper.zone());
            mapper = mapper.withZone(zone);
            tracker.remapAll();
            trigger();
        }
    }

    /** Runs {@code task} on the source's thread, unless closed. */
    private void execute(Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    /** Stops the informers and the source's thread. The client stays open. */
    @Override
    public synchronized void close() {
        closed = true;
        if (nodeZone != null) {
            nodeZone.close();
        }
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
            if (!synced()) {
                // as kube-proxy, which syncs no rule before both informers have listed: a Service published before
                // its EndpointSlices are would be bound with no endpoint and refuse its clients until they are
                return; // the changes stay dirty; the last informer's first list runs this again
            }
            List<ServicePortSpec> out = tracker.servicePorts(mapper);
            if (out.equals(last)) {
                return;
            }
            last = List.copyOf(out);
            log.debug("Kubernetes services updated servicePorts={}", out.size());
            listener.update(last, true); // only ever called synced (above)
            failures = 0;
            if (retry != null) {
                retry.cancel(false); // this run did what it was for
                retry = null;
            }
        } catch (RuntimeException e) {
            if (closed) {
                // the source closes (the proxy stops) while this run used the client, which closes right after it
                log.debug("Kubernetes recompute stopped by the close error={}", e.toString());
                return;
            }
            tracker.changedAll(); // the changes taken for this run may be lost: the next run maps everything
            last = null; // and hands the whole list over, even when it maps the same as this run
            long delay = retryMillis(failures);
            failures++;
            log.error("Kubernetes recompute failed, run again in {} ms unless a change comes first", delay, e);
            if (retry != null) {
                retry.cancel(false); // one retry at a time: the last failure's
            }
            try {
                retry = executor.schedule(this::trigger, delay, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                // closed meanwhile
            }
        }
    }
}
