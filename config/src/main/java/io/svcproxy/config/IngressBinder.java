package io.svcproxy.config;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Binds {@code proxy.ingress} and the {@code ingresses:} list (SPEC.md, "Ingress"): names, hosts and one-label
 * wildcards, paths and pathTypes, backends, TLS file pairs that load, and the same host, path and pathType given
 * twice. {@link #checkBackends} then checks that each backend names a Service port the file defines, unless
 * {@code registry.kubernetes} may define it.
 */
final class IngressBinder extends BinderSupport {
    static final List<String> SETTINGS = List.of("http", "https", "className", "responseTimeout",
            "httpsRedirectPort", "publishService");
    static final String PUBLISH_SERVICE_EXPECTED = "namespace/name of a Service: a DNS-1123 label, /, a DNS-1035 "
            + "label";
    static final List<String> INGRESS = List.of("name", "namespace", "annotations", "tls", "defaultBackend", "rules");
    /** The annotations the file may give an Ingress: those svcproxy reads (it would ignore any other silently). */
    static final List<String> ANNOTATIONS = List.of(IngressSpec.SSL_REDIRECT, IngressSpec.FORCE_SSL_REDIRECT);
    static final List<String> TLS = List.of("hosts", "certFile", "keyFile", "secretName");
    static final List<String> BACKEND = List.of("service", "resource");
    static final List<String> SERVICE = List.of("name", "port");
    static final List<String> PORT = List.of("number", "name");
    static final List<String> RULE = List.of("host", "http");
    static final List<String> HTTP = List.of("paths");
    static final List<String> PATH = List.of("path", "pathType", "backend");
    static final String PATH_TYPES = "Exact, Prefix or ImplementationSpecific";
    static final String HOST_EXPECTED = "a lowercase DNS name, or *. and one for a wildcard of one label such as "
            + "*.example; no port, no IP address";
    static final String PATH_EXPECTED = "an absolute path starting with /, without //, /./, /../, %2f, ? or #, "
            + "not ending in /. or /..";
    private static final String LISTENER_EXPECTED = "IP:PORT, such as 127.0.0.1:8080 or [::1]:8080, or off";

    /** A backend as bound, with where it is written, for {@link #checkBackends}. */
    private record PlacedBackend(String namespace, IngressSpec.Backend backend, Node nameNode, String namePath,
                                 Node portNode, String portPath) {
    }

    /** Resolves a file path written in the config against the config's folder; {@code null} after a problem. */
    private final BiFunction<Node, String, Path> paths;
    final List<IngressSpec> ingresses = new ArrayList<>();
    private final List<PlacedBackend> backends = new ArrayList<>();

    /**
     * Whether the certificate files are read and checked ({@link ConfigLoader#loadAsWritten}: not; its TLS entries
     * are left out).
     */
    private final boolean runtimeFiles;

    IngressBinder(Problems p, BiFunction<Node, String, Path> paths) {
        this(p, paths, true);
    }

    IngressBinder(Problems p, BiFunction<Node, String, Path> paths, boolean runtimeFiles) {
        super(p);
        this.paths = paths;
        this.runtimeFiles = runtimeFiles;
    }

    // ------------------------------------------------------------------------------------------- proxy.ingress

    IngressSettings bindSettings(Node node, String path) {
        IngressSettings d = IngressSettings.defaults();
        MappingNode map = Values.map(node, path, "a map of " + String.join(", ", SETTINGS), p);
        if (map == null) {
            return d;
        }
        Fields f = new Fields(map, path, p, SETTINGS);
        InetSocketAddress http = f.has("http") ? listener(f.value("http"), f.child("http")) : null;
        InetSocketAddress https = f.has("https") ? listener(f.value("https"), f.child("https")) : null;
        if (http != null && https != null && http.equals(https) && http.getPort() != 0) { // port 0: two free ports
            Values.wrong(p, f.value("https"), f.child("https"), "an address other than http's");
            https = null;
        }
        String className = d.className();
        if (f.has("className")) {
            String v = name(f.value("className"), f.child("className"), Names::isDns1123Subdomain,
                    Names.DNS1123_SUBDOMAIN_EXPECTED);
            className = v == null ? className : v;
        }
        Duration responseTimeout = orDefault(f, "responseTimeout", Duration.ofMillis(1), MAX_TIMEOUT, "1ms..8760h",
                d.responseTimeout());
        int httpsRedirectPort = integerOr(f, "httpsRedirectPort", 1, 65535, d.httpsRedirectPort());
        String publishService = d.publishService();
        if (f.has("publishService")) {
            String v = name(f.value("publishService"), f.child("publishService"), IngressBinder::isNamespacedName,
                    PUBLISH_SERVICE_EXPECTED);
            publishService = v == null ? publishService : v;
        }
        return new IngressSettings(http, https, className, responseTimeout, httpsRedirectPort, publishService);
    }

    private static boolean isNamespacedName(String v) {
        int slash = v.indexOf('/');
        return slash > 0 && Names.isDns1123Label(v.substring(0, slash)) && Names.isDns1035Label(v.substring(slash + 1));
    }

    /** Returns a listener address; {@code off} or {@code false} are {@code null} (no listener). */
    private InetSocketAddress listener(Node node, String path) {
        if (!(node instanceof ScalarNode s)) {
            Values.wrong(p, node, path, LISTENER_EXPECTED);
            return null;
        }
        String v = s.getValue();
        String lower = v.toLowerCase(Locale.ROOT);
        if (node.getTag().equals(Tag.BOOL) || lower.equals("off")) {
            if (lower.equals("off") || lower.equals("false") || lower.equals("no") || lower.equals("n")) {
                return null;
            }
            Values.wrong(p, node, path, LISTENER_EXPECTED);
            return null;
        }
        try {
            return Addresses.parseSocketAddress(v);
        } catch (IllegalArgumentException e) {
            Values.wrong(p, node, path, LISTENER_EXPECTED);
            return null;
        }
    }

    // --------------------------------------------------------------------------------------------- ingresses

    void bindIngresses(Node node) {
        SequenceNode list = Values.list(node, "ingresses", "a list of Ingresses", p);
        if (list == null) {
            return;
        }
        Map<String, Node> names = new HashMap<>();
        Map<String, Node> routes = new HashMap<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String path = "ingresses[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), path, "an Ingress: a map of "
                    + String.join(", ", INGRESS), p);
            if (map != null) {
                bindIngress(map, path, names, routes);
            }
        }
    }

    private void bindIngress(MappingNode map, String path, Map<String, Node> names, Map<String, Node> routes) {
        Fields f = new Fields(map, path, p, INGRESS);
        String name = null;
        if (f.has("name")) {
            name = name(f.value("name"), f.child("name"), Names::isDns1123Subdomain, Names.DNS1123_SUBDOMAIN_EXPECTED);
        } else {
            Values.missing(p, f, "name", Names.DNS1123_SUBDOMAIN_EXPECTED);
        }
        String namespace = "default";
        if (f.has("namespace")) {
            namespace = name(f.value("namespace"), f.child("namespace"), Names::isDns1123Label,
                    Names.DNS1123_LABEL_EXPECTED);
        }
        if (name != null && namespace != null) {
            Node first = names.putIfAbsent(namespace + "/" + name, f.value("name"));
            if (first != null) {
                Values.wrong(p, f.value("name"), f.child("name"), "an Ingress name unique in namespace " + namespace
                        + "; also at " + Problems.line(first));
            }
        }
        String ns = namespace == null ? "default" : namespace;
        List<IngressSpec.Tls> tls = f.has("tls") ? tlsList(f.value("tls"), f.child("tls")) : List.of();
        IngressSpec.Backend defaultBackend = f.has("defaultBackend")
                ? backend(f.value("defaultBackend"), f.child("defaultBackend"), ns)
                : null;
        List<IngressSpec.Rule> rules = f.has("rules") ? rules(f.value("rules"), f.child("rules"), ns, routes)
                : List.of();
        if (!f.has("rules") && !f.has("defaultBackend")) {
            Values.missing(p, f, "rules", "rules, or a defaultBackend, or both");
        }
        boolean sslRedirect = true;
        boolean forceSslRedirect = false;
        if (f.has("annotations")) {
            MappingNode annotations = Values.map(f.value("annotations"), f.child("annotations"),
                    "a map of annotation to value: " + String.join(", ", ANNOTATIONS), p);
            if (annotations != null) {
                Fields a = new Fields(annotations, f.child("annotations"), p, ANNOTATIONS);
                sslRedirect = annotation(a, f.child("annotations"), IngressSpec.SSL_REDIRECT, true);
                forceSslRedirect = annotation(a, f.child("annotations"), IngressSpec.FORCE_SSL_REDIRECT, false);
            }
        }
        if (name != null && namespace != null) {
            ingresses.add(new IngressSpec(namespace, name, defaultBackend, rules, tls, sslRedirect, forceSslRedirect)
                    .withCoveredRuleHosts());
        }
    }

    /** A boolean annotation: a YAML boolean, or a string as Kubernetes annotations are ({@code "false"}). */
    private boolean annotation(Fields f, String path, String key, boolean absent) {
        if (!f.has(key)) {
            return absent;
        }
        Node node = f.value(key);
        String at = path + "[" + key + "]"; // the key's dots are no path segments
        if (node instanceof ScalarNode s && !node.getTag().equals(Tag.BOOL)) {
            Boolean b = IngressSpec.annotationBoolean(s.getValue());
            if (b == null) {
                Values.wrong(p, node, at, "\"true\" or \"false\"");
            }
            return b == null ? absent : b;
        }
        Boolean b = Values.bool(node, at, p); // a YAML boolean, or reported
        return b == null ? absent : b;
    }

    private List<IngressSpec.Tls> tlsList(Node node, String path) {
        SequenceNode list = Values.list(node, path, "a list of TLS entries: maps of hosts, certFile, keyFile", p);
        if (list == null) {
            return List.of();
        }
        List<IngressSpec.Tls> out = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath, "a TLS entry: a map of hosts, certFile, "
                    + "keyFile", p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, TLS);
            if (f.has("secretName")) {
                Values.wrong(p, f.value("secretName"), f.child("secretName"),
                        "certFile and keyFile in the config file; secretName is for Ingresses of the Kubernetes API");
            }
            List<String> hosts = new ArrayList<>();
            if (f.has("hosts")) {
                SequenceNode hostList = Values.list(f.value("hosts"), f.child("hosts"), "a list of host names", p);
                if (hostList != null) {
                    for (int j = 0; j < hostList.getValue().size(); j++) {
                        String h = host(hostList.getValue().get(j), f.child("hosts") + "[" + j + "]");
                        if (h != null) {
                            hosts.add(h);
                        }
                    }
                }
            }
            Path certFile = null;
            String certPem = null;
            if (f.has("certFile")) {
                certFile = paths.apply(f.value("certFile"), f.child("certFile"));
                certPem = certFile == null || !runtimeFiles ? null : readPem(certFile, f.value("certFile"), f.child("certFile"));
            } else {
                Values.missing(p, f, "certFile", "a PEM file of the certificate chain, relative to this file");
            }
            Path keyFile = null;
            String keyPem = null;
            if (f.has("keyFile")) {
                keyFile = paths.apply(f.value("keyFile"), f.child("keyFile"));
                keyPem = keyFile == null || !runtimeFiles ? null : readPem(keyFile, f.value("keyFile"), f.child("keyFile"));
                keyPem = keyPem == null ? null : TlsPem.normalizeKey(keyPem);
            } else {
                Values.missing(p, f, "keyFile", "a PEM file of the private key, relative to this file");
            }
            if (certPem != null) {
                String problem = TlsPem.certificateProblem(certPem);
                if (problem != null) {
                    Values.wrong(p, f.value("certFile"), f.child("certFile"), problem);
                    certPem = null;
                }
            }
            if (keyPem != null) {
                String problem = TlsPem.keyProblem(keyPem, certPem == null ? "" : certPem);
                if (problem != null) {
                    Values.wrong(p, f.value("keyFile"), f.child("keyFile"), problem);
                    keyPem = null;
                }
            }
            if (certPem != null && keyPem != null) {
                out.add(new IngressSpec.Tls(hosts, certFile, keyFile, null, certPem, keyPem));
            }
        }
        return out;
    }

    private String readPem(Path file, Node node, String path) {
        try {
            return ConfigLoader.read(file);
        } catch (IOException e) {
            String reason = e instanceof NoSuchFileException ? "no such file" : e.getMessage() == null
                    ? e.getClass().getSimpleName() : e.getMessage();
            p.at(node, path, Values.label(path) + ": " + Values.describe(node) + " (cannot read " + file + ": "
                    + reason + ")");
            return null;
        }
    }

    private List<IngressSpec.Rule> rules(Node node, String path, String namespace, Map<String, Node> routes) {
        SequenceNode list = Values.list(node, path, "a list of rules: maps of host, http", p);
        if (list == null) {
            return List.of();
        }
        List<IngressSpec.Rule> out = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath, "a rule: a map of host, http", p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, RULE);
            String host = f.has("host") ? host(f.value("host"), f.child("host")) : null;
            boolean hostValid = !f.has("host") || host != null;
            if (!f.has("http")) {
                Values.missing(p, f, "http", "a map of paths");
                continue;
            }
            MappingNode http = Values.map(f.value("http"), f.child("http"), "a map of paths", p);
            if (http == null) {
                continue;
            }
            Fields h = new Fields(http, f.child("http"), p, HTTP);
            if (!h.has("paths")) {
                Values.missing(p, h, "paths", "a list of paths: maps of path, pathType, backend");
                continue;
            }
            // a rule whose host is invalid is not served: its routes are not kept, so that they clash with nothing
            List<IngressSpec.HttpPath> httpPaths = httpPaths(h.value("paths"), h.child("paths"), namespace,
                    host == null ? "" : host, hostValid ? routes : new HashMap<>());
            if (hostValid) {
                out.add(new IngressSpec.Rule(host, httpPaths));
            }
        }
        return out;
    }

    private List<IngressSpec.HttpPath> httpPaths(Node node, String path, String namespace, String host,
                                                 Map<String, Node> routes) {
        String expected = "a list of paths: maps of path, pathType, backend";
        SequenceNode list = Values.list(node, path, expected, p);
        if (list == null) {
            return List.of();
        }
        if (list.getValue().isEmpty()) {
            Values.wrong(p, node, path, "at least one path: " + expected);
        }
        List<IngressSpec.HttpPath> out = new ArrayList<>();
        for (int i = 0; i < list.getValue().size(); i++) {
            String itemPath = path + "[" + i + "]";
            MappingNode map = Values.map(list.getValue().get(i), itemPath, "a path: a map of path, pathType, backend",
                    p);
            if (map == null) {
                continue;
            }
            Fields f = new Fields(map, itemPath, p, PATH);
            String pathType = null;
            if (f.has("pathType")) {
                String v = Values.text(f.value("pathType"), f.child("pathType"), PATH_TYPES, p);
                if (v != null && !v.equals("Exact") && !v.equals("Prefix") && !v.equals("ImplementationSpecific")) {
                    Values.wrong(p, f.value("pathType"), f.child("pathType"), PATH_TYPES);
                } else {
                    pathType = v;
                }
            } else {
                Values.missing(p, f, "pathType", PATH_TYPES);
            }
            String httpPath = null;
            if (f.has("path")) {
                httpPath = Values.text(f.value("path"), f.child("path"), PATH_EXPECTED, p);
                if (httpPath != null && !validPath(httpPath, pathType)) {
                    Values.wrong(p, f.value("path"), f.child("path"), PATH_EXPECTED);
                    httpPath = null;
                }
            } else if ("ImplementationSpecific".equals(pathType)) {
                httpPath = "/"; // the API allows no path for ImplementationSpecific: every path
            } else {
                Values.missing(p, f, "path", PATH_EXPECTED);
            }
            IngressSpec.Backend backend = null;
            if (f.has("backend")) {
                backend = backend(f.value("backend"), f.child("backend"), namespace);
            } else {
                Values.missing(p, f, "backend", "a map of service");
            }
            if (httpPath != null && pathType != null) {
                boolean exact = pathType.equals("Exact");
                String key = host + (exact ? " = " + httpPath : " ^ " + stripTrailingSlashes(httpPath));
                Node at = f.has("path") ? f.value("path") : f.value("pathType");
                Node first = routes.putIfAbsent(key, at);
                if (first != null) {
                    Values.wrong(p, at, f.has("path") ? f.child("path") : f.child("pathType"),
                            "a host, path and pathType given once in all Ingresses; also at " + Problems.line(first));
                    continue;
                }
            }
            if (httpPath != null && pathType != null && backend != null) {
                out.add(new IngressSpec.HttpPath(httpPath, pathType, backend));
            }
        }
        return out;
    }

    private static boolean validPath(String path, String pathType) {
        if (!path.startsWith("/") || path.indexOf('?') >= 0 || path.indexOf('#') >= 0) {
            return false;
        }
        if ("ImplementationSpecific".equals(pathType)) {
            return true;
        }
        // As the API server checks Exact and Prefix paths (validateIngressHTTPPath): no path that normalizes away.
        for (String bad : List.of("//", "/./", "/../", "%2f", "%2F")) {
            if (path.contains(bad)) {
                return false;
            }
        }
        return !path.endsWith("/..") && !path.endsWith("/.");
    }

    private static String stripTrailingSlashes(String path) {
        int end = path.length();
        while (end > 1 && path.charAt(end - 1) == '/') {
            end--;
        }
        return path.substring(0, end);
    }

    private String host(Node node, String path) {
        String v = Values.text(node, path, HOST_EXPECTED, p);
        if (v == null) {
            return null;
        }
        if (!isHost(v)) {
            Values.wrong(p, node, path, HOST_EXPECTED);
            return null;
        }
        return v;
    }

    /** A rule or TLS host: a DNS-1123 subdomain that is no IPv4 address, or {@code *.} and one. */
    static boolean isHost(String host) {
        return IngressSpec.isValidHost(host);
    }

    /** Binds {@code {service: {name, port: {number | name}}}}. */
    private IngressSpec.Backend backend(Node node, String path, String namespace) {
        MappingNode map = Values.map(node, path, "a backend: a map of service", p);
        if (map == null) {
            return null;
        }
        Fields f = new Fields(map, path, p, BACKEND);
        if (f.has("resource")) {
            Values.wrong(p, f.value("resource"), f.child("resource"),
                    "a service backend; resource backends are not supported");
            return null;
        }
        if (!f.has("service")) {
            Values.missing(p, f, "service", "a map of name, port");
            return null;
        }
        MappingNode service = Values.map(f.value("service"), f.child("service"), "a map of name, port", p);
        if (service == null) {
            return null;
        }
        Fields s = new Fields(service, f.child("service"), p, SERVICE);
        String name = null;
        if (s.has("name")) {
            name = name(s.value("name"), s.child("name"), Names::isDns1035Label, Names.DNS1035_LABEL_EXPECTED);
        } else {
            Values.missing(p, s, "name", "a Service name");
        }
        if (!s.has("port")) {
            Values.missing(p, s, "port", "a map of number or name");
            return null;
        }
        MappingNode port = Values.map(s.value("port"), s.child("port"), "a map of number or name", p);
        if (port == null) {
            return null;
        }
        Fields pf = new Fields(port, s.child("port"), p, PORT);
        int number = 0;
        String portName = null;
        Node portNode;
        String portPath;
        if (pf.has("number") && pf.has("name")) {
            Values.wrong(p, pf.value("name"), pf.child("name"), "one of number or name, not both");
            return null;
        } else if (pf.has("number")) {
            portNode = pf.value("number");
            portPath = pf.child("number");
            Integer n = Values.integer(portNode, portPath, 1, 65535, p);
            if (n == null) {
                return null;
            }
            number = n;
        } else if (pf.has("name")) {
            portNode = pf.value("name");
            portPath = pf.child("name");
            portName = name(portNode, portPath, Names::isIanaSvcName, Names.IANA_SVC_NAME_EXPECTED);
            if (portName == null) {
                return null;
            }
        } else {
            Values.missing(p, pf, "number", "a port number, or a port name in name");
            return null;
        }
        if (name == null) {
            return null;
        }
        IngressSpec.Backend backend = new IngressSpec.Backend(name, number, portName);
        backends.add(new PlacedBackend(namespace, backend, s.value("name"), s.child("name"), portNode, portPath));
        return backend;
    }

    /**
     * Checks that each backend names a TCP port of a Service of the file. With {@code registry.kubernetes} a
     * Service the file does not define may come from the API (and answers 503 until it does), so only the ports of
     * the file's own Services are checked.
     */
    void checkBackends(List<ServiceSpec> services, boolean kubernetes) {
        Map<String, ServiceSpec> byName = new HashMap<>();
        for (ServiceSpec s : services) {
            if (s.name() != null && s.namespace() != null) {
                byName.putIfAbsent(s.qualifiedName(), s);
            }
        }
        for (PlacedBackend b : backends) {
            ServiceSpec service = byName.get(b.namespace() + "/" + b.backend().service());
            if (service == null) {
                if (!kubernetes) {
                    Values.wrong(p, b.nameNode(), b.namePath(), "a Service of namespace " + b.namespace()
                            + " defined in this file (without registry.kubernetes)");
                }
                continue;
            }
            List<PortSpec> tcp = service.ports().stream().filter(port -> port.protocol() == Protocol.TCP).toList();
            boolean found = tcp.stream().anyMatch(port -> b.backend().portName() != null
                    ? b.backend().portName().equals(port.name())
                    : b.backend().portNumber() == port.port());
            if (!found) {
                String known = String.join(", ", tcp.stream()
                        .map(port -> b.backend().portName() != null ? port.name() : Integer.toString(port.port()))
                        .filter(x -> !x.isEmpty()).toList());
                Values.wrong(p, b.portNode(), b.portPath(), (b.backend().portName() != null ? "a port name" : "a port")
                        + " of Service " + service.qualifiedName() + " (TCP): "
                        + (known.isEmpty() ? "it has none" : known));
            }
        }
    }
}
