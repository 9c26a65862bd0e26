package io.svcproxy.ingress.routing;

/**
 * Whether a plain-HTTP request an Ingress routes is sent to HTTPS instead (a {@code 308}), as ingress-nginx's
 * {@code ssl-redirect} and {@code force-ssl-redirect} annotations decide. Paths under {@link #ACME_CHALLENGE} never
 * are, as ingress-nginx's {@code no-tls-redirect-locations} default: an ACME HTTP-01 challenge must be answered over
 * HTTP.
 */
public enum HttpsRedirect {
    /** When the request's host has a certificate (ingress-nginx's default, {@code ssl-redirect: "true"}). */
    WITH_TLS,
    /** Never ({@code ssl-redirect: "false"}). */
    NEVER,
    /** Always, a certificate or not ({@code force-ssl-redirect: "true"}). */
    ALWAYS;

    /** The rule paths under which nothing is redirected. */
    public static final String ACME_CHALLENGE = "/.well-known/acme-challenge";
}
