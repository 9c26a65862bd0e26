package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointHints;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.ForNode;
import io.fabric8.kubernetes.api.model.discovery.v1.ForZone;
import io.svcproxy.balancer.Backends;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.TrafficPolicy;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The endpoints of one Service port, from its EndpointSlices, chosen for this node as kube-proxy's
 * {@code CategorizeEndpoints} (pkg/proxy/topology.go) chooses them: by the traffic policies the Service's traffic
 * uses (Local: this node's endpoints; Cluster: all, narrowed by topology hints for this node or zone), with the
 * terminating ones not chosen kept to drain. {@link KubernetesServiceMapper} says what is chosen and why.
 *
 * <p>Pure: no client, no clock; called from the mapper's caller, the source's single thread.
 */
final class KubernetesEndpoints {
    /** The mapper's logger: operators and tests follow one name for what the mapping skips. */
    private static final Logger log = LoggerFactory.getLogger(KubernetesServiceMapper.class);
    private static final Comparator<EndpointTarget> ORDER = Comparator
            .comparing(EndpointTarget::ip, Backends::compareAddresses)
            .thenComparingInt(EndpointTarget::port);

    private final String nodeName;
    private final String zone;

    /**
     * @param nodeName this node's name, or {@code null} when unknown (then no endpoint is local)
     * @param zone this node's zone, or {@code null} when unknown (then zone hints are not honoured)
     */
    KubernetesEndpoints(String nodeName, String zone) {
        this.nodeName = nodeName;
        this.zone = zone;
    }

    /** One endpoint of a slice for one Service port, with its conditions resolved and its topology. */
    record Candidate(InetAddress ip, int port, boolean ready, boolean serving, boolean terminating,
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
    static List<Candidate> candidates(List<EndpointSlice> slices, String family, String portName,
                                      Protocol protocol) {
        return candidates(slices, family, portName, protocol, SlicePorts.of(slices));
    }

    /**
     * As {@link #candidates(List, String, String, Protocol)}, with the slices' ports looked up in {@code ports}, made
     * once for all of a Service's ports: a scan of every slice's ports per Service port made a Service of 20,000
     * ports (the API's limit per slice) take 1.3 s to map, quadratic in its ports (helper-96's review).
     */
    static List<Candidate> candidates(List<EndpointSlice> slices, String family, String portName,
                                      Protocol protocol, SlicePorts ports) {
        Map<String, Candidate> byAddress = new LinkedHashMap<>();
        for (EndpointSlice slice : slices) {
            if (!family.equals(slice.getAddressType()) || slice.getEndpoints() == null) {
                continue;
            }
            Integer port = ports.of(slice, portName, protocol);
            if (port == null) {
                continue;
            }
            for (Endpoint e : slice.getEndpoints()) {
                if (e == null || e.getAddresses() == null || e.getAddresses().isEmpty()) {
                    continue;
                }
                InetAddress ip;
                try {
                    ip = Addresses.parseIpSloppy(e.getAddresses().get(0));
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
                // nil serving is true, whatever ready says, as kube-proxy's endpointslicecache reads it (the API's
                // documentation says to defer to ready): a terminating endpoint without the field is a serving fallback
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
     * The ports of a Service's slices by name and protocol (kube-proxy matches by name only: an unnamed Service port
     * matches the slice's unnamed port; the first of a name and protocol counts), made once per mapping.
     */
    static final class SlicePorts {
        private final Map<EndpointSlice, Map<String, Integer>> bySlice = new java.util.IdentityHashMap<>();

        static SlicePorts of(List<EndpointSlice> slices) {
            SlicePorts index = new SlicePorts();
            for (EndpointSlice slice : slices) {
                Map<String, Integer> ports = new HashMap<>();
                if (slice.getPorts() != null) {
                    for (EndpointPort p : slice.getPorts()) {
                        String name = p.getName() == null ? "" : p.getName();
                        String protocol = p.getProtocol() == null ? "TCP" : p.getProtocol();
                        if (p.getPort() != null && p.getPort() >= 1 && p.getPort() <= 65535) {
                            ports.putIfAbsent(protocol + "/" + name, p.getPort());
                        }
                    }
                }
                index.bySlice.put(slice, ports);
            }
            return index;
        }

        /** The slice's port for the Service port of that name and protocol, or {@code null} when it has none. */
        Integer of(EndpointSlice slice, String portName, Protocol protocol) {
            Map<String, Integer> ports = bySlice.get(slice);
            return ports == null ? null : ports.get(protocol.name() + "/" + portName);
        }
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
     * adds the terminating ones to drain and the ready ones left out as {@linkplain EndpointTarget#bypassed
     * bypassed}.
     */
    List<EndpointTarget> categorize(List<Candidate> candidates, ServiceExposure exposure) {
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
        // with nothing chosen, a terminating endpoint is not listed: the data plane's own fallback (no ready endpoint
        // in the list: its serving, terminating ones) would take one this node's policy did not choose
        boolean nothingChosen = cluster.isEmpty() && local.isEmpty();
        Set<Candidate> forCluster = new HashSet<>(cluster);
        Set<Candidate> forLocal = new HashSet<>(local);
        for (Candidate c : candidates) {
            if (forCluster.contains(c) || forLocal.contains(c)) {
                boolean localOnly = usesCluster && !forCluster.contains(c);
                out.add(new EndpointTarget(c.ip(), c.port(), 1, true, c.serving(), c.terminating(), nodeOf(c),
                        localOnly, c.ready()));
            } else if (c.terminating()) {
                if (!nothingChosen) {
                    out.add(new EndpointTarget(c.ip(), c.port(), 1, false, c.serving(), true, nodeOf(c), false,
                            c.ready()));
                }
            } else if (c.ready()) {
                // left out by the hints, or on another node under a Local policy: its connections go on
                out.add(EndpointTarget.bypassed(c.ip(), c.port(), c.serving(), nodeOf(c)));
            } else {
                // not ready: no connection, but listed as the YAML registry lists one (svcproxy_endpoints'
                // not_ready, /api/v1/services), where a rollout that does not become ready shows
                out.add(new EndpointTarget(c.ip(), c.port(), 1, false, c.serving(), false, nodeOf(c), false,
                        false));
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
}
