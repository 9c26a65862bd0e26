package io.svcproxy.config;

import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.SessionAffinity;
import java.net.InetAddress;
import java.time.Duration;
import io.svcproxy.config.ServiceClashes.Placed;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Binds the {@code services:} section of a config file, and checks the rules between Services (unique names, no
 * two on one clusterIP, port and protocol). A Service's own fields are bound here; its ports by {@link PortBinder},
 * its endpoints by {@link EndpointBinder}, its exposure by {@link ExposureBinder}, and the rules between Services
 * are checked by {@link ServiceClashes}.
 */
final class ServiceBinder extends BinderSupport {
    static final List<String> HEALTH_CHECK = List.of("interval", "timeout", "rise", "fall");
    static final List<String> SERVICE = List.of("name", "namespace", "clusterIP", "selector", "scheduler",
            "schedulerFlags", "sessionAffinity", "sessionAffinityTimeout", "ports", "endpoints", "maxConnections",
            "maxConnectionsPerClient", "healthCheck", "type", "externalIPs", "loadBalancerIPs", "loadBalancerSourceRanges",
            "externalTrafficPolicy", "healthCheckNodePort");
    static final List<String> PORT = List.of("name", "protocol", "port", "targetPort", "udpIdleTimeout",
            "udpResponses", "proxyProtocol", "nodePort");
    static final List<String> ENDPOINT = List.of("ip", "port", "ports", "weight", "nodeName");

    private final ProxyBinder proxyBinder;
    private final ExposureBinder exposureBinder;
    private final ServiceClashes clashes;
    private final PortBinder portBinder;
    private final EndpointBinder endpointBinder;
    /** Where each explicit endpoint's {@code ip} is written, for the check of loops ({@link OwnListeners}). */
    final Map<EndpointSpec, OwnListeners.WrittenAt> endpointIps = new IdentityHashMap<>();
    final List<ServiceSpec> services = new ArrayList<>();

    ServiceBinder(Problems p, ProxyBinder proxyBinder) {
        super(p);
        this.proxyBinder = proxyBinder;
        this.exposureBinder = new ExposureBinder(p);
        this.clashes = new ServiceClashes(p, proxyBinder);
        this.portBinder = new PortBinder(p, proxyBinder, exposureBinder, clashes);
        this.endpointBinder = new EndpointBinder(p, exposureBinder, endpointIps);
    }

