package io.svcproxy.config;

import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.Schedulers;
import io.svcproxy.balancer.SessionAffinity;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Binds the node tree of a config file to the records, strictly, and checks what one file can check: every
 * value, and the rules between Services (unique names, no two on one clusterIP, port and protocol). Records
 * every problem in {@link Problems} and goes on; the result is only used when there was none.
 */
final class ConfigBinder {
    static final List<String> TOP = List.of("proxy", "registry", "services", "pods");
    static final List<String> PROXY = List.of("scheduler", "admin", "connectTimeout", "connectAttempts",
            "idleTimeout", "drainTimeout", "vipInterface", "outlierDetection", "maxConnections", "connectQueue",
            "fdGuard");
    static final List<String> OUTLIER_DETECTION = List.of("consecutiveFailures", "baseEjectionTime",
            "maxEjectionTime");
    static final List<String> FD_GUARD = List.of("pausePercent", "resumePercent");
    static final List<String> HEALTH_CHECK = List.of("interval", "timeout", "rise", "fall");
    static final List<String> REGISTRY = List.of("files", "kubernetes");
    static final List<String> KUBERNETES = List.of("kubeconfig", "namespaces", "nodeName", "zone", "services");
    static final List<String> KUBERNETES_SERVICE = List.of("namespace", "name", "scheduler", "schedulerFlags");
    static final List<String> SERVICE = List.of("name", "namespace", "clusterIP", "selector", "scheduler",
            "schedulerFlags", "sessionAffinity", "sessionAffinityTimeout", "ports", "endpoints", "maxConnections",
            "maxConnectionsPerClient", "healthCheck");
    static final List<String> PORT = List.of("name", "protocol", "port", "targetPort");
    static final List<String> ENDPOINT = List.of("ip", "port", "ports", "weight");

    private static final String SCHEDULERS = String.join(", ", Schedulers.NAMES);
    private static final String FLAGS = java.util.Arrays.stream(SchedulerFlag.values())
            .map(SchedulerFlag::configName).collect(Collectors.joining(", "));
    private static final Duration MAX_TIMEOUT = Duration.ofHours(8760);

    /** A registry file named in the config: as written, resolved, and where it is written. */
    record RegistryEntry(Path file, Node node, String path) {
    }

    private final Problems p;
    private final Path base;
    /** The path of each name and port value, for the checks between Services that point back at them. */
    private final Map<Node, String> paths = new IdentityHashMap<>();

    ProxySettings proxy = ProxySettings.defaults();
    boolean defaultSchedulerValid = true;
    Path kubeconfig;
    KubernetesSettings kubernetes;
    final List<RegistryEntry> registryFiles = new ArrayList<>();
    final List<ServiceSpec> services = new ArrayList<>();
    final List<PodBinder.BoundPod> pods = new ArrayList<>();

    private ConfigBinder(Problems p, Path configFile) {
        this.p = p;
        this.base = configFile == null ? null : configFile.getParent();
    }

    /** Binds the root of a config file ({@code null} for an empty one). */
    static ConfigBinder bind(Node root, Problems p, Path configFile) {
        ConfigBinder b = new ConfigBinder(p, configFile);
        if (root != null && !Values.isNull(root)) {
            b.bindRoot(root);
        }
        return b;
    }

    RegistrySettings registry() {
        return new RegistrySettings(registryFiles.stream().map(RegistryEntry::file).toList(), kubernetes);
    }

    private void bindRoot(Node root) {
        if (!(root instanceof MappingNode map)) {
            p.at(root, "", "config: " + Values.describe(root) + " (expected: a map of " + String.join(", ", TOP)
                    + ")");
            return;
        }
        Fields f = new Fields(map, "", p, TOP);
        if (f.has("proxy")) {
            bindProxy(f.value("proxy"));
        }
        if (f.has("registry")) {
            bindRegistry(f.value("registry"));
        }
        if (f.has("services")) {
            bindServices(f.value("services"));
        }
        if (f.has("pods")) {
            pods.addAll(PodBinder.bindPods(f.value("pods"), "pods", p));
        }
    }

