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
 */
public record Route<B>(String ingress, String host, String path, PathType pathType, B backend) {
    static final String ANY_HOST = "*";

    /** True if this is an Ingress's {@code defaultBackend}, not a rule. */
    public boolean isDefaultBackend() {
        return pathType == null;
    }
}
