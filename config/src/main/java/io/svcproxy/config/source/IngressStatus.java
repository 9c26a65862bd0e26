package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngressBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.Durations;
import io.svcproxy.config.IngressSettings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The served Ingresses' {@code status.loadBalancer.ingress}, for {@link KubernetesIngressSource}: which addresses are
 * this proxy's, and the writes.
 *
 * <p>With {@code proxy.ingress.publishService} (ingress-nginx's {@code --publish-service}) the addresses are that
 * Service's, as ingress-nginx takes them ({@link #published}), watched by an informer of its own; every replica then
 * writes the same list, which replaces the served Ingresses' status (so a replica that died leaves nothing behind),
 * and a replica that shuts down leaves it (the Service outlives it). Without it they are the listeners' IPs (an
 * unspecified one is {@code $POD_IP}): merged into the status with other replicas' entries, and withdrawn at a
 * graceful shutdown; those a reload moved the listeners from (or turned them off at) are taken out too. An Ingress this process served and serves no more loses our entries either way; the others
 * (another controller's, or another class's that may list the same address) are left alone, as ingress-nginx writes
 * only its own class's. A write the API server refuses is tried again after 2 s, doubling up to 5 min, not at every
 * change of any Ingress; one written against a version the informer still shows is not written again.
 *
 * <p>Called on the source's thread only.
 */
final class IngressStatus {
    private static final Logger log = LoggerFactory.getLogger(IngressStatus.class);
    /** The first wait after a refused write, doubling up to {@link #RETRY_MAX} while it is refused. */
    static final Duration RETRY_FIRST = Duration.ofSeconds(2);
    static final Duration RETRY_MAX = Duration.ofMinutes(5);

    private final KubernetesClient client;
    /** The listeners' IPs, and as status entries; used without {@link #publishService}. */
    private List<String> listenerIps;
    private List<IngressLoadBalancerIngress> listenerEntries;
    /** The listeners' IPs before a reload moved them: taken out of the Ingresses this process served. */
    private final Set<String> movedFrom = new HashSet<>();
    private final String podIp;
    /** {@code proxy.ingress.className}: an Ingress of that class not served now is ours to take our entries out of. */
    private final String className;
    /** {@code namespace/name}, or {@code null}. */
    private final String publishService;
    private SharedIndexInformer<Service> publishInformer;
    private boolean missingLogged;
    /** The Ingresses this process served, by {@code namespace/name}: only theirs lose our entries when not served. */
    private final Set<String> mine = new HashSet<>();
    /** Per Ingress: what was last written, and the writes refused in a row and when the next is due. */
    private final Map<String, Written> written = new HashMap<>();
    private final Map<String, Refused> refused = new HashMap<>();

    IngressStatus(KubernetesClient client, IngressSettings ingress, String podIp) {
        this.client = client;
        this.podIp = podIp;
        this.className = ingress.className();
        this.publishService = ingress.publishService();
        setListeners(ingress);
    }

    /**
     * Takes the listeners' addresses of {@code ingress} (a reload may move them): the status names the new ones and
     * loses the old ones at the next write.
     */
    void setListeners(IngressSettings ingress) {
        List<String> next = listenerIps(ingress, podIp);
        if (listenerIps != null) {
            movedFrom.addAll(listenerIps);
        }
        next.forEach(movedFrom::remove);
        listenerIps = next;
        listenerEntries = next.stream().map(ip -> new IngressLoadBalancerIngressBuilder().withIp(ip).build()).toList();
    }

