package io.svcproxy.ingress;

import io.svcproxy.ingress.routing.Route;

/**
 * Receives one call per request the Ingress answered, and one per failed TLS handshake of its HTTPS listener, for
 * the metrics and the admin API. proxy-server implements it over Micrometer ({@code svcproxy_http_requests_total},
 * {@code svcproxy_http_request_duration_seconds}, {@code svcproxy_ingress_tls_handshake_failures_total}) and the
 * per-rule hit counters of {@code /api/v1/ingresses}. The default methods do nothing.
 *
 * <p>Called on the event loop of the client connection, so an implementation must not block: count and return.
 */
public interface IngressMetrics {
    /** Counts nothing. */
    IngressMetrics NONE = new IngressMetrics() {
    };

    /**
     * A request has been answered: its response ended, or the proxy answered it itself (404, 502, 503, 504).
     *
     * @param route         the rule or default backend it matched, or {@code null} when nothing matched (404)
     * @param status        the status code sent to the client
     * @param durationNanos from the request's headers read until the response's end was written
     */
    default void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
    }

    /**
     * The recorder of the requests of one route (or of the 404s when {@code route} is {@code null}), equivalent to
     * {@link #requestCompleted} with that route. The Ingress asks once per route and event loop and keeps it for as
     * long as the routing table stands, so an implementation can resolve its counters here, once, instead of per
     * request. Any thread.
     */
    default RouteMetrics forRoute(Route<ServiceBackend> route) {
        return (status, durationNanos) -> requestCompleted(route, status, durationNanos);
    }

    /**
     * A client connection to the HTTPS listener ended without a TLS session, for {@code reason}: called once per
     * connection, on its event loop.
     */
    default void tlsHandshakeFailed(TlsHandshakeFailure reason) {
    }

    /** Counts the answered requests of one route; called on event loops, must not block. */
    @FunctionalInterface
    interface RouteMetrics {
        /** A request of the route has been answered with {@code status}, {@code durationNanos} after its headers. */
        void requestCompleted(int status, long durationNanos);
    }
}
