package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointHints;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.ForNode;
import io.fabric8.kubernetes.api.model.discovery.v1.ForZone;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.Schedulers;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.config.TargetPort;
import io.svcproxy.config.TrafficPolicy;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps a Kubernetes Service and its EndpointSlices to the desired state of its listeners, as kube-proxy reads them
 * (docs/ipvs.md §2.4). Pure: no client, no clock; one instance per source, called from the source's single thread
 * (it remembers which bad annotations it has already warned about).
 *
 * <p>Only Services of type ClusterIP, NodePort or LoadBalancer with a clusterIP are mapped (headless and
 * ExternalName Services are skipped), and only their TCP ports. Every address of {@code spec.clusterIPs} (dual
 * stack) gets its listeners, with the endpoints of the slices of its address family. The endpoints of a Service
 * port are chosen as kube-proxy's {@code CategorizeEndpoints} (pkg/proxy/topology.go) chooses them, for each of
 * the two policies the Service's traffic uses (the clusterIP's {@code internalTrafficPolicy}, and, when the Service
 * is reached from outside, its {@code externalTrafficPolicy}):
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
    /** Service ports skipped for their protocol (SCTP), logged once each. */
    private static final Set<String> SKIPPED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final Comparator<EndpointTarget> ORDER = Comparator
            .comparing(EndpointTarget::ip, Backends::compareAddresses)
            .thenComparingInt(EndpointTarget::port);
    private static final long MAX_AFFINITY_SECONDS = 86400;

    private final KubernetesSettings settings;
    private final String nodeName;
    private final String zone;
    /** The bad annotations already warned about ({@code namespace/name annotation=value}), not to repeat them. */
    private final Set<String> warned;

    /**
     * @param settings the YAML's choices of scheduler per Service
     * @param nodeName this node's name, or {@code null} when unknown (then no endpoint is local)
     * @param zone this node's zone, or {@code null} when unknown (then zone hints are not honoured)
     */
    public KubernetesServiceMapper(KubernetesSettings settings, String nodeName, String zone) {
        this(settings, nodeName, zone, new HashSet<>());
    }

    /** With the annotations already warned about ({@code warned}: a mapper this one replaces says none again). */
    private KubernetesServiceMapper(KubernetesSettings settings, String nodeName, String zone, Set<String> warned) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.nodeName = nodeName == null || nodeName.isEmpty() ? null : nodeName;
        this.zone = zone == null || zone.isEmpty() ? null : zone;
        this.warned = warned;
    }

    /** Returns this node's zone, or {@code null} when unknown. */
    String zone() {
        return zone;
    }

    /** Returns a mapper as this one for a node of {@code zone} ({@code null}: unknown). */
    KubernetesServiceMapper withZone(String zone) {
        return new KubernetesServiceMapper(settings, nodeName, zone, warned);
    }

    /** Returns a mapper as this one with the YAML's choices of scheduler of {@code settings}. */
    KubernetesServiceMapper withSchedulers(KubernetesSettings settings) {
        return new KubernetesServiceMapper(this.settings.withServices(settings.services()), nodeName, zone, warned);
    }

    /**
     * Returns the listeners of one Service: one entry per clusterIP and TCP port, in the order of
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
        List<PortSpec> ports = ports(spec, qualified, udpResponses(service, qualified));
        if (ports.isEmpty()) {
            return List.of();
        }
        Scheduler scheduler = scheduler(service, namespace, name);
        ServiceExposure exposure = KubernetesExposure.of(service, qualified);
        SessionAffinity affinity = affinity(spec, qualified);

        List<EndpointSlice> own = slices.stream()
                .filter(s -> s.getMetadata() != null && name.equals(label(s, SERVICE_NAME_LABEL))
                        && namespace.equals(s.getMetadata().getNamespace() == null
                                ? "default" : s.getMetadata().getNamespace()))
                .sorted(Comparator.comparing(s -> String.valueOf(s.getMetadata().getName())))
                .toList();

        List<ServicePortSpec> out = new ArrayList<>();
        for (InetAddress clusterIP : clusterIPs) {
            ServiceSpec serviceSpec = new ServiceSpec(name, namespace, clusterIP, null, scheduler.name(),
                    scheduler.flags(), affinity, ports, List.of(), 0, 0, null, exposure);
            String family = clusterIP instanceof Inet4Address ? "IPv4" : "IPv6";
            for (PortSpec port : ports) {
                List<Candidate> candidates = candidates(own, family, port.name(), port.protocol());
                out.add(new ServicePortSpec(new ServiceKey(clusterIP, port.port(), port.protocol()), serviceSpec, port,
                        categorize(candidates, exposure)));
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
                InetAddress ip = Addresses.parseIp(text);
                if (!out.contains(ip)) {
                    out.add(ip);
                }
            } catch (IllegalArgumentException e) {
                log.warn("Skipping bad clusterIP service={} clusterIP={}", service, text);
            }
        }
        return out;
    }

    /** The Service's {@link #UDP_RESPONSES_ANNOTATION}, or {@code -1} without one (or a bad one, warned of). */
    private int udpResponses(Service service, String qualified) {
        Map<String, String> annotations = service.getMetadata().getAnnotations();
        String text = annotations == null ? null : annotations.get(UDP_RESPONSES_ANNOTATION);
        if (text == null) {
            return -1;
        }
        try {
            int n = Integer.parseInt(text.trim());
            if (n >= 0 && n <= 1_000_000) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        warnOnce(qualified, UDP_RESPONSES_ANNOTATION, text, "an integer from 0 to 1000000; using the default");
        return -1;
    }

    /**
     * @param udpResponses the annotation's value, or {@code -1}: then {@link #DNS_RESPONSES} for a UDP port 53, else 0
     */
    private static List<PortSpec> ports(io.fabric8.kubernetes.api.model.ServiceSpec spec, String service,
                                        int udpResponses) {
        List<PortSpec> out = new ArrayList<>();
        if (spec.getPorts() == null) {
            return out;
        }
        for (ServicePort p : spec.getPorts()) {
            String name = p.getName() == null ? "" : p.getName();
            String protocol = p.getProtocol() == null ? "TCP" : p.getProtocol();
            if (!protocol.equals("TCP") && !protocol.equals("UDP")) {
                if (SKIPPED.add(service + ":" + p.getPort() + "/" + protocol)) {
                    log.info("Skipping service port service={} port={} protocol={} (only TCP and UDP are proxied)",
                            service, p.getPort(), protocol);
                }
                continue;
            }
            if (p.getPort() == null || p.getPort() < 1 || p.getPort() > 65535) {
                log.debug("Skipping service port service={} port={} (expected: 1..65535)", service, p.getPort());
                continue;
            }
            int nodePort = p.getNodePort() != null && p.getNodePort() >= 1 && p.getNodePort() <= 65535
                    && !"ClusterIP".equals(spec.getType()) && spec.getType() != null ? p.getNodePort() : 0;
            int responses = !protocol.equals("UDP") ? 0
                    : udpResponses >= 0 ? udpResponses : p.getPort() == 53 ? DNS_RESPONSES : 0;
            out.add(new PortSpec(name, Protocol.valueOf(protocol), p.getPort(),
                    targetPort(p.getTargetPort(), p.getPort()), null, responses, null, nodePort));
        }
        return out;
    }

    private static TargetPort targetPort(IntOrString target, int port) {
        if (target == null) {
            return TargetPort.of(port);
        }
        if (target.getIntVal() != null) {
            int n = target.getIntVal();
            return n >= 1 && n <= 65535 ? TargetPort.of(n) : TargetPort.of(port);
        }
        String s = target.getStrVal();
        return s == null || s.isEmpty() ? TargetPort.of(port) : TargetPort.named(s);
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

    /** A Service's scheduler: {@code null} for the proxy's default. */
    private record Scheduler(String name, Set<SchedulerFlag> flags) {
    }

    /** Returns the scheduler of the YAML's entry, else of the annotations, else the default ({@code null}). */
    private Scheduler scheduler(Service service, String namespace, String name) {
        KubernetesSettings.ServiceScheduler chosen = settings.scheduler(namespace, name);
        if (chosen != null) {
            return new Scheduler(chosen.scheduler(), chosen.schedulerFlags());
        }
        Map<String, String> annotations = service.getMetadata().getAnnotations() == null
                ? Map.of() : service.getMetadata().getAnnotations();
        String qualified = namespace + "/" + name;
        String scheduler = annotations.get(SCHEDULER_ANNOTATION);
        if (scheduler != null) {
            scheduler = scheduler.trim();
            if (!Schedulers.isKnown(scheduler)) {
                warnOnce(qualified, SCHEDULER_ANNOTATION, scheduler, String.join(", ", Schedulers.NAMES)
                        + "; using the default scheduler");
                scheduler = null;
            }
        }
        String flagsText = annotations.get(SCHEDULER_FLAGS_ANNOTATION);
        Set<SchedulerFlag> flags = EnumSet.noneOf(SchedulerFlag.class);
        if (flagsText != null && !flagsText.isBlank()) {
            if (scheduler == null) {
                warnOnce(qualified, SCHEDULER_FLAGS_ANNOTATION, flagsText, "flags only with a valid annotation "
                        + SCHEDULER_ANNOTATION + "; ignored");
            } else {
                for (String part : flagsText.split(",")) {
                    String text = part.trim();
                    SchedulerFlag flag = SchedulerFlag.fromConfigName(text);
                    if (flag == null || !flag.scheduler().equals(scheduler)) {
                        warnOnce(qualified, SCHEDULER_FLAGS_ANNOTATION, text, "a flag of scheduler " + scheduler
                                + ": " + String.join(", ", Schedulers.flagsOf(scheduler).stream()
                                        .map(SchedulerFlag::configName).toList()) + "; ignored");
                    } else {
                        flags.add(flag);
                    }
                }
            }
        }
        return new Scheduler(scheduler, flags);
    }

    private void warnOnce(String service, String annotation, String value, String expected) {
        if (warned.add(service + " " + annotation + "=" + value)) {
            log.warn("Bad annotation service={} annotation={} value={} (expected: {})", service, annotation, value,
                    expected);
        }
    }

    // ------------------------------------------------------------------------------------------ endpoints

    /** One endpoint of a slice for one Service port, with its conditions resolved and its topology. */
    private record Candidate(InetAddress ip, int port, boolean ready, boolean serving, boolean terminating,
                             String nodeName, Set<String> zoneHints, Set<String> nodeHints) {
    }

    private static String nodeOf(Candidate c) {
        return c.nodeName() == null ? "" : c.nodeName();
    }

    /**
     * Returns the endpoints of the slices of one address family for the Service port named {@code portName},
     * deduplicated by address and port as kube-proxy's slice cache does: a later copy (slices in name order) replaces
     * an earlier one unless it is terminating (an address a new Pod took while the old one terminates is served as
     * the new Pod's).
     */
    private static List<Candidate> candidates(List<EndpointSlice> slices, String family, String portName,
                                              Protocol protocol) {
        Map<String, Candidate> byAddress = new LinkedHashMap<>();
        for (EndpointSlice slice : slices) {
            if (!family.equals(slice.getAddressType()) || slice.getEndpoints() == null) {
                continue;
            }
            Integer port = slicePort(slice, portName, protocol);
            if (port == null) {
                continue;
            }
            for (Endpoint e : slice.getEndpoints()) {
                if (e == null || e.getAddresses() == null || e.getAddresses().isEmpty()) {
                    continue;
                }
                InetAddress ip;
                try {
                    ip = Addresses.parseIp(e.getAddresses().get(0));
                } catch (IllegalArgumentException | NullPointerException ex) {
                    log.debug("Skipping bad endpoint address slice={} address={}", slice.getMetadata().getName(),
                            e.getAddresses().get(0));
                    continue;
                }
                if ((ip instanceof Inet4Address) != family.equals("IPv4")) {
                    continue;
                }
                EndpointConditions c = e.getConditions();
                boolean ready = c == null || c.getReady() == null || c.getReady();
                // nil serving is true (the API's documentation, and kube-proxy's endpointslicecache), whatever ready
                // says: a terminating endpoint without the field is a serving fallback
                boolean serving = c == null || c.getServing() == null || c.getServing();
                boolean terminating = c != null && c.getTerminating() != null && c.getTerminating();
                Candidate candidate = new Candidate(ip, port, ready, serving, terminating, e.getNodeName(),
                        zoneHints(e.getHints()), nodeHints(e.getHints()));
                byAddress.merge(Backends.format(ip, port), candidate, (was, now) -> now.terminating() ? was : now);
            }
        }
        return new ArrayList<>(byAddress.values());
    }

    /**
     * Returns the slice's port for the Service port of that name (kube-proxy matches by name only: an unnamed
     * Service port matches the slice's unnamed port), or {@code null} when the slice has none.
     */
    private static Integer slicePort(EndpointSlice slice, String portName, Protocol portProtocol) {
        if (slice.getPorts() == null) {
            return null;
        }
        for (EndpointPort p : slice.getPorts()) {
            String name = p.getName() == null ? "" : p.getName();
            String protocol = p.getProtocol() == null ? "TCP" : p.getProtocol();
            if (name.equals(portName) && protocol.equals(portProtocol.name()) && p.getPort() != null && p.getPort() >= 1
                    && p.getPort() <= 65535) {
                return p.getPort();
            }
        }
        return null;
    }

    private static Set<String> zoneHints(EndpointHints hints) {
        Set<String> out = new HashSet<>();
        if (hints != null && hints.getForZones() != null) {
            for (ForZone z : hints.getForZones()) {
                if (z != null && z.getName() != null) {
                    out.add(z.getName());
                }
            }
        }
        return out;
    }

    private static Set<String> nodeHints(EndpointHints hints) {
        Set<String> out = new HashSet<>();
        if (hints != null && hints.getForNodes() != null) {
            for (ForNode n : hints.getForNodes()) {
                if (n != null && n.getName() != null) {
                    out.add(n.getName());
                }
            }
        }
        return out;
    }

    /** Where hints send this node's traffic: not at all, to endpoints hinted for this node, or for its zone. */
    private enum TopologyMode { NONE, SAME_NODE, SAME_ZONE }

    /**
     * Chooses the endpoints as {@code CategorizeEndpoints} does for the policies the Service's traffic uses, then
     * adds the terminating ones to drain.
     */
    private List<EndpointTarget> categorize(List<Candidate> candidates, ServiceExposure exposure) {
        boolean internalLocal = exposure.internalTrafficPolicy() == TrafficPolicy.LOCAL;
        boolean external = exposure.externallyAccessible();
        boolean externalLocal = exposure.externalTrafficPolicy() == TrafficPolicy.LOCAL;
        // kube-proxy's ServicePort.UsesLocalEndpoints; its UsesClusterEndpoints is "!internalLocal || external":
        // it keeps the Cluster set for in-cluster clients of the node and LoadBalancer addresses even when
        // externalTrafficPolicy is Local, a shortcut svcproxy does not have (SPEC: Local applies to every
        // connection on those addresses), so here the Cluster set is built only when some traffic uses it
        boolean usesCluster = !internalLocal || external && !externalLocal;
        boolean usesLocal = internalLocal || external && externalLocal;
        List<Candidate> cluster = List.of();
        if (usesCluster) {
            TopologyMode mode = topologyMode(candidates);
            cluster = candidates.stream().filter(c -> c.ready() && hintedForUs(c, mode)).toList();
            if (cluster.isEmpty()) {
                cluster = candidates.stream().filter(c -> c.serving() && c.terminating()).toList();
            }
        }
        List<Candidate> local = List.of();
        if (usesLocal) {
            local = candidates.stream().filter(c -> isLocal(c) && c.ready()).toList();
            if (local.isEmpty()) {
                local = candidates.stream().filter(c -> isLocal(c) && c.serving() && c.terminating()).toList();
            }
        }
        List<EndpointTarget> out = new ArrayList<>();
        if (cluster.isEmpty() && local.isEmpty()) {
            return out;
        }
        Set<Candidate> forCluster = new HashSet<>(cluster);
        Set<Candidate> forLocal = new HashSet<>(local);
        for (Candidate c : candidates) {
            if (forCluster.contains(c) || forLocal.contains(c)) {
                boolean localOnly = usesCluster && !forCluster.contains(c);
                out.add(new EndpointTarget(c.ip(), c.port(), 1, true, c.serving(), c.terminating(), nodeOf(c),
                        localOnly));
            } else if (c.terminating()) {
                out.add(new EndpointTarget(c.ip(), c.port(), 1, false, c.serving(), true, nodeOf(c)));
            }
        }
        out.sort(ORDER);
        return out;
    }

    private boolean isLocal(Candidate c) {
        return nodeName != null && nodeName.equals(c.nodeName());
    }

    /**
     * Returns the topology mode of kube-proxy's {@code topologyModeFromHints}: same node when every ready endpoint
     * has node hints and one names this node; else same zone when every ready endpoint has zone hints and one
     * names this zone; else none.
     */
    private TopologyMode topologyMode(List<Candidate> candidates) {
        boolean allNodeHints = true;
        boolean anyForNode = false;
        boolean allZoneHints = true;
        boolean anyForZone = false;
        boolean anyReady = false;
        for (Candidate c : candidates) {
            if (!c.ready()) {
                continue;
            }
            anyReady = true;
            if (c.nodeHints().isEmpty()) {
                allNodeHints = false;
            } else if (nodeName != null && c.nodeHints().contains(nodeName)) {
                anyForNode = true;
            }
            if (c.zoneHints().isEmpty()) {
                allZoneHints = false;
            } else if (zone != null && c.zoneHints().contains(zone)) {
                anyForZone = true;
            }
        }
        if (!anyReady) {
            return TopologyMode.NONE;
        }
        if (allNodeHints && anyForNode) {
            return TopologyMode.SAME_NODE;
        }
        if (allZoneHints && anyForZone) {
            return TopologyMode.SAME_ZONE;
        }
        return TopologyMode.NONE;
    }

    private boolean hintedForUs(Candidate c, TopologyMode mode) {
        return switch (mode) {
            case NONE -> true;
            case SAME_NODE -> c.nodeHints().contains(nodeName);
            case SAME_ZONE -> c.zoneHints().contains(zone);
        };
    }

    private static String label(EndpointSlice slice, String key) {
        Map<String, String> labels = slice.getMetadata().getLabels();
        return labels == null ? null : labels.get(key);
    }
}
