package io.svcproxy.config.source;

import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Indexer;
import io.fabric8.kubernetes.client.informers.impl.cache.CacheImpl;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;

/** How svcproxy's Kubernetes sources run a fabric8 informer: every event is a change, and a failure never stops it. */
final class Informers {
    private Informers() {
    }

    /**
     * Starts {@code informer}: each add, update and delete calls {@code onChange}, and so does the first full list
     * (logged); a failed list or watch is logged and tried again (the reflector backs off) until {@code closed}: a
     * proxy that stops watching serves stale endpoints silently; a stop while not closed is logged as an error.
     */
    static <T> void start(SharedIndexInformer<T> informer, Runnable onChange, BooleanSupplier closed, Logger log) {
        start(informer, changed -> onChange.run(), onChange, closed, log);
    }

    /**
     * Starts {@code informer} as {@link #start(SharedIndexInformer, Runnable, BooleanSupplier, Logger)} does, but
     * tells which object changed: {@code onChange} takes each object added, deleted, and both the old and the new
     * one of an update; {@code onSynced} runs after the first full list.
     */
    static <T> void start(SharedIndexInformer<T> informer, java.util.function.Consumer<T> onChange, Runnable onSynced,
                          BooleanSupplier closed, Logger log) {
        String kind = informer.getApiTypeClass().getSimpleName();
        informer.addEventHandler(new ResourceEventHandler<T>() {
            @Override
            public void onAdd(T obj) {
                onChange.accept(obj);
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                onChange.accept(oldObj);
                onChange.accept(newObj);
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                onChange.accept(obj);
            }
        });
        informer.exceptionHandler((started, t) -> {
            if (!closed.getAsBoolean()) {
                // INFO: fabric8's Reflector logs the same failure at WARN ("... failed for ..., will retry")
                log.info("Kubernetes watch failed, retrying kind={} started={} error={}", kind, started,
                        t.toString());
            }
            return !closed.getAsBoolean();
        });
        informer.start().whenComplete((ignored, t) -> {
            if (t == null) {
                log.info("Kubernetes informer synced kind={}", kind);
                onSynced.run();
            }
        });
        informer.stopped().whenComplete((ignored, t) -> {
            if (!closed.getAsBoolean()) {
                log.error("Kubernetes informer stopped kind={} error={}", kind, String.valueOf(t));
            }
        });
    }

    /**
     * Returns the objects of {@code indexer} under {@code key} in its index {@code name}, read under the cache's lock.
     * fabric8's {@code CacheImpl} (7.5) moves an object put again from its old index entries to its new ones under that
     * lock, taking it out before putting it back, while its {@code byIndex} reads without the lock: a read in between
     * misses an object that is in the store all along. A watch or re-list that puts an object again with its resource
     * version unchanged notifies no handler, so nothing would correct a mapping made from such a read.
     */
    static <T> List<T> byIndex(Indexer<T> indexer, String name, String key) {
        Object lock = indexer instanceof CacheImpl<?> cache ? cache.getLockObject() : indexer;
        synchronized (lock) {
            return indexer.byIndex(name, key);
        }
    }

    /**
     * Adds to {@code missing}, as {@code kind namespace=NS}, each of {@code informers} (one per namespace, in the order
     * of {@code namespaces}; {@code all} when none is configured) that has not listed yet.
     */
    static void notListed(String kind, List<? extends SharedIndexInformer<?>> informers, List<String> namespaces,
                          List<String> missing) {
        List<String> names = namespaces.isEmpty() ? List.of("all") : namespaces;
        for (int i = 0; i < informers.size(); i++) {
            if (!informers.get(i).hasSynced()) {
                missing.add(kind + " namespace=" + names.get(i));
            }
        }
    }

    /**
     * Names {@code missing} (what has not listed yet) at a WARN saying that no {@code served} is served until it is,
     * and runs {@code again} in {@link KubernetesSource#NOT_LISTED_REPEAT_SECONDS}; nothing when all have listed. A list
     * the API server refuses (RBAC on one kind, a namespace without its binding) would otherwise show only as the
     * informers' retries.
     */
    static void warnNotListed(Logger log, String served, List<String> missing, ScheduledExecutorService executor,
                              Runnable again) {
        if (missing.isEmpty()) {
            return;
        }
        log.warn("Kubernetes resources not listed yet, no Kubernetes {} is served until they are (check that the API "
                + "server answers and RBAC allows list and watch) notListed={}", served, missing);
        try {
            executor.schedule(again, KubernetesSource.NOT_LISTED_REPEAT_SECONDS, TimeUnit.SECONDS);
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }
}