    private void bindProxy(Node node) {
        MappingNode map = Values.map(node, "proxy", "a map of " + String.join(", ", PROXY), p);
        if (map == null) {
            return;
        }
        Fields f = new Fields(map, "proxy", p, PROXY);
        ProxySettings d = ProxySettings.defaults();
        String scheduler = d.scheduler();
        if (f.has("scheduler")) {
            scheduler = scheduler(f.value("scheduler"), f.child("scheduler"));
            if (scheduler == null) {
                defaultSchedulerValid = false;
                scheduler = d.scheduler();
            }
        }
        InetSocketAddress admin = d.admin();
        if (f.has("admin")) {
            admin = admin(f.value("admin"), f.child("admin"), d.admin());
        }
        Duration connectTimeout = orDefault(f, "connectTimeout", Duration.ofMillis(1), Duration.ofHours(1),
                "1ms..1h", d.connectTimeout());
        int connectAttempts = d.connectAttempts();
        if (f.has("connectAttempts")) {
            Integer n = Values.integer(f.value("connectAttempts"), f.child("connectAttempts"), 1, 100, p);
            connectAttempts = n == null ? connectAttempts : n;
        }
        Duration idleTimeout = orDefault(f, "idleTimeout", Duration.ofMillis(1), MAX_TIMEOUT, "1ms..8760h",
                d.idleTimeout());
        Duration drainTimeout = orDefault(f, "drainTimeout", Duration.ZERO, MAX_TIMEOUT, "0s..8760h",
                d.drainTimeout());
        String vipInterface = d.vipInterface();
        if (f.has("vipInterface")) {
            String expected = "an interface name: at most 15 of [A-Za-z0-9_.-], or \"\" for none";
            String v = Values.text(f.value("vipInterface"), f.child("vipInterface"), expected, p);
            if (v != null && !v.isEmpty() && (!v.matches("[A-Za-z0-9_.-]{1,15}") || v.equals(".")
                    || v.equals(".."))) {
                Values.wrong(p, f.value("vipInterface"), f.child("vipInterface"), expected);
            } else if (v != null) {
                vipInterface = v;
            }
        }
        OutlierDetection outlier = f.has("outlierDetection")
                ? outlierDetection(f.value("outlierDetection"), f.child("outlierDetection"))
                : OutlierDetection.defaults();
        ProxyLimits dl = ProxyLimits.defaults();
        int maxConnections = integerOr(f, "maxConnections", 0, 10_000_000, dl.maxConnections());
        int connectQueue = integerOr(f, "connectQueue", 1, 1_000_000, dl.connectQueue());
        int pause = dl.fdPausePercent();
        int resume = dl.fdResumePercent();
        if (f.has("fdGuard")) {
            MappingNode guard = Values.map(f.value("fdGuard"), f.child("fdGuard"),
                    "a map of " + String.join(", ", FD_GUARD), p);
            if (guard != null) {
                Fields g = new Fields(guard, f.child("fdGuard"), p, FD_GUARD);
                pause = integerOr(g, "pausePercent", 2, 100, pause);
                resume = integerOr(g, "resumePercent", 1, 99, resume);
                if (resume >= pause) {
                    Node at = g.has("resumePercent") ? g.value("resumePercent") : g.missingAt("pausePercent");
                    p.at(at, g.child("resumePercent"), Values.label(g.child("resumePercent")) + ": " + resume
                            + " (expected: below pausePercent " + pause + ")");
                }
            }
        }
        proxy = new ProxySettings(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout,
                vipInterface, outlier, new ProxyLimits(maxConnections, connectQueue, pause, resume));
    }

    private int integerOr(Fields f, String key, int min, int max, int dflt) {
        if (!f.has(key)) {
            return dflt;
        }
        Integer n = Values.integer(f.value(key), f.child(key), min, max, p);
        return n == null ? dflt : n;
    }