    /**
     * The IPs written to the status without a publish Service: the listeners' (IPv6 in its RFC 5952 form); an
     * unspecified one is {@code podIp}.
     */
    static List<String> listenerIps(IngressSettings ingress, String podIp) {
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
                ips.add(Addresses.format(a.getAddress())); // RFC 5952, as Kubernetes writes IPs; not fd00:0:0:...
            }
        }
        return List.copyOf(ips);
    }

    /** The informer of the publish Service (not started), or {@code null} without one. */
    SharedIndexInformer<Service> informer(long resyncMillis) {
        if (publishService != null && publishInformer == null) {
            int slash = publishService.indexOf('/');
            publishInformer = client.services().inNamespace(publishService.substring(0, slash))
                    .withName(publishService.substring(slash + 1)).runnableInformer(resyncMillis);
        }
        return publishInformer;
    }

    /** What the log says is written: the publish Service, or the IPs. */
    String describe() {
        return publishService != null ? "service " + publishService : listenerIps.toString();
    }

    /**
     * Whether a graceful shutdown takes our entries out: the listeners' IPs and those a reload moved them from (even
     * when they have none now); not a publish Service's, which outlives this replica.
     */
    boolean withdrawsAtShutdown() {
        return publishService == null;
    }

    /**
     * Writes our entries into the status of the {@code served} Ingresses of {@code all}, and takes them out of those
     * this process served before and serves no more; the other Ingresses (another controller's, another class's that
     * may list the same address) are left alone. Nothing while the publish Service is not there (logged once).
     *
     * @return in how many nanoseconds a write that failed is due again, or 0 when none is
     */
    long write(List<Ingress> all, List<Ingress> served) {
        List<IngressLoadBalancerIngress> ours;
        if (publishService != null) {
            if (publishInformer == null || !publishInformer.hasSynced()) {
                return 0; // not listed yet (or not allowed: its informer's WARN says so)
            }
            List<Service> found = publishInformer.getStore().list();
            if (found.isEmpty()) {
                if (!missingLogged) {
                    missingLogged = true;
                    log.warn("Ingress status not written: publish Service missing service={}", publishService);
                }
                return 0;
            }
            missingLogged = false;
            ours = published(found.get(0));
        } else {
            // none at all (the listeners turned off by a reload, or moved to 0.0.0.0 without $POD_IP) is written too:
            // the addresses they had leave the Ingresses this process served (a status that has none writes nothing)
            ours = listenerEntries;
        }
        return writeEntries(all, served, ours, publishService != null);
    }

    /** Takes our entries out of the status of the Ingresses this process served (a graceful shutdown). */
    void withdraw(List<Ingress> all) {
        if (withdrawsAtShutdown()) {
            refused.clear(); // the last chance: a write refused before is tried once more
            writeEntries(all, List.of(), listenerEntries, false);
        }
    }

    private long writeEntries(List<Ingress> all, List<Ingress> served, List<IngressLoadBalancerIngress> ours,
                              boolean replace) {
        Set<String> servedRefs = new HashSet<>();
        served.forEach(i -> servedRefs.add(ref(i)));
        mine.addAll(servedRefs);
        long now = System.nanoTime();
        long nextRetry = 0;
        for (Ingress ingress : all) {
            String id = id(ingress);
            String ref = ref(ingress);
            boolean serving = servedRefs.contains(ref);
            if (!serving && !mine.contains(ref) && !ofOurClass(ingress)) {
                continue; // neither ours in this process nor of our class: another controller's to write
            }
            // the listeners' old IPs (before a reload moved them) are ours to take out too
            List<IngressLoadBalancerIngress> entries = statusEntries(entries(ingress), ours, serving, replace,
                    movedFrom);
            if (entries == null) {
                if (!serving) {
                    mine.remove(ref);
                }
                continue;
            }
            List<String> wanted = entries.stream().map(IngressStatus::key).toList();
            String version = ingress.getMetadata().getResourceVersion();
            Written last = written.get(ref);
            if (last != null && version != null && version.equals(last.version()) && wanted.equals(last.keys())) {
                continue; // written against this version already: the informer has not seen our write yet
            }
            Refused due = refused.get(ref);
            if (due != null && due.due() - now > 0) {
                long wait = due.due() - now;
                nextRetry = nextRetry == 0 ? wait : Math.min(nextRetry, wait);
                continue; // refused before: tried again when due, not at every change of any Ingress
            }
            Ingress updated = new IngressBuilder(ingress).editOrNewStatus().editOrNewLoadBalancer()
                    .withIngress(entries).endLoadBalancer().endStatus().build();
            try {
                client.network().v1().ingresses().inNamespace(ingress.getMetadata().getNamespace())
                        .resource(updated).updateStatus();
                log.info("Ingress status written ingress={} addresses={}", id, wanted);
                written.put(ref, new Written(version, wanted));
                refused.remove(ref);
                if (!serving) {
                    mine.remove(ref);
                }
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409) {
                    // another writer (another replica adding its address) changed it first: its write is an event
                    // of the informer, which runs this again with the new version at once
                    log.debug("Ingress status changed meanwhile, written again at its event ingress={}", id);
                    continue;
                }
                Refused before = refused.get(ref);
                int times = before == null ? 1 : before.times() + 1;
                long delay = Math.min(RETRY_FIRST.toNanos() << Math.min(times - 1, 16), RETRY_MAX.toNanos());
                refused.put(ref, new Refused(times, now + delay));
                nextRetry = nextRetry == 0 ? delay : Math.min(nextRetry, delay);
                log.info("Ingress status not written, retrying in {} ingress={} code={} error={}",
                        Durations.format(Duration.ofNanos(delay)), id, e.getCode(),
                        e.getMessage());
            }
        }
        written.keySet().retainAll(ids(all));
        refused.keySet().retainAll(ids(all));
        mine.retainAll(ids(all));
        return nextRetry;
    }

    private static Set<String> ids(List<Ingress> all) {
        Set<String> ids = new HashSet<>();
        all.forEach(i -> ids.add(ref(i)));
        return ids;
    }

    /**
     * An Ingress as this class keeps track of it: by its uid (one deleted and created again under its name in one
     * recompute starts afresh), else by {@code namespace/name}.
     */
    private static String ref(Ingress ingress) {
        String uid = ingress.getMetadata().getUid();
        return uid != null && !uid.isEmpty() ? uid : id(ingress);
    }

    /**
     * Whether {@code ingress} names our class ({@code spec.ingressClassName}, else the legacy annotation): one we do
     * not serve (an {@code auth-*} annotation, say) loses entries an earlier run of ours wrote there.
     */
    private boolean ofOurClass(Ingress ingress) {
        String named = ingress.getSpec() == null ? null : ingress.getSpec().getIngressClassName();
        if (named == null && ingress.getMetadata().getAnnotations() != null) {
            named = ingress.getMetadata().getAnnotations().get(KubernetesIngressMapper.LEGACY_CLASS_ANNOTATION);
        }
        return className != null && className.equals(named);
    }

    /** Writes refused in a row (not conflicts), and when the next is due ({@code System.nanoTime()}). */
    private record Refused(int times, long due) {
    }

    /** What was last written to an Ingress's status, and against which of its versions. */
    private record Written(String version, List<String> keys) {
    }

    /**
     * The addresses of a publish Service, as ingress-nginx's {@code statusAddressFromService} takes them: an
     * ExternalName's name; a ClusterIP's cluster IP; a NodePort's external IPs, else its cluster IP; a
     * LoadBalancer's {@code status.loadBalancer.ingress} (IP and hostname) and then its external IPs.
     */
    static List<IngressLoadBalancerIngress> published(Service service) {
        var spec = service.getSpec();
        String type = spec == null || spec.getType() == null ? "ClusterIP" : spec.getType();
        List<String> externalIps = spec == null || spec.getExternalIPs() == null ? List.of() : spec.getExternalIPs();
        List<IngressLoadBalancerIngress> out = new ArrayList<>();
        switch (type) {
            case "ExternalName" -> out.add(new IngressLoadBalancerIngressBuilder().withHostname(spec.getExternalName())
                    .build());
            case "NodePort" -> {
                if (externalIps.isEmpty()) {
                    addIp(out, spec.getClusterIP());
                } else {
                    externalIps.forEach(ip -> addIp(out, ip));
                }
            }
            case "LoadBalancer" -> {
                if (service.getStatus() != null && service.getStatus().getLoadBalancer() != null
                        && service.getStatus().getLoadBalancer().getIngress() != null) {
                    for (LoadBalancerIngress lb : service.getStatus().getLoadBalancer().getIngress()) {
                        out.add(new IngressLoadBalancerIngressBuilder().withIp(emptyToNull(lb.getIp()))
                                .withHostname(emptyToNull(lb.getHostname())).build());
                    }
                }
                for (String ip : externalIps) {
                    if (out.stream().noneMatch(e -> ip.equals(e.getIp()))) {
                        addIp(out, ip);
                    }
                }
            }
            default -> addIp(out, spec == null ? null : spec.getClusterIP());
        }
        return out;
    }

    private static void addIp(List<IngressLoadBalancerIngress> out, String ip) {
        if (ip != null && !ip.isEmpty() && !ip.equals("None")) {
            out.add(new IngressLoadBalancerIngressBuilder().withIp(ip).build());
        }
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    /** {@link #statusEntries(List, List, boolean, boolean)} merging IPs. */
    static List<IngressLoadBalancerIngress> statusEntries(List<IngressLoadBalancerIngress> current, List<String> ours,
                                                          boolean served) {
        return statusEntries(current, ours.stream().map(ip -> new IngressLoadBalancerIngressBuilder().withIp(ip)
                .build()).toList(), served, false);
    }

    /**
     * The status entries an Ingress should have, or {@code null} when it has them already (compared as a set: two
     * replicas that each put their own address first rewrote each other's order forever, each write a watch event
     * that set off the other's). Served and {@code replace}: exactly ours. Otherwise ours are added when it is served
     * and taken out when not, and entries of others (another replica's address, a hostname, ports) are kept as they
     * are. The list is sorted, as ingress-nginx writes it, so every replica wants the same one.
     */
    static List<IngressLoadBalancerIngress> statusEntries(List<IngressLoadBalancerIngress> current,
                                                          List<IngressLoadBalancerIngress> ours, boolean served,
                                                          boolean replace) {
        return statusEntries(current, ours, served, replace, Set.of());
    }

    /** As {@link #statusEntries(List, List, boolean, boolean)}; the entries of {@code formerKeys} are ours too. */
    static List<IngressLoadBalancerIngress> statusEntries(List<IngressLoadBalancerIngress> current,
                                                          List<IngressLoadBalancerIngress> ours, boolean served,
                                                          boolean replace, Set<String> formerKeys) {
        Set<String> ourKeys = new HashSet<>(formerKeys);
        ours.forEach(e -> ourKeys.add(key(e)));
        List<IngressLoadBalancerIngress> out = new ArrayList<>();
        if (!(served && replace)) {
            for (IngressLoadBalancerIngress e : current) {
                if (!ourKeys.contains(key(e))) {
                    out.add(e);
                }
            }
        }
        if (served) {
            Set<String> added = new HashSet<>();
            for (IngressLoadBalancerIngress e : ours) {
                if (added.add(key(e))) {
                    out.add(e);
                }
            }
        }
        Set<String> before = new HashSet<>();
        current.forEach(e -> before.add(key(e)));
        Set<String> after = new HashSet<>();
        out.forEach(e -> after.add(key(e)));
        if (before.equals(after)) {
            return null;
        }
        out.sort(Comparator.comparing(IngressStatus::key));
        return out;
    }

    /**
     * An entry's address for comparing and sorting: its IP, with its hostname when it has both (ingress-nginx's
     * {@code ingressSliceEqual} compares both), else its hostname.
     */
    private static String key(IngressLoadBalancerIngress e) {
        if (e.getIp() == null) {
            return String.valueOf(e.getHostname());
        }
        return e.getHostname() == null ? e.getIp() : e.getIp() + " " + e.getHostname();
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
