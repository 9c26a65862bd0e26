package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.config.source.KubernetesEndpoints.Candidate;
import io.svcproxy.config.source.ServiceAnnotations.Scheduler;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps a Kubernetes Service and its EndpointSlices to the desired state of its listeners, as kube-proxy reads them
 * (docs/ipvs.md §2.4). Pure: no client, no clock; one instance per source, called from the source's single thread
 * (it remembers which bad annotations it has already warned about).
 *
 * <p>Only Services of type ClusterIP, NodePort or LoadBalancer with a clusterIP are mapped (headless and
 * ExternalName Services are skipped), and only their TCP and UDP ports (SCTP is skipped). Every address of
 * {@code spec.clusterIPs} (dual stack) gets its listeners, with the endpoints of the slices of its address family.
 * The endpoints of a Service port are chosen as kube-proxy's {@code CategorizeEndpoints} (pkg/proxy/topology.go)
 * chooses them, for each of the two policies the Service's traffic uses (the clusterIP's
 * {@code internalTrafficPolicy}, and, when the Service is reached from outside, its {@code externalTrafficPolicy}):
 * <ul>
 *   <li>Local: the ready endpoints on this node, else its serving and terminating ones (no topology);</li>
 *   <li>Cluster: the ready endpoints, narrowed by topology hints when every ready endpoint carries hints and at
 *       least one is for this node (node hints, {@code PreferSameNode}) or zone (zone hints, {@code PreferSameZone}
 *       and {@code PreferClose}); if none is ready, the serving and terminating ones, without topology.</li>
 * </ul>
 * The endpoints of both are emitted; one that only the Local policy takes, while the Cluster policy is in use too,
 * is marked {@code localOnly}: the data plane picks it only for traffic under the Local policy.
 * As in kube-proxy since 1.31, the hints are honoured whenever the EndpointSlice controller wrote them; the
 * Service's {@code trafficDistribution} and {@code service.kubernetes.io/topology-mode} only make the controller
 * write them.
 *
 * <p>The chosen endpoints are emitted with {@code ready = true} (their {@code serving} and {@code terminating} as
 * they are); the terminating endpoints that were not chosen are emitted too, with {@code ready = false}, so that
 * the data plane keeps draining them rather than treating them as removed. When nothing is chosen, nothing is
 * emitted: the Service port has no endpoints and refuses connections, as kube-proxy's REJECT rule does.
 */
public final class KubernetesServiceMapper {
    /** The annotation naming a Service's scheduler, when the YAML names none. */
    public static final String SCHEDULER_ANNOTATION = "svcproxy.io/scheduler";
    /** The annotation listing the scheduler's flags, comma-separated. */
    public static final String SCHEDULER_FLAGS_ANNOTATION = "svcproxy.io/scheduler-flags";
    /**
     * A Service's UDP ports' {@code udpResponses} (the config file's key): a flow ends once its endpoint sent that many
     * datagrams per datagram of the client; {@code 0} waits for the idle timeout. Without it, a UDP port 53 takes 1
     * (DNS: one answer per query, as nginx's {@code proxy_responses 1} for DNS), others 0.
     */
    public static final String UDP_RESPONSES_ANNOTATION = "svcproxy.io/udp-responses";
    /** The {@code udpResponses} of a UDP port 53 without {@link #UDP_RESPONSES_ANNOTATION}. */
    static final int DNS_RESPONSES = 1;
    /** The label that links an EndpointSlice to its Service. */
    public static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    private static final Logger log = LoggerFactory.getLogger(KubernetesServiceMapper.class);
    private static final long MAX_AFFINITY_SECONDS = 86400;

    private final KubernetesSettings settings;
    private final String nodeName;
    private final String zone;
    /** Reads the svcproxy annotations; remembers the bad ones already warned about, not to repeat them. */
    private final ServiceAnnotations annotations;
    /** Chooses the endpoints of each Service port for this node and zone. */
    private final KubernetesEndpoints endpoints;

    /**
     * @param settings the YAML's choices of scheduler per Service
     * @param nodeName this node's name, or {@code null} when unknown (then no endpoint is local)
     * @param zone this node's zone, or {@code null} when unknown (then zone hints are not honoured)
     */
    public KubernetesServiceMapper(KubernetesSettings settings, String nodeName, String zone) {
        this(settings, nodeName, zone, new ServiceAnnotations());
    }