    private OutlierDetection outlierDetection(Node node, String path) {
        OutlierDetection d = OutlierDetection.defaults();
        MappingNode map = Values.map(node, path, "a map of " + String.join(", ", OUTLIER_DETECTION), p);
        if (map == null) {
            return d;
        }
        Fields f = new Fields(map, path, p, OUTLIER_DETECTION);
        int failures = integerOr(f, "consecutiveFailures", 0, 1000, d.consecutiveFailures());
        Duration base = orDefault(f, "baseEjectionTime", Duration.ofMillis(100), Duration.ofHours(24), "100ms..24h",
                d.baseEjectionTime());
        Duration max = orDefault(f, "maxEjectionTime", Duration.ofMillis(100), Duration.ofHours(24), "100ms..24h",
                d.maxEjectionTime());
        if (max.compareTo(base) < 0) {
            Node at = f.has("maxEjectionTime") ? f.value("maxEjectionTime") : f.missingAt("baseEjectionTime");
            p.at(at, f.child("maxEjectionTime"), Values.label(f.child("maxEjectionTime")) + ": "
                    + Durations.format(max) + " (expected: at least baseEjectionTime " + Durations.format(base) + ")");
        }
        return new OutlierDetection(failures, base, max);
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
        Duration timeout = orDefault(f, "timeout", Duration.ofMillis(10), Duration.ofMinutes(1), "10ms..1m",
                d.timeout());
        int rise = integerOr(f, "rise", 1, 100, d.rise());
        int fall = integerOr(f, "fall", 1, 100, d.fall());
        if (timeout.compareTo(interval) > 0) {
            Node at = f.has("timeout") ? f.value("timeout") : f.missingAt("interval");
            p.at(at, f.child("timeout"), Values.label(f.child("timeout")) + ": " + Durations.format(timeout)
                    + " (expected: at most interval " + Durations.format(interval) + ")");
        }
        return new HealthCheckSpec(interval, timeout, rise, fall);
    }

    private Duration orDefault(Fields f, String key, Duration min, Duration max, String range, Duration dflt) {
        if (!f.has(key)) {
            return dflt;
        }
        Duration d = Values.duration(f.value(key), f.child(key), min, max, range, p);
        return d == null ? dflt : d;
    }

    /** Returns the admin address; {@code off} or {@code false} (any YAML false) disable it ({@code null}). */
    private InetSocketAddress admin(Node node, String path, InetSocketAddress dflt) {
        String expected = "IP:PORT, such as 127.0.0.1:9901 or [::1]:9901, or off";
        if (!(node instanceof ScalarNode s)) {
            Values.wrong(p, node, path, expected);
            return dflt;
        }
        String v = s.getValue();
        if (node.getTag().equals(Tag.BOOL) || v.equalsIgnoreCase("off") || v.equalsIgnoreCase("false")) {
            String lower = v.toLowerCase(Locale.ROOT);
            if (lower.equals("off") || lower.equals("false") || lower.equals("no") || lower.equals("n")) {
                return null;
            }
            Values.wrong(p, node, path, expected);
            return dflt;
        }
        try {
            return Addresses.parseSocketAddress(v);
        } catch (IllegalArgumentException e) {
            Values.wrong(p, node, path, expected);
            return dflt;
        }
    }

    private String scheduler(Node node, String path) {
        String v = Values.text(node, path, SCHEDULERS, p);
        if (v == null) {
            return null;
        }
        if (!Schedulers.isKnown(v)) {
            Values.wrong(p, node, path, SCHEDULERS);
            return null;
        }
        return v;
    }

    private void bindRegistry(Node node) {
        MappingNode map = Values.map(node, "registry", "a map of " + String.join(", ", REGISTRY), p);
        if (map == null) {
            return;
        }
        Fields f = new Fields(map, "registry", p, REGISTRY);
        if (f.has("files")) {
            SequenceNode list = Values.list(f.value("files"), f.child("files"), "a list of file paths", p);
            if (list != null) {
                Map<Path, Node> seen = new HashMap<>();
                for (int i = 0; i < list.getValue().size(); i++) {
                    Node item = list.getValue().get(i);
                    String path = f.child("files") + "[" + i + "]";
                    Path file = path(item, path);
                    if (file == null) {
                        continue;
                    }
                    Node first = seen.putIfAbsent(file.normalize(), item);
                    if (first != null) {
                        Values.wrong(p, item, path, "each file once; also at " + Problems.line(first));
                        continue;
                    }
                    registryFiles.add(new RegistryEntry(file, item, path));
                }
            }
        }
        if (f.has("kubernetes")) {
            bindKubernetes(f.value("kubernetes"));
        }
    }

