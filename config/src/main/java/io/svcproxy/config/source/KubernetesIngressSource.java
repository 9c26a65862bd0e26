package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.svcproxy.config.IngressSettings;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.config.KubernetesSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
 * Ingress's {@code status.loadBalancer.ingress} with the addresses it is served on ({@link IngressStatus}: those of
 * {@code proxy.ingress.publishService}, else the IPs of {@code proxy.ingress.http} and {@code https}, for an
 * unspecified address {@code $POD_IP}), and takes its addresses out of the status of an Ingress it served and no
 * longer serves, or of our class and not served, and, without a publish Service, of those it served when it shuts down
 * gracefully ({@link #withdrawStatus}; a replica that dies leaves its address until another one rewrites the status).
 * Other controllers' Ingresses are left alone.
 *
 * <p>Least RBAC: list and watch on ingresses and ingressclasses (networking.k8s.io) and on secrets (and on services,
 * for a publish Service): informers only, nothing is read by name; update on ingresses/status (a PUT of the
 * informer's version, no read before it). Events are coalesced as in {@link KubernetesSource};
 * recomputes, listener calls and status writes run on this source's one thread, the routing first. Nothing is
 * reported before every informer has listed. A status write refused by a conflict is written again at the event of
 * the write that won; one refused otherwise (a 403) is tried again after 2 s, doubling up to 5 min.
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
    private final IngressStatus status;
    private SharedIndexInformer<Service> publishInformer;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean pending = new AtomicBoolean();
    private final List<SharedIndexInformer<Ingress>> ingressInformers = new ArrayList<>();
    private final List<SharedIndexInformer<Secret>> secretInformers = new ArrayList<>();
    private SharedIndexInformer<IngressClass> classInformer;
    private volatile boolean closed;
    private volatile long notListedNanos = TimeUnit.SECONDS.toNanos(30);
    private volatile List<String> reportedNotListed = List.of();
    /** Set by {@link #withdrawStatus}: the status is no longer written. */
    private volatile boolean withdrawn;
    // Confined to the executor's thread.
    private List<IngressSpec> last;
    /** The recompute due for a refused status write, if any. */
    private java.util.concurrent.ScheduledFuture<?> retry;
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
        this.status = new IngressStatus(client, ingress, System.getenv(POD_IP_ENV));
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "svcproxy-kubernetes-ingress");
            t.setDaemon(true);
            return t;
        });
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
        publishInformer = status.informer(resync);
        log.info("Starting Kubernetes ingress source namespaces={} statusAddresses={}",
                settings.namespaces().isEmpty() ? "all" : settings.namespaces(), status.describe());
        for (SharedIndexInformer<?> informer : all()) {
            start(informer);
        }
        executor.schedule(this::reportNotListed, notListedNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Names, at a WARN, the resources not listed yet (no Kubernetes Ingress is served before all are: no RBAC on
     * secrets, say, or a namespace without a Role), then again every {@link KubernetesSource#NOT_LISTED_REPEAT_SECONDS}
     * while some are not.
     */
    private void reportNotListed() {
        if (closed) {
            return;
        }
        List<String> missing = new ArrayList<>();
        synchronized (this) {
            if (!classInformer.hasSynced()) {
                missing.add("ingressclasses");
            }
            Informers.notListed("ingresses", ingressInformers, settings.namespaces(), missing);
            Informers.notListed("secrets", secretInformers, settings.namespaces(), missing);
        }
        reportedNotListed = List.copyOf(missing);
        Informers.warnNotListed(log, "Ingress", missing, executor, this::reportNotListed);
    }

    /** What {@link #reportNotListed} named last (empty: nothing, or not run yet). */
    List<String> reportedNotListed() {
        return reportedNotListed;
    }

    /** Waits this long after start before naming what is not listed (tests shorten it); before {@link #start}. */
    void notListedAfter(Duration d) {
        notListedNanos = d.toNanos();
    }

    private List<SharedIndexInformer<?>> all() {
        List<SharedIndexInformer<?>> all = new ArrayList<>(ingressInformers);
        all.addAll(secretInformers);
        if (classInformer != null) {
            all.add(classInformer);
        }
        if (publishInformer != null) {
            all.add(publishInformer);
        }
        return all;
    }

    private <T> void start(SharedIndexInformer<T> informer) {
        Informers.start(informer, this::trigger, () -> closed, log);
    }

    /**
     * Returns whether every informer of the routing has listed its resources at least once (not the publish
     * Service's: the status waits for it, the routing and readiness do not).
     */
    public synchronized boolean synced() {
        List<SharedIndexInformer<?>> all = all();
        all.remove(publishInformer);
        return classInformer != null && all.stream().allMatch(SharedIndexInformer::hasSynced);
    }

    /**
     * Takes the listeners' addresses of a reload ({@code proxy.ingress.http} and {@code https} move live): the status
     * of the served Ingresses names the new ones and loses the old ones. Any thread.
     */
    public void setListeners(IngressSettings ingress) {
        try {
            executor.execute(() -> {
                status.setListeners(ingress);
                trigger();
            });
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    /**
     * Takes this proxy's addresses out of the status of the Ingresses it served, at the start of a graceful
     * shutdown, so that a load balancer or external-dns following the status stops sending clients here (another
     * replica serving the same address writes it back at its next recompute). On this source's thread, after which
     * no recompute writes the status again; waits up to {@code timeout} for the API server.
     */
    public void withdrawStatus(Duration timeout) {
        if (!status.withdrawsAtShutdown() || closed) {
            return;
        }
        withdrawn = true;
        try {
            executor.submit(() -> {
                List<Ingress> all = new ArrayList<>();
                ingressInformers.forEach(i -> all.addAll(i.getStore().list()));
                status.withdraw(all);
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

    /** Recomputes that failed in a row (the source's thread only). */
    private int failures;

    private void recompute() {
        pending.set(false);
        if (closed) {
            return;
        }
        try {
            boolean synced = synced();
            if (!synced) {
                // which Ingresses are served depends on the classes, and a Secret not listed yet is not missing: no
                // list (and no warning) before every informer has listed; the state is not synced meanwhile
                return;
            }
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
            mapper.mapped();
            if (!out.equals(last) || synced != lastSynced) {
                last = List.copyOf(out);
                lastSynced = synced;
                log.info("Kubernetes ingresses updated ingresses={} synced={}", out.size(), synced);
                listener.update(last, synced); // routed first: the status writes below may wait for the API server
            }
            if (!withdrawn) {
                long retry = status.write(all, served);
                if (retry > 0) {
                    scheduleRetry(retry);
                }
            }
            failures = 0;
        } catch (RuntimeException e) {
            if (closed) {
                // the source closes (the proxy stops) while this run used the client, which closes right after it
                log.debug("Kubernetes ingress recompute stopped by the close error={}", e.toString());
                return;
            }
            last = null; // the next run hands the whole list over, even when it maps the same as this one
            long delay = KubernetesSource.retryMillis(failures);
            failures++;
            log.error("Kubernetes ingress recompute failed, run again in {} ms unless a change comes first", delay, e);
            scheduleRetry(TimeUnit.MILLISECONDS.toNanos(delay));
        }
    }

    /** Runs a recompute in {@code nanos}, for a status write that failed (unless one runs before: it retries too). */
    private void scheduleRetry(long nanos) {
        if (retry != null && !retry.isDone() && retry.getDelay(TimeUnit.NANOSECONDS) <= nanos) {
            return; // one due no later is there already
        }
        if (retry != null) {
            retry.cancel(false);
        }
        try {
            retry = executor.schedule(this::trigger, nanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }
}
