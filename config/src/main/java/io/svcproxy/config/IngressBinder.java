package io.svcproxy.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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
 * {@code registry.kubernetes} may define it. An Ingress's own fields and the host check are here; {@code proxy.ingress}
 * is bound by {@link IngressSettingsBinder}, TLS entries by {@link IngressTlsBinder}, rules and paths by
 * {@link IngressRuleBinder} and backends by {@link IngressBackendBinder}.
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

    final List<IngressSpec> ingresses = new ArrayList<>();
    private final IngressSettingsBinder settingsBinder;
    private final IngressTlsBinder tlsBinder;
    private final IngressBackendBinder backendBinder;
    private final IngressRuleBinder ruleBinder;

    IngressBinder(Problems p, BiFunction<Node, String, Path> paths) {
        this(p, paths, true);
    }

    /**
     * {@code paths} resolves a file path written in the config against the config's folder ({@code null} after a
     * problem); {@code runtimeFiles}: whether the certificate files are read and checked
     * ({@link ConfigLoader#loadAsWritten}: not; its TLS entries are left out).
     */
    IngressBinder(Problems p, BiFunction<Node, String, Path> paths, boolean runtimeFiles) {
        super(p);
        this.settingsBinder = new IngressSettingsBinder(p);
        this.tlsBinder = new IngressTlsBinder(p, paths, runtimeFiles);
        this.backendBinder = new IngressBackendBinder(p);
        this.ruleBinder = new IngressRuleBinder(p, backendBinder);
    }

    // ------------------------------------------------------------------------------------------- proxy.ingress

    /** Binds {@code proxy.ingress} ({@link IngressSettingsBinder}). */
    IngressSettings bindSettings(Node node, String path) {
        return settingsBinder.bindSettings(node, path);
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
        List<IngressSpec.Tls> tls = f.has("tls") ? tlsBinder.tlsList(f.value("tls"), f.child("tls")) : List.of();
        IngressSpec.Backend defaultBackend = f.has("defaultBackend")
                ? backendBinder.backend(f.value("defaultBackend"), f.child("defaultBackend"), ns)
                : null;
        List<IngressSpec.Rule> rules = f.has("rules") ? ruleBinder.rules(f.value("rules"), f.child("rules"), ns, routes)
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

    /** Returns a rule or TLS host, or {@code null} after reporting one that is not valid. */
    static String host(Node node, String path, Problems p) {
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

    /**
     * Checks that each backend names a TCP port of a Service of the file, unless {@code registry.kubernetes} may
     * define it ({@link IngressBackendBinder#checkBackends}).
     */
    void checkBackends(List<ServiceSpec> services, boolean kubernetes) {
        backendBinder.checkBackends(services, kubernetes);
    }
}