    /** Returns a path written in the config: {@code ~} is the home folder; a relative one is against the config's folder. */
    private Path path(Node node, String path) {
        String expected = "a file path";
        String v = Values.text(node, path, expected, p);
        if (v == null) {
            return null;
        }
        if (v.isEmpty() || v.indexOf('\0') >= 0) {
            Values.wrong(p, node, path, expected);
            return null;
        }
        try {
            if (v.equals("~") || v.startsWith("~/")) {
                Path home = Path.of(System.getProperty("user.home"));
                return v.length() <= 2 ? home : home.resolve(v.substring(2));
            }
            Path file = Path.of(v);
            return base == null || file.isAbsolute() ? file : base.resolve(file);
        } catch (InvalidPathException e) {
            Values.wrong(p, node, path, expected);
            return null;
        }
    }

    private void bindKubernetes(Node node) {
        String at = "registry.kubernetes";
        MappingNode map = Values.map(node, at, "a map of " + String.join(", ", KUBERNETES), p);
        if (map == null) {
            return;
        }
        Fields f = new Fields(map, at, p, KUBERNETES);
        Path kubeconfigFile = f.has("kubeconfig") ? path(f.value("kubeconfig"), f.child("kubeconfig")) : null;
        List<String> namespaces = new ArrayList<>();
        if (f.has("namespaces")) {
            SequenceNode list = Values.list(f.value("namespaces"), f.child("namespaces"), "a list of namespaces", p);
            if (list != null) {
                for (int i = 0; i < list.getValue().size(); i++) {
                    Node item = list.getValue().get(i);
                    String path = f.child("namespaces") + "[" + i + "]";
                    String ns = Values.text(item, path, Names.DNS1123_LABEL_EXPECTED, p);
                    if (ns != null && !Names.isDns1123Label(ns)) {
                        Values.wrong(p, item, path, Names.DNS1123_LABEL_EXPECTED);
                    } else if (ns != null && !namespaces.contains(ns)) {
                        namespaces.add(ns);
                    }
                }
            }
        }
        String nodeName = null;
        if (f.has("nodeName")) {
            nodeName = name(f.value("nodeName"), f.child("nodeName"), Names::isDns1123Subdomain,
                    Names.DNS1123_SUBDOMAIN_EXPECTED);
        }
        String zone = null;
        if (f.has("zone")) {
            zone = name(f.value("zone"), f.child("zone"), z -> !z.isEmpty() && Names.isLabelValue(z),
                    Names.LABEL_VALUE_EXPECTED);
        }
        List<KubernetesSettings.ServiceScheduler> schedulers = f.has("services")
                ? kubernetesServices(f.value("services"), f.child("services"))
                : List.of();
        kubernetes = new KubernetesSettings(kubeconfigFile, namespaces, nodeName, zone, schedulers);
    }

    /** Binds {@code registry.kubernetes.services}: the scheduler of Kubernetes Services by namespace and name. */
    private List<KubernetesSettings.ServiceScheduler> kubernetesServices(Node node, String path) {
        SequenceNode list = Values.list(node, path, "a list of Services: a map of "
                + String.join(", ", KUBERNETES_SERVICE), p);
        if (list == null) {
            return List.of();
        }
        List<KubernetesSettings.ServiceScheduler> out = new ArrayList<>();
        Map<String, Node> seen = new HashMap<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath, "a Service: a map of "
                    + String.join(", ", KUBERNETES_SERVICE), p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, KUBERNETES_SERVICE);
            String namespace = "default";
            if (f.has("namespace")) {
                namespace = name(f.value("namespace"), f.child("namespace"), Names::isDns1123Label,
                        Names.DNS1123_LABEL_EXPECTED);
            }
            String name = null;
            if (f.has("name")) {
                // A Service's name is a DNS-1035 label; a DNS-1123 label also admits a leading digit, which the
                // API server rejects for Services, so the stricter rule of the services section applies.
                name = name(f.value("name"), f.child("name"), Names::isDns1035Label, Names.DNS1035_LABEL_EXPECTED);
            } else {
                Values.missing(p, f, "name", Names.DNS1035_LABEL_EXPECTED);
            }
            String scheduler = null;
            if (f.has("scheduler")) {
                scheduler = scheduler(f.value("scheduler"), f.child("scheduler"));
            } else {
                Values.missing(p, f, "scheduler", SCHEDULERS);
            }
            Set<SchedulerFlag> flags = f.has("schedulerFlags")
                    ? flags(f.value("schedulerFlags"), f.child("schedulerFlags"), scheduler)
                    : Set.of();
            if (namespace != null && name != null) {
                Node nameNode = f.value("name");
                Node first = seen.putIfAbsent(namespace + "/" + name, nameNode);
                if (first != null) {
                    Values.wrong(p, nameNode, f.child("name"), "a Service named once in namespace " + namespace
                            + "; also at " + Problems.line(first));
                    continue;
                }
            }
            if (namespace != null && name != null && scheduler != null) {
                out.add(new KubernetesSettings.ServiceScheduler(namespace, name, scheduler, flags));
            }
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------- services

