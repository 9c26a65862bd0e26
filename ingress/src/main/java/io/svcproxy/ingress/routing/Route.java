package io.svcproxy.ingress.routing;

/**
 * What a request matched: the rule's identity (the labels of the metrics) and its backend.
 *
 * @param ingress  {@code namespace/name} of the Ingress the rule or default backend came from
 * @param host     the matched rule's host as written, {@code *} for a rule without host, {@code ""} for the default
 *                 backend
 * @param path     the matched rule's path as written, {@code ""} for the default backend
 * @param pathType the matched rule's type, {@code null} for the default backend
 * @param backend  where the request goes
 * @param redirect whether a plain-HTTP request is sent to HTTPS ({@link RoutingTable#redirectsToHttps})
 */
public record Route<B>(String ingress, String host, String path, PathType pathType, B backend,
                       HttpsRedirect redirect) {
    static final String ANY_HOST = "*";

    public Route {
        java.util.Objects.requireNonNull(redirect, "redirect");
    }

    /** A route with ingress-nginx's default redirect ({@link HttpsRedirect#WITH_TLS}). */
    public Route(String ingress, String host, String path, PathType pathType, B backend) {
        this(ingress, host, path, pathType, backend, HttpsRedirect.WITH_TLS);
    }

    /** True if this is an Ingress's {@code defaultBackend}, not a rule. */
    public boolean isDefaultBackend() {
        return pathType == null;
    }
}