    void bindServices(Node node) {
        SequenceNode list = Values.list(node, "services", "a list of Services", p);
        if (list == null) {
            return;
        }
        List<Placed> placed = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String path = "services[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), path, "a Service: a map of "
                    + String.join(", ", SERVICE), p);
            if (map != null) {
                Placed s = bindService(map, path);
                services.add(s.spec());
                placed.add(s);
            }
        }
        clashes.checkBetweenServices(placed);
    }

    private Placed bindService(MappingNode map, String path) {
        Fields f = new Fields(map, path, p, SERVICE);
        String name = null;
        Node nameNode = f.missingAt("name");
        if (f.has("name")) {
            nameNode = f.value("name");
            clashes.paths.put(nameNode, f.child("name"));
            name = name(nameNode, f.child("name"), Names::isDns1035Label, Names.DNS1035_LABEL_EXPECTED);
        } else {
            Values.missing(p, f, "name", Names.DNS1035_LABEL_EXPECTED);
        }
        String namespace = "default";
        if (f.has("namespace")) {
            namespace = name(f.value("namespace"), f.child("namespace"), Names::isDns1123Label,
                    Names.DNS1123_LABEL_EXPECTED);
        }
        InetAddress clusterIP = null;
        if (f.has("clusterIP")) {
            clusterIP = Values.ip(f.value("clusterIP"), f.child("clusterIP"), p);
        } else {
            Values.missing(p, f, "clusterIP", "an IPv4 or IPv6 address");
        }
        Map<String, String> selector = null;
        if (f.has("selector")) {
            selector = PodBinder.labels(f.value("selector"), f.child("selector"), p);
            if (selector != null && selector.isEmpty()) {
                // As in Kubernetes, where an empty selector is dropped: the Service selects no Pods.
                selector = null;
            }
        }
        String scheduler = proxyBinder.defaultSchedulerValid ? proxyBinder.proxy.scheduler() : null;
        boolean schedulerKnown = proxyBinder.defaultSchedulerValid;
        if (f.has("scheduler")) {
            scheduler = scheduler(f.value("scheduler"), f.child("scheduler"));
            schedulerKnown = scheduler != null;
        }
        Set<SchedulerFlag> flags = f.has("schedulerFlags")
                ? flags(f.value("schedulerFlags"), f.child("schedulerFlags"), schedulerKnown ? scheduler : null)
                : Set.of();
        SessionAffinity affinity = affinity(f);
        ServiceExposure exposure = exposureBinder.exposure(f, proxyBinder.proxy.node(),
                proxyBinder.nodePortRangeValid);
        Map<InetAddress, ServiceClashes.Written> addressesWritten = exposureBinder.addressesWritten;
        ServiceClashes.Written healthCheckNodePortWritten = exposureBinder.healthCheckNodePortWritten;
        List<Node> portNodes = new ArrayList<>();
        List<Node> targetPortNodes = new ArrayList<>();
        List<PortSpec> ports = f.has("ports") ? portBinder.ports(f, exposureBinder.typeValid ? exposure.type() : null,
                portNodes, targetPortNodes) : List.of();
        if (!f.has("ports")) {
            Values.missing(p, f, "ports", "a list of at least one port");
        }
        List<EndpointSpec> endpoints = List.of();
        if (f.has("endpoints")) {
            if (selector != null) {
                p.at(f.keyNode("endpoints"), f.child("endpoints"),
                        "endpoints: not allowed with a selector (expected: either selector or endpoints)");
            }
            for (int j = 0; j < ports.size(); j++) {
                if (ports.get(j).targetPort() != null && ports.get(j).targetPort().isNamed()) {
                    Values.wrong(p, targetPortNodes.get(j), f.child("ports") + "[" + j + "].targetPort",
                            "a port number; a Service with endpoints has no Pods to name ports");
                }
            }
            endpoints = endpointBinder.endpoints(f.value("endpoints"), f.child("endpoints"), ports);
        }
        int maxConnections = integerOr(f, "maxConnections", 0, 10_000_000, 0);
        int maxPerClient = integerOr(f, "maxConnectionsPerClient", 0, 10_000_000, 0);
        HealthCheckSpec healthCheck = f.has("healthCheck") ? healthCheck(f.value("healthCheck"),
                f.child("healthCheck")) : null;
        ServiceSpec spec = new ServiceSpec(name, namespace, clusterIP, selector,
                scheduler == null ? proxyBinder.proxy.scheduler() : scheduler, flags, affinity, ports, endpoints, maxConnections,
                maxPerClient, healthCheck, exposure);
        return new Placed(spec, nameNode, portNodes, addressesWritten, healthCheckNodePortWritten);
    }

    private SessionAffinity affinity(Fields f) {
        boolean clientIp = false;
        boolean known = true;
        if (f.has("sessionAffinity")) {
            Node n = f.value("sessionAffinity");
            String v = Values.text(n, f.child("sessionAffinity"), "None or ClientIP", p);
            if ("ClientIP".equals(v)) {
                clientIp = true;
            } else if (!"None".equals(v)) {
                known = false;
                if (v != null) {
                    Values.wrong(p, n, f.child("sessionAffinity"), "None or ClientIP");
                }
            }
        }
        Duration timeout = SessionAffinity.DEFAULT_TIMEOUT;
        if (f.has("sessionAffinityTimeout")) {
            Node n = f.value("sessionAffinityTimeout");
            Duration d = Values.duration(n, f.child("sessionAffinityTimeout"), Duration.ofSeconds(1),
                    Duration.ofSeconds(86400), "1s..86400s", p);
            timeout = d == null ? timeout : d;
        }
        // With None the timeout is accepted and has no effect (SPEC.md's example writes both; Kubernetes would
        // reject it, but the example is the contract).
        return clientIp && known ? SessionAffinity.clientIp(timeout) : SessionAffinity.NONE;
    }

    private HealthCheckSpec healthCheck(Node node, String path) {
        HealthCheckSpec d = HealthCheckSpec.defaults();
        MappingNode map = Values.map(node, path, "a map of " + String.join(", ", HEALTH_CHECK), p);
        if (map == null) {
            return null;
        }
        Fields f = new Fields(map, path, p, HEALTH_CHECK);
        Duration interval = orDefault(f, "interval", Duration.ofMillis(100), Duration.ofHours(1), "100ms..1h",
                d.interval());
        // unwritten, the timeout is at most the interval (as HAProxy's checks time out at `inter` without
        // `timeout check`): `interval: 500ms` alone was refused for the default timeout of 1s
        Duration timeout = orDefault(f, "timeout", Duration.ofMillis(10), Duration.ofMinutes(1), "10ms..1m",
                d.timeout().compareTo(interval) > 0 ? interval : d.timeout());
        int rise = integerOr(f, "rise", 1, 100, d.rise());
        int fall = integerOr(f, "fall", 1, 100, d.fall());
        if (timeout.compareTo(interval) > 0) {
            Node at = f.has("timeout") ? f.value("timeout") : f.missingAt("interval");
            p.at(at, f.child("timeout"), Values.label(f.child("timeout")) + ": " + Durations.format(timeout)
                    + " (expected: at most interval " + Durations.format(interval) + ")");
        }
        return new HealthCheckSpec(interval, timeout, rise, fall);
    }
}