    /** What the checks between Services need to point at. */
    private record Placed(ServiceSpec spec, Node nameNode, List<Node> portNodes) {
    }

    private void bindServices(Node node) {
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
        checkBetweenServices(placed);
    }

    private void checkBetweenServices(List<Placed> placed) {
        Map<String, Node> names = new HashMap<>();
        Map<ServiceKey, String> keys = new HashMap<>();
        for (Placed s : placed) {
            ServiceSpec spec = s.spec();
            if (spec.name() != null && spec.namespace() != null) {
                Node first = names.putIfAbsent(spec.qualifiedName(), s.nameNode());
                if (first != null) {
                    Values.wrong(p, s.nameNode(), pathOf(s.nameNode(), "name"), "a name unique in namespace "
                            + spec.namespace() + "; also at " + Problems.line(first));
                }
            }
            if (spec.clusterIP() == null) {
                continue;
            }
            for (int j = 0; j < spec.ports().size(); j++) {
                PortSpec port = spec.ports().get(j);
                Node portNode = s.portNodes().get(j);
                if (port.port() == 0 || port.protocol() == null || portNode == null) {
                    continue;
                }
                ServiceKey key = new ServiceKey(spec.clusterIP(), port.port(), port.protocol());
                String shown = Addresses.format(spec.clusterIP(), port.port()) + "/" + port.protocol();
                String owner = (spec.name() == null ? "?" : spec.qualifiedName()) + " at "
                        + Problems.line(portNode);
                String first = keys.putIfAbsent(key, owner);
                if (first != null) {
                    Values.wrong(p, portNode, pathOf(portNode, "port"), "a clusterIP, port and protocol of one "
                            + "Service only; " + shown + " is also " + first);
                }
            }
        }
    }

    /** Returns the path recorded for a node when it was bound (the checks between Services need it back). */
    private String pathOf(Node node, String dflt) {
        return paths.getOrDefault(node, dflt);
    }

    private Placed bindService(MappingNode map, String path) {
        Fields f = new Fields(map, path, p, SERVICE);
        String name = null;
        Node nameNode = f.missingAt("name");
        if (f.has("name")) {
            nameNode = f.value("name");
            paths.put(nameNode, f.child("name"));
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
        String scheduler = defaultSchedulerValid ? proxy.scheduler() : null;
        boolean schedulerKnown = defaultSchedulerValid;
        if (f.has("scheduler")) {
            scheduler = scheduler(f.value("scheduler"), f.child("scheduler"));
            schedulerKnown = scheduler != null;
        }
        Set<SchedulerFlag> flags = f.has("schedulerFlags")
                ? flags(f.value("schedulerFlags"), f.child("schedulerFlags"), schedulerKnown ? scheduler : null)
                : Set.of();
        SessionAffinity affinity = affinity(f);
        List<Node> portNodes = new ArrayList<>();
        List<Node> targetPortNodes = new ArrayList<>();
        List<PortSpec> ports = f.has("ports") ? ports(f, portNodes, targetPortNodes) : List.of();
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
            endpoints = endpoints(f.value("endpoints"), f.child("endpoints"), ports);
        }
        int maxConnections = integerOr(f, "maxConnections", 0, 10_000_000, 0);
        int maxPerClient = integerOr(f, "maxConnectionsPerClient", 0, 10_000_000, 0);
        HealthCheckSpec healthCheck = f.has("healthCheck") ? healthCheck(f.value("healthCheck"),
                f.child("healthCheck")) : null;
        ServiceSpec spec = new ServiceSpec(name, namespace, clusterIP, selector,
                scheduler == null ? proxy.scheduler() : scheduler, flags, affinity, ports, endpoints, maxConnections,
                maxPerClient, healthCheck);
        return new Placed(spec, nameNode, portNodes);
    }

