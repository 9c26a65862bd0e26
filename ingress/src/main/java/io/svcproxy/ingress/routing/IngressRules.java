package io.svcproxy.ingress.routing;

import java.util.List;
import java.util.Objects;

/**
 * The routing part of one Ingress: its rules, its optional default backend, whether its plain-HTTP requests go to
 * HTTPS, and the hosts it has a certificate for.
 *
 * @param ingress        {@code namespace/name}, the {@code ingress} label of the metrics
 * @param defaultBackend the backend of requests no rule matches, or {@code null}
 * @param rules          in the Ingress's order
 * @param redirect       its routes' {@link HttpsRedirect}
 * @param tlsHosts       the hosts of its {@code tls} entries that have a certificate (exact, or one-label wildcards
 *                       {@code *.example}): a request to one is redirected under {@link HttpsRedirect#WITH_TLS},
 *                       whichever Ingress routes it, as ingress-nginx decides by the host's certificate
 * @param <B>            what a backend is to the caller (a Service port reference)
 */
public record IngressRules<B>(String ingress, B defaultBackend, List<Rule<B>> rules, HttpsRedirect redirect,
                              List<String> tlsHosts) {
    public IngressRules {
        Objects.requireNonNull(ingress, "ingress");
        Objects.requireNonNull(redirect, "redirect");
        rules = List.copyOf(rules);
        tlsHosts = List.copyOf(tlsHosts);
    }

    /** An Ingress without TLS hosts, with the default redirect. */
    public IngressRules(String ingress, B defaultBackend, List<Rule<B>> rules) {
        this(ingress, defaultBackend, rules, HttpsRedirect.WITH_TLS, List.of());
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
