package io.svcproxy.ingress.routing;

import java.util.List;
import java.util.Objects;

/**
 * The routing part of one Ingress: its rules and its optional default backend.
 *
 * @param ingress        {@code namespace/name}, the {@code ingress} label of the metrics
 * @param defaultBackend the backend of requests no rule matches, or {@code null}
 * @param rules          in the Ingress's order
 * @param <B>            what a backend is to the caller (a Service port reference)
 */
public record IngressRules<B>(String ingress, B defaultBackend, List<Rule<B>> rules) {
    public IngressRules {
        Objects.requireNonNull(ingress, "ingress");
        rules = List.copyOf(rules);
    }

    /**
     * One rule: a host (exact, a one-label wildcard {@code *.example}, or {@code null} for every host) and its paths.
     */
    public record Rule<B>(String host, List<PathRule<B>> paths) {
        public Rule {
            if (host != null) {
                Hosts.checkRuleHost(host);
            }
            paths = List.copyOf(paths);
        }
    }

    /** One path of a rule. {@code path} starts with {@code /}. */
    public record PathRule<B>(String path, PathType pathType, B backend) {
        public PathRule {
            Objects.requireNonNull(pathType, "pathType");
            Objects.requireNonNull(backend, "backend");
            if (path == null || !path.startsWith("/")) {
                throw new IllegalArgumentException("path: " + path + " (expected: an absolute path starting with /)");
            }
        }
    }
}
