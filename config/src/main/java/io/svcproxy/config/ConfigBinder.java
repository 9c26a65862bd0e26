package io.svcproxy.config;

import io.svcproxy.balancer.SchedulerFlag;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Binds the node tree of a config file to the records, strictly, and checks what one file can check: every
 * value, and the rules between Services (unique names, no two on one clusterIP, port and protocol). Records
 * every problem in {@link Problems} and goes on; the result is only used when there was none. The root and the
 * {@code registry:} section are bound here; {@link ProxyBinder} binds {@code proxy:} and {@link ServiceBinder}
 * {@code services:}.
 */
final class ConfigBinder extends BinderSupport {
    static final List<String> TOP = List.of("proxy", "registry", "services", "pods", "ingresses");
    static final List<String> REGISTRY = List.of("files", "kubernetes");
    static final List<String> KUBERNETES = List.of("kubeconfig", "namespaces", "nodeName", "zone", "services");
    static final List<String> KUBERNETES_SERVICE = List.of("namespace", "name", "scheduler", "schedulerFlags");


    /** A registry file named in the config: as written, resolved, and where it is written. */
    record RegistryEntry(Path file, Node node, String path) {
    }

    private final Path base;
    /** The config file itself, normalized, or {@code null} for a config not read from a file. */
    private final Path configFile;

    private final ProxyBinder proxyBinder;
    final ServiceBinder serviceBinder;
    private final IngressBinder ingressBinder;
    KubernetesSettings kubernetes;
    /** Where {@code registry.kubernetes.kubeconfig} is written, for the check only a start makes; else null. */
    Node kubeconfigNode;
    final List<RegistryEntry> registryFiles = new ArrayList<>();
    /** The Services bound, in file order. */
    final List<ServiceSpec> services;
    final List<PodBinder.BoundPod> pods = new ArrayList<>();

    private ConfigBinder(Problems p, Path configFile, boolean runtimeFiles) {
        super(p);
        this.proxyBinder = new ProxyBinder(p, configFile == null ? null : configFile.getParent(), runtimeFiles);
        this.serviceBinder = new ServiceBinder(p, proxyBinder);
        this.services = serviceBinder.services;
        this.ingressBinder = new IngressBinder(p, this::path, runtimeFiles);
        this.base = configFile == null ? null : configFile.getParent();
        this.configFile = configFile == null ? null : configFile.toAbsolutePath().normalize();
    }

    /**
     * Binds the root of a config file ({@code null} for an empty one); {@code runtimeFiles}: whether the files only
     * a running proxy opens (the connection log's folder, the Ingresses' certificates) are checked.
     */
    static ConfigBinder bind(Node root, Problems p, Path configFile, boolean runtimeFiles) {
        ConfigBinder b = new ConfigBinder(p, configFile, runtimeFiles);
        if (root != null && !Values.isNull(root)) {
            b.bindRoot(root);
        }
        return b;
    }

    /** Returns the {@code proxy:} settings bound (the defaults without that section). */
    ProxySettings proxy() {
        return proxyBinder.proxy;
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
            proxyBinder.bindProxy(f.value("proxy"));
        }
        if (f.has("registry")) {
            bindRegistry(f.value("registry"));
        }
        if (f.has("services")) {
            serviceBinder.bindServices(f.value("services"));
        }
        if (f.has("pods")) {
            pods.addAll(PodBinder.bindPods(f.value("pods"), "pods", p));
        }
        if (f.has("ingresses")) {
            ingressBinder.bindIngresses(f.value("ingresses"));
            ingressBinder.checkBackends(services, kubernetes != null);
        }
        checkConnectionLog(); // once every file svcproxy reads is known
    }

    /**
     * Refuses a connection log that is a file svcproxy reads: the config file, a registry file, an Ingress's
     * certificate or key file, the kubeconfig. svcproxy would append its JSON lines to it, and the next reload would
     * be rejected. The same file by another name (a symbolic or hard link) is the same file.
     */
    private void checkConnectionLog() {
        Path log = proxyBinder.proxy.connectionLog();
        if (log == null || proxyBinder.connectionLogNode == null) {
            return;
        }
        List<Path> read = new ArrayList<>();
        read.add(configFile);
        registryFiles.forEach(entry -> read.add(entry.file()));
        for (IngressSpec ingress : ingressBinder.ingresses) {
            for (IngressSpec.Tls tls : ingress.tls()) {
                if (tls.certFile() != null) {
                    read.add(tls.certFile());
                    read.add(tls.keyFile());
                }
            }
        }
        if (kubernetes != null && kubernetes.kubeconfig() != null) {
            read.add(kubernetes.kubeconfig());
        }
        for (Path file : read) {
            if (file != null && sameFile(log, file)) {
                Values.wrong(p, proxyBinder.connectionLogNode, "proxy.connectionLog",
                        "a file of its own, not the config file or a registry, certificate, key or kubeconfig file, "
                                + "which svcproxy reads");
                return;
            }
        }
    }

    /** Whether {@code a} and {@code b} name one file: the same path, or, when both exist, the same file by links. */
    private static boolean sameFile(Path a, Path b) {
        if (a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) {
            return true;
        }
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (java.io.IOException e) {
            return false; // not readable: not a file svcproxy could read either
        }
    }

    /** The Ingresses bound, in file order. */
    List<IngressSpec> ingresses() {
        return ingressBinder.ingresses;
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
                    if (file.toAbsolutePath().normalize().equals(configFile)) {
                        // read as a registry file it would be rejected for its own proxy: key, a puzzling message
                        Values.wrong(p, item, path, "a file of pods: lists, not this config file itself");
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
        if (f.keys().contains("kubernetes")) {
            if (f.explicitNull("kubernetes")) {
                // "kubernetes: ~" reads as "off" to many, but the key given turns the API on: said, not guessed
                p.at(f.keyNode("kubernetes"), f.child("kubernetes"), "kubernetes: " + Values.describe(
                        f.node().getValue().stream().filter(t -> t.getKeyNode() == f.keyNode("kubernetes"))
                                .findFirst().orElseThrow().getValueNode())
                        + " (expected: a map of " + String.join(", ", KUBERNETES) + ", or {} for the defaults; "
                        + "leave the key out to not watch the Kubernetes API)");
            } else if (f.value("kubernetes") == null) {
                // "kubernetes:" with every key left out (or commented out) asks for the API with the defaults, as
                // "kubernetes: {}" does (the in-cluster account, every namespace); it is not the key left out
                kubernetes = new KubernetesSettings(null, List.of(), null, null, List.of());
            } else {
                bindKubernetes(f.value("kubernetes"));
            }
        }
    }

    /** Returns a path written in the config: {@code ~} is the home folder; a relative one is against the config's folder. */
    private Path path(Node node, String path) {
        return Values.path(node, path, base, p);
    }

    private void bindKubernetes(Node node) {
        String at = "registry.kubernetes";
        MappingNode map = Values.map(node, at, "a map of " + String.join(", ", KUBERNETES), p);
        if (map == null) {
            return;
        }
        Fields f = new Fields(map, at, p, KUBERNETES);
        Path kubeconfigFile = f.has("kubeconfig") ? path(f.value("kubeconfig"), f.child("kubeconfig")) : null;
        kubeconfigNode = kubeconfigFile == null ? null : f.value("kubeconfig");
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
}
