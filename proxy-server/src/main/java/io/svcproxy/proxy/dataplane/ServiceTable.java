package io.svcproxy.proxy.dataplane;

import io.svcproxy.config.ServiceKey;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Service ports in force, by key, with the version of the desired state they realise. Written by the
 * reconciler, read by the admin server and the metrics.
 */
public final class ServiceTable {
    private final Map<ServiceKey, ServicePort> ports = new ConcurrentHashMap<>();
    /** The ports by {@code namespace/name}, rebuilt on each put and remove (reconciler only), read per request. */
    private volatile Map<String, List<ServicePort>> byService = Map.of();
    private volatile long version;
    private volatile boolean ready;
    private volatile ReloadStatus lastReload;

    /** Returns the Service port on {@code key}, or {@code null}. */
    public ServicePort get(ServiceKey key) {
        return ports.get(key);
    }

    /** Returns the Service ports, ordered by namespace, name and port. */
    public List<ServicePort> servicePorts() {
        List<ServicePort> list = new java.util.ArrayList<>(ports.values());
        list.sort(Comparator.comparing(ServicePort::serviceLabel)
                .thenComparingInt(p -> p.key().port())
                .thenComparing(p -> p.key().protocol()));
        return Collections.unmodifiableList(list);
    }

    /** Returns the keys in force. */
    public Collection<ServiceKey> keys() {
        return Collections.unmodifiableSet(ports.keySet());
    }

    /** Returns the ports of the Service {@code namespace/name}, ordered by port (empty if none). */
    public List<ServicePort> portsOf(String qualifiedName) {
        return byService.getOrDefault(qualifiedName, List.of());
    }

    /** Adds or replaces a Service port; reconciler only. */
    public void put(ServicePort port) {
        ports.put(port.key(), port);
        reindex();
    }

    /** Removes a Service port; reconciler only. */
    public void remove(ServiceKey key) {
        ports.remove(key);
        reindex();
    }

    private synchronized void reindex() {
        Map<String, List<ServicePort>> index = new java.util.HashMap<>();
        for (ServicePort p : servicePorts()) {
            index.computeIfAbsent(p.serviceLabel(), k -> new java.util.ArrayList<>()).add(p);
        }
        index.replaceAll((k, v) -> List.copyOf(v));
        byService = Map.copyOf(index);
    }

    /** Returns the version of the desired state in force: 1 after the first apply, one more per applied change. */
    public long version() {
        return version;
    }

    public void setVersion(long version) {
        this.version = version;
    }

    /** Returns the outcome of the last config change, or {@code null} when there was none since start. */
    public ReloadStatus lastReload() {
        return lastReload;
    }

    public void setLastReload(ReloadStatus lastReload) {
        this.lastReload = lastReload;
    }

    /** Returns whether every listener is bound and every source has synced. */
    public boolean isReady() {
        return ready;
    }

    public void setReady(boolean ready) {
        this.ready = ready;
    }
}