    private String name(Node node, String path, java.util.function.Predicate<String> valid, String expected) {
        String v = Values.text(node, path, expected, p);
        if (v != null && !valid.test(v)) {
            Values.wrong(p, node, path, expected);
            return null;
        }
        return v;
    }

    private Set<SchedulerFlag> flags(Node node, String path, String scheduler) {
        SequenceNode list = Values.list(node, path, "a list of flags: " + FLAGS, p);
        if (list == null) {
            return Set.of();
        }
        Set<SchedulerFlag> flags = EnumSet.noneOf(SchedulerFlag.class);
        for (int i = 0; i < list.getValue().size(); i++) {
            Node item = list.getValue().get(i);
            String itemPath = path + "[" + i + "]";
            String v = Values.text(item, itemPath, FLAGS, p);
            if (v == null) {
                continue;
            }
            SchedulerFlag flag = SchedulerFlag.fromConfigName(v);
            if (flag == null) {
                Values.wrong(p, item, itemPath, FLAGS);
            } else if (!flags.add(flag)) {
                Values.wrong(p, item, itemPath, "each flag once");
            } else if (scheduler != null && !flag.scheduler().equals(scheduler)) {
                String own = java.util.Arrays.stream(SchedulerFlag.values())
                        .filter(x -> x.scheduler().equals(scheduler))
                        .map(SchedulerFlag::configName).collect(Collectors.joining(", "));
                Values.wrong(p, item, itemPath, own.isEmpty()
                        ? "no flags; scheduler " + scheduler + " has none"
                        : "a flag of scheduler " + scheduler + ": " + own);
            }
        }
        return flags;
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

    private List<PortSpec> ports(Fields service, List<Node> portNodes, List<Node> targetPortNodes) {
        String path = service.child("ports");
        SequenceNode list = Values.list(service.value("ports"), path, "a list of at least one port", p);
        if (list == null) {
            return List.of();
        }
        if (list.getValue().isEmpty()) {
            Values.wrong(p, list, path, "a list of at least one port");
            return List.of();
        }
        boolean several = list.getValue().size() > 1;
        List<PortSpec> ports = new ArrayList<>();
        Map<String, Node> names = new HashMap<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath,
                    "a port: a map of " + String.join(", ", PORT), p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, PORT);
            String name = "";
            if (f.has("name")) {
                Node n = f.value("name");
                String v = name(n, f.child("name"), Names::isDns1123Label, Names.DNS1123_LABEL_EXPECTED);
                if (v != null) {
                    Node first = names.putIfAbsent(v, n);
                    if (first != null) {
                        Values.wrong(p, n, f.child("name"), "a name unique in the Service; also at "
                                + Problems.line(first));
                    }
                    name = v;
                }
            } else if (several) {
                Values.missing(p, f, "name", "a port name; required when a Service has more than one port");
            }
            Protocol protocol = Protocol.TCP;
            if (f.has("protocol")) {
                protocol = serviceProtocol(f.value("protocol"), f.child("protocol"));
            }
            int port = 0;
            Node portNode = null;
            if (f.has("port")) {
                portNode = f.value("port");
                paths.put(portNode, f.child("port"));
                Integer v = Values.integer(portNode, f.child("port"), 1, 65535, p);
                port = v == null ? 0 : v;
                if (v == null) {
                    portNode = null;
                }
            } else {
                Values.missing(p, f, "port", "1..65535");
            }
            TargetPort target = port == 0 ? null : TargetPort.of(port);
            Node targetNode = null;
            if (f.has("targetPort")) {
                targetNode = f.value("targetPort");
                target = targetPort(targetNode, f.child("targetPort"));
            }
            ports.add(new PortSpec(name, protocol, port, target));
            portNodes.add(portNode);
            targetPortNodes.add(targetNode);
        }
        return ports;
    }

    private Protocol serviceProtocol(Node node, String path) {
        String v = Values.text(node, path, "TCP", p);
        if ("TCP".equals(v)) {
            return Protocol.TCP;
        }
        if ("UDP".equals(v) || "SCTP".equals(v)) {
            Values.wrong(p, node, path, "TCP; " + v + " is not supported yet");
        } else if (v != null) {
            Values.wrong(p, node, path, "TCP");
        }
        return null;
    }

    private TargetPort targetPort(Node node, String path) {
        String expected = "a port number 1..65535, or " + Names.IANA_SVC_NAME_EXPECTED;
        if (node instanceof ScalarNode && node.getTag().equals(Tag.INT)) {
            Integer v = Values.integer(node, path, 1, 65535, p);
            return v == null ? null : TargetPort.of(v);
        }
        String v = Values.text(node, path, expected, p);
        if (v == null) {
            return null;
        }
        if (!Names.isIanaSvcName(v)) {
            Values.wrong(p, node, path, expected);
            return null;
        }
        return TargetPort.named(v);
    }

    private List<EndpointSpec> endpoints(Node node, String path, List<PortSpec> ports) {
        SequenceNode list = Values.list(node, path, "a list of endpoints", p);
        if (list == null) {
            return List.of();
        }
        List<String> portNames = ports.stream().map(PortSpec::name).filter(n -> !n.isEmpty()).toList();
        List<EndpointSpec> endpoints = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath,
                    "an endpoint: a map of " + String.join(", ", ENDPOINT), p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, ENDPOINT);
            InetAddress ip = null;
            if (f.has("ip")) {
                ip = Values.ip(f.value("ip"), f.child("ip"), p);
            } else {
                Values.missing(p, f, "ip", "an IPv4 or IPv6 address");
            }
            int port = 0;
            if (f.has("port")) {
                Integer v = Values.integer(f.value("port"), f.child("port"), 1, 65535, p);
                if (v != null && ports.size() > 1) {
                    Values.wrong(p, f.value("port"), f.child("port"), "ports by port name; the Service has "
                            + ports.size() + " ports");
                } else if (v != null) {
                    port = v;
                }
            }
            Map<String, Integer> byName = new LinkedHashMap<>();
            Set<String> namesGiven = new java.util.HashSet<>(); // valid or not: a bad value is reported once
            if (f.has("ports")) {
                if (f.has("port")) {
                    p.at(f.keyNode("ports"), f.child("ports"),
                            "ports: not allowed with port (expected: one of port or ports)");
                }
                byName = endpointPorts(f.value("ports"), f.child("ports"), portNames);
                if (f.value("ports") instanceof MappingNode given) {
                    for (NodeTuple t : given.getValue()) {
                        if (t.getKeyNode() instanceof ScalarNode key) {
                            namesGiven.add(key.getValue());
                        }
                    }
                }
            }
            int weight = 1;
            if (f.has("weight")) {
                Integer v = Values.integer(f.value("weight"), f.child("weight"), 0, 65535, p);
                weight = v == null ? weight : v;
            }
            if (!f.has("port")) {
                for (PortSpec sp : ports) {
                    if (sp.port() != 0 && sp.targetPort() != null && sp.targetPort().isNamed()
                            && !namesGiven.contains(sp.name())) {
                        p.at(map, itemPath, Values.label(itemPath) + ": no port for Service port " + sp.label()
                                + " (expected: " + (sp.name().isEmpty() ? "port" : "port, or ports." + sp.name())
                                + ", or a numeric targetPort)");
                    }
                }
            }
            endpoints.add(new EndpointSpec(ip, port, byName, weight));
        }
        return endpoints;
    }

    private Map<String, Integer> endpointPorts(Node node, String path, List<String> portNames) {
        String expected = portNames.isEmpty()
                ? "a port name of the Service, which has no named port"
                : "a port name of the Service: " + String.join(", ", portNames);
        MappingNode map = Values.map(node, path, "a map of Service port name to port", p);
        if (map == null) {
            return Map.of();
        }
        Fields f = new Fields(map, path, p, null);
        Map<String, Integer> out = new LinkedHashMap<>();
        for (NodeTuple t : map.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode key) || f.keyNode(key.getValue()) != t.getKeyNode()) {
                continue; // reported by Fields
            }
            String name = key.getValue();
            String itemPath = path + "[" + name + "]";
            if (!portNames.contains(name)) {
                p.at(key, itemPath, Values.label(path) + ": " + name + " (expected: " + expected + ")");
                continue;
            }
            if (f.has(name)) {
                Integer v = Values.integer(t.getValueNode(), itemPath, 1, 65535, p);
                if (v != null) {
                    out.put(name, v);
                }
            } else {
                Values.missing(p, f, name, "1..65535");
            }
        }
        return out;
    }
}