    /**
     * With the annotations already warned about ({@code annotations}: a mapper this one replaces says none again).
     */
    private KubernetesServiceMapper(KubernetesSettings settings, String nodeName, String zone,
                                    ServiceAnnotations annotations) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.nodeName = nodeName == null || nodeName.isEmpty() ? null : nodeName;
        this.zone = zone == null || zone.isEmpty() ? null : zone;
        this.annotations = annotations;
        this.endpoints = new KubernetesEndpoints(this.nodeName, this.zone);
    }

    /** Returns this node's zone, or {@code null} when unknown. */
    String zone() {
        return zone;
    }

    /** Returns a mapper as this one for a node of {@code zone} ({@code null}: unknown). */
    KubernetesServiceMapper withZone(String zone) {
        return new KubernetesServiceMapper(settings, nodeName, zone, annotations);
    }

    /** Returns a mapper as this one with the YAML's choices of scheduler of {@code settings}. */
    KubernetesServiceMapper withSchedulers(KubernetesSettings settings) {
        return new KubernetesServiceMapper(this.settings.withServices(settings.services()), nodeName, zone,
                annotations);
    }

    /** Forgets the Service {@code namespace/name}, which is gone (what was warned about it is said again). */
    void forget(String namespace, String name) {
        annotations.forget((namespace == null ? "default" : namespace) + "/" + name);
    }

    /**
     * Returns the listeners of one Service: one entry per clusterIP and TCP or UDP port, in the order of
     * {@code spec.clusterIPs} then {@code spec.ports}; empty for a Service svcproxy does not proxy.
     *
     * @param slices the EndpointSlices of the Service's namespace labelled with its name (others are ignored)
     */
    public List<ServicePortSpec> map(Service service, Collection<EndpointSlice> slices) {
        String namespace = service.getMetadata().getNamespace() == null
                ? "default" : service.getMetadata().getNamespace();
        String name = service.getMetadata().getName();
        String qualified = namespace + "/" + name;
        io.fabric8.kubernetes.api.model.ServiceSpec spec = service.getSpec();
        if (spec == null) {
            return List.of();
        }
        String type = spec.getType() == null ? "ClusterIP" : spec.getType();
        if (!type.equals("ClusterIP") && !type.equals("NodePort") && !type.equals("LoadBalancer")) {
            log.debug("Skipping service service={} type={}", qualified, type);
            return List.of();
        }
        List<InetAddress> clusterIPs = clusterIPs(spec, qualified);
        if (clusterIPs.isEmpty()) {
            log.debug("Skipping headless service service={}", qualified);
            return List.of();
        }
        List<PortSpec> ports = KubernetesPorts.ports(spec, qualified, annotations.udpResponses(service, qualified));
        if (ports.isEmpty()) {
            return List.of();
        }
        Scheduler scheduler = annotations.scheduler(settings, service, namespace, name);
        ServiceExposure exposure = KubernetesExposure.of(service, qualified);
        SessionAffinity affinity = affinity(spec, qualified);

        List<EndpointSlice> own = slices.stream()
                .filter(s -> s.getMetadata() != null && name.equals(label(s, SERVICE_NAME_LABEL))
                        && namespace.equals(s.getMetadata().getNamespace() == null
                                ? "default" : s.getMetadata().getNamespace()))
                .sorted(Comparator.comparing(s -> String.valueOf(s.getMetadata().getName())))
                .toList();

        KubernetesEndpoints.SlicePorts slicePorts = KubernetesEndpoints.SlicePorts.of(own);
        List<ServicePortSpec> out = new ArrayList<>();
        for (InetAddress clusterIP : clusterIPs) {
            ServiceSpec serviceSpec = new ServiceSpec(name, namespace, clusterIP, null, scheduler.name(),
                    scheduler.flags(), affinity, ports, List.of(), 0, 0, null, exposure);
            String family = clusterIP instanceof Inet4Address ? "IPv4" : "IPv6";
            for (PortSpec port : ports) {
                List<Candidate> candidates = KubernetesEndpoints.candidates(own, family, port.name(), port.protocol(),
                        slicePorts);
                out.add(new ServicePortSpec(new ServiceKey(clusterIP, port.port(), port.protocol()), serviceSpec, port,
                        endpoints.categorize(candidates, exposure)));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------ the Service

    private static List<InetAddress> clusterIPs(io.fabric8.kubernetes.api.model.ServiceSpec spec, String service) {
        List<String> texts = spec.getClusterIPs() != null && !spec.getClusterIPs().isEmpty()
                ? spec.getClusterIPs()
                : spec.getClusterIP() == null ? List.of() : List.of(spec.getClusterIP());
        List<InetAddress> out = new ArrayList<>();
        for (String text : texts) {
            if (text == null || text.isEmpty() || text.equals("None")) {
                continue;
            }
            try {
                InetAddress ip = Addresses.parseIpSloppy(text);
                if (!out.contains(ip)) {
                    out.add(ip);
                }
            } catch (IllegalArgumentException e) {
                log.warn("Skipping bad clusterIP service={} clusterIP={}", service, text);
            }
        }
        return out;
    }

    private static SessionAffinity affinity(io.fabric8.kubernetes.api.model.ServiceSpec spec, String service) {
        if (!"ClientIP".equals(spec.getSessionAffinity())) {
            return SessionAffinity.NONE;
        }
        Integer seconds = null;
        if (spec.getSessionAffinityConfig() != null && spec.getSessionAffinityConfig().getClientIP() != null) {
            seconds = spec.getSessionAffinityConfig().getClientIP().getTimeoutSeconds();
        }
        if (seconds == null) {
            return SessionAffinity.clientIp(SessionAffinity.DEFAULT_TIMEOUT);
        }
        if (seconds < 1 || seconds > MAX_AFFINITY_SECONDS) {
            // The API server rejects these; a mock or an old server might not.
            log.debug("Using the default session affinity timeout service={} timeoutSeconds={} (expected: "
                    + "1..86400)", service, seconds);
            return SessionAffinity.clientIp(SessionAffinity.DEFAULT_TIMEOUT);
        }
        return SessionAffinity.clientIp(Duration.ofSeconds(seconds));
    }

    private static String label(EndpointSlice slice, String key) {
        Map<String, String> labels = slice.getMetadata().getLabels();
        return labels == null ? null : labels.get(key);
    }
}
