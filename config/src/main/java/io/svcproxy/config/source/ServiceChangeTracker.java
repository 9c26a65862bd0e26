package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.svcproxy.config.ServicePortSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The Service ports of the watched Services, mapped from {@link KubernetesSource}'s informer stores, as kube-proxy's
 * change trackers keep them: the informers' handlers name the Services whose objects changed ({@link #serviceChanged},
 * {@link #sliceChanged}; any thread), and {@link #servicePorts} maps only those again (the first run, and a run after
 * {@link #changedAll}, map every Service). Mapping runs on the source's thread only, which alone touches the mappings.
 */
final class ServiceChangeTracker {
    /** The slice informers' index of slices by the key of their Service. */
    private static final String BY_SERVICE = "service";

    private final List<SharedIndexInformer<Service>> serviceInformers;
    private final List<SharedIndexInformer<EndpointSlice>> sliceInformers;
    /** The Services whose objects changed since the last run. */
    private final Set<ServiceName> dirty = ConcurrentHashMap.newKeySet();
    /** Whether the next run maps every Service (the first list, after a failure). */
    private final AtomicBoolean everything = new AtomicBoolean(true);
    /**
     * The last mapping of each Service, kept while neither the Service nor its slices change: the informers hand
     * out the same objects until a resource changes, so one change maps one Service again, not the cluster, and the
     * Service ports of the others stay the same objects all the way to the reconciler. Source thread only.
     */
    private final TreeMap<ServiceName, Mapped> mapped = new TreeMap<>();

    /** Reads the stores of these informers (the source's, filled before any of them starts). */
    ServiceChangeTracker(List<SharedIndexInformer<Service>> serviceInformers,
                         List<SharedIndexInformer<EndpointSlice>> sliceInformers) {
        this.serviceInformers = serviceInformers;
        this.sliceInformers = sliceInformers;
    }

    /** Adds to a slice informer, before it starts, the index {@link #servicePorts} finds a Service's slices by. */
    static void indexByService(SharedIndexInformer<EndpointSlice> informer) {
        informer.addIndexers(Map.of(BY_SERVICE, slice -> {
            ServiceName name = ServiceName.ofSlice(slice);
            return name == null ? List.of() : List.of(name.key());
        }));
    }

    /** Notes that {@code service} changed; returns whether it names a Service (else nothing is to map). Any thread. */
    boolean serviceChanged(Service service) {
        return changed(ServiceName.of(service));
    }

    /** Notes that the Service of {@code slice} changed; returns whether the slice names one. Any thread. */
    boolean sliceChanged(EndpointSlice slice) {
        return changed(ServiceName.ofSlice(slice));
    }

    private boolean changed(ServiceName name) {
        if (name == null) {
            return false;
        }
        dirty.add(name);
        return true;
    }

    /** Makes the next run map every Service the stores hold (a first list, a failed run). Any thread. */
    void changedAll() {
        everything.set(true);
    }

    /**
     * Drops every mapping kept, so that the next run maps every Service again even when its objects did not change
     * (the mapper changed: its schedulers, the node's zone). Source thread.
     */
    void remapAll() {
        mapped.clear();
        changedAll();
    }

    /**
     * Maps again the Services changed since the last run, and returns the Service ports of every Service, ordered by
     * namespace and name. A Service gone from the stores is forgotten by {@code mapper}. Source thread; when it throws,
     * the changes it took may be lost: {@link #changedAll} before the next run.
     */
    List<ServicePortSpec> servicePorts(KubernetesServiceMapper mapper) {
        for (ServiceName name : changedSinceLast()) {
            Service service = serviceNamed(name);
            if (service == null) {
                mapped.remove(name);
                mapper.forget(name.namespace(), name.name());
                continue;
            }
            List<EndpointSlice> own = slicesOf(name);
            Mapped previous = mapped.get(name);
            if (previous == null || !previous.isOf(service, own)) {
                mapped.put(name, new Mapped(service, own, mapper.map(service, own)));
            }
        }
        List<ServicePortSpec> out = new ArrayList<>();
        for (Mapped m : mapped.values()) {
            out.addAll(m.servicePorts());
        }
        return out;
    }

    /** Takes the Services to map again: those changed since the last run, or every one known. */
    private Set<ServiceName> changedSinceLast() {
        Set<ServiceName> names = new TreeSet<>();
        if (everything.getAndSet(false)) {
            dirty.clear(); // each store was changed before its handler named the change: the lists below hold it
            names.addAll(mapped.keySet());
            for (SharedIndexInformer<Service> informer : serviceInformers) {
                for (Service service : informer.getStore().list()) {
                    ServiceName name = ServiceName.of(service);
                    if (name != null) {
                        names.add(name);
                    }
                }
            }
            return names;
        }
        for (Iterator<ServiceName> it = dirty.iterator(); it.hasNext(); ) {
            names.add(it.next());
            it.remove(); // an event after this runs the next recompute
        }
        return names;
    }

    private Service serviceNamed(ServiceName name) {
        for (SharedIndexInformer<Service> informer : serviceInformers) {
            Service service = informer.getStore().getByKey(name.key());
            if (service != null) {
                return service;
            }
        }
        return null;
    }

    /** The Service's slices, in a stable order, so that unchanged slices compare as the same list (see Mapped). */
    private List<EndpointSlice> slicesOf(ServiceName name) {
        List<EndpointSlice> slices = new ArrayList<>();
        for (SharedIndexInformer<EndpointSlice> informer : sliceInformers) {
            slices.addAll(Informers.byIndex(informer.getIndexer(), BY_SERVICE, name.key()));
        }
        slices.sort(Comparator.comparing(x -> String.valueOf(x.getMetadata().getName())));
        return slices;
    }

    /** A Service's namespace and name; ordered as the list of Service ports is. */
    private record ServiceName(String namespace, String name) implements Comparable<ServiceName> {
        static ServiceName of(Service service) {
            return service.getMetadata() == null ? null
                    : new ServiceName(service.getMetadata().getNamespace(), service.getMetadata().getName());
        }

        /** The Service a slice belongs to (its {@code kubernetes.io/service-name} label), or {@code null}. */
        static ServiceName ofSlice(EndpointSlice slice) {
            if (slice.getMetadata() == null || slice.getMetadata().getLabels() == null) {
                return null;
            }
            String service = slice.getMetadata().getLabels().get(KubernetesServiceMapper.SERVICE_NAME_LABEL);
            return service == null ? null : new ServiceName(slice.getMetadata().getNamespace(), service);
        }

        /** The informers' key of the Service ({@code namespace/name}). */
        String key() {
            return namespace + "/" + name;
        }

        @Override
        public int compareTo(ServiceName o) {
            int c = String.valueOf(namespace).compareTo(String.valueOf(o.namespace));
            return c != 0 ? c : String.valueOf(name).compareTo(String.valueOf(o.name));
        }
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
