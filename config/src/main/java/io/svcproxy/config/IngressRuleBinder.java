package io.svcproxy.config;

import static io.svcproxy.config.IngressBinder.HTTP;
import static io.svcproxy.config.IngressBinder.PATH;
import static io.svcproxy.config.IngressBinder.PATH_EXPECTED;
import static io.svcproxy.config.IngressBinder.PATH_TYPES;
import static io.svcproxy.config.IngressBinder.RULE;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Binds an Ingress's {@code rules:}: each rule's host and its http paths (path, pathType, backend), and refuses two
 * paths of one host, in all Ingresses, that match the same requests. Backends are bound by
 * {@link IngressBackendBinder}.
 */
final class IngressRuleBinder extends BinderSupport {
    private final IngressBackendBinder backendBinder;

    /** Prefix and ImplementationSpecific match alike, and a Prefix's trailing slashes change nothing (/a/ as /a). */
    static final String MATCHED_ONCE = "a host and path that one rule in all Ingresses matches (Prefix and "
            + "ImplementationSpecific match alike, and a Prefix path's trailing / changes nothing)";

    IngressRuleBinder(Problems p, IngressBackendBinder backendBinder) {
        super(p);
        this.backendBinder = backendBinder;
    }

    List<IngressSpec.Rule> rules(Node node, String path, String namespace, Map<String, Node> routes) {
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
            String host = f.has("host") ? IngressBinder.host(f.value("host"), f.child("host"), p) : null;
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
                backend = backendBinder.backend(f.value("backend"), f.child("backend"), namespace);
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
                            MATCHED_ONCE + "; also at " + Problems.line(first));
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
}
