package io.svcproxy.proxy.dataplane;

import io.svcproxy.config.ServiceKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Service ports in force, by key, with the version of the desired state they realise, and those removed whose
 * connections still drain. Written by the reconciler, read by the admin server and the metrics.
 */
public final class ServiceTable {
    private final Map<ServiceKey, ServicePort> ports = new ConcurrentHashMap<>();
    /**
     * The ports by {@code namespace/name}, each list ordered by port and replaced whole when one of its ports is put
     * or removed (reconciler only: the cost of a change is that Service's ports, not the table), read per request.
     */
    private final Map<String, List<ServicePort>> byService = new ConcurrentHashMap<>();
    /** Service ports removed from the table whose connections drain, until the reconciler's sweep lets them go. */
    private final Set<ServicePort> draining = ConcurrentHashMap.newKeySet();
    private volatile long version;
    private volatile boolean ready;
    private volatile ReloadStatus lastReload;
    private volatile List<String> unbound = List.of();

    /** Returns the Service port on {@code key}, or {@code null}. */
    public ServicePort get(ServiceKey key) {
        return ports.get(key);
    }

    private static final Comparator<ServicePort> BY_PORT = Comparator.<ServicePort>comparingInt(p -> p.key().port())
            .thenComparing(p -> p.key().protocol());
    /** The order of {@link #servicePorts()}: by namespace, name and port. */
    public static final Comparator<ServicePort> ORDER = Comparator.comparing(ServicePort::serviceLabel)
            .thenComparing(BY_PORT);

    /** Returns the Service ports, ordered by namespace, name and port. */
    public List<ServicePort> servicePorts() {
        List<ServicePort> list = new ArrayList<>(ports.values());
        list.sort(ORDER);
        return Collections.unmodifiableList(list);
    }

    /** Returns the Service ports in no particular order: a live view, for passes that need no order. */
    public Collection<ServicePort> unordered() {
        return Collections.unmodifiableCollection(ports.values());
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
    public synchronized void put(ServicePort port) {
        ServicePort previous = ports.put(port.key(), port);
        if (previous != null && !previous.serviceLabel().equals(port.serviceLabel())) {
            unindex(previous);
        }
        List<ServicePort> list = new ArrayList<>(byService.getOrDefault(port.serviceLabel(), List.of()));
        list.removeIf(p -> p.key().equals(port.key()));
        list.add(port);
        list.sort(BY_PORT);
        byService.put(port.serviceLabel(), List.copyOf(list));
    }

    /** Removes a Service port; reconciler only. */
    public synchronized void remove(ServiceKey key) {
        ServicePort previous = ports.remove(key);
        if (previous != null) {
            unindex(previous);
        }
    }

    private void unindex(ServicePort port) {
        List<ServicePort> list = new ArrayList<>(byService.getOrDefault(port.serviceLabel(), List.of()));
        list.removeIf(p -> p.key().equals(port.key()));
        if (list.isEmpty()) {
            byService.remove(port.serviceLabel());
        } else {
            byService.put(port.serviceLabel(), List.copyOf(list));
        }
    }

    /**
     * Returns the Service ports removed while their connections drain, ordered by namespace, name and port; each is
     * listed until the reconciler's sweep finds its connections ended or cut at the drain timeout.
     */
    public List<ServicePort> drainingPorts() {
        List<ServicePort> list = new ArrayList<>(draining);
        list.sort(ORDER);
        return Collections.unmodifiableList(list);
    }

    /** Notes a Service port removed from the table whose connections drain; reconciler only. */
    public void draining(ServicePort port) {
        draining.add(port);
    }

    /** Forgets a removed Service port whose connections ended; reconciler only. */
    public void drained(ServicePort port) {
        draining.remove(port);
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

    /**
     * Returns why addresses of the desired state are not bound ({@code cannot bind ADDRESS: reason}, one each; they
     * are tried again every second), empty when all are.
     */
    public List<String> unbound() {
        return unbound;
    }

    public void setUnbound(List<String> unbound) {
        this.unbound = List.copyOf(unbound);
    }

    /** Returns whether every listener is bound and every source has synced. */
    public boolean isReady() {
        return ready;
    }

    public void setReady(boolean ready) {
        this.ready = ready;
    }
}
