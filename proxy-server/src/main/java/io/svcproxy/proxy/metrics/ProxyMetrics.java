package io.svcproxy.proxy.metrics;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.proxy.dataplane.ServicePort;

/**
 * The events the proxy reports. Every method is a no-op by default, so core code never depends on a metrics
 * library; {@link MicrometerProxyMetrics} implements it. Counters that the data plane already keeps (active,
 * inactive and total connections per endpoint, bytes and refusals per Service port) are read from the live
 * objects rather than pushed here.
 */
public interface ProxyMetrics {
    /** A metrics sink that records nothing. */
    ProxyMetrics NOOP = new ProxyMetrics() { };

    /** A Service port was bound; its live counters may be registered. Control-plane thread. */
    default void servicePortAdded(ServicePort port) {
    }

    /** A Service port's endpoint list or spec changed. Control-plane thread. */
    default void servicePortChanged(ServicePort port) {
    }

    /**
     * A Service port left the table while its connections drain: its meters stay, its endpoints shown draining,
     * until {@link #servicePortRemoved}. Control-plane thread.
     */
    default void servicePortDraining(ServicePort port) {
    }

    /** A Service port was unbound; its meters should be removed. Control-plane thread. */
    default void servicePortRemoved(ServicePort port) {
    }

    /**
     * A connect to {@code backend} failed; {@code reason} is refused, timeout, reset, unreachable, error, or local
     * (svcproxy's own host had no port, buffer or descriptor for it: not the endpoint's failure).
     */
    default void connectFailed(ServicePort port, BackendState backend, String reason) {
    }

    /** A connect to {@code backend} succeeded after {@code nanos}. Event-loop thread. */
    default void connected(ServicePort port, BackendState backend, long nanos) {
    }

    /**
     * The Ingress answered an HTTP request. Event-loop thread.
     *
     * @param ingress {@code namespace/name} of the Ingress whose rule matched, {@code ""} for a 404
     * @param host    the matched rule's host, {@code *} for a rule without host, {@code ""} for the default backend
     *                and for 404s
     * @param path    the matched rule's path, {@code ""} for the default backend and for 404s
     * @param service {@code namespace/name} of the backend Service, {@code ""} for 404s
     * @param code    the status code sent
     * @param nanos   from the request's headers until the response's end
     */
    default void httpRequest(String ingress, String host, String path, String service, int code, long nanos) {
    }

    /**
     * The meters of one Ingress rule, resolved once: {@link HttpRequestMeter#record} is {@link #httpRequest} with
     * these labels. Any thread.
     */
    default HttpRequestMeter httpRequestMeter(String ingress, String host, String path, String service) {
        return (code, nanos) -> httpRequest(ingress, host, path, service, code, nanos);
    }

    /**
     * Removes the HTTP request series of every Ingress but those of {@code present} ({@code namespace/name}) and
     * the 404s', as ingress-nginx drops the series of removed Ingresses. Control-plane thread.
     */
    default void ingressesRemoved(java.util.Set<String> present) {
    }

    /**
     * A client connection to the HTTPS Ingress listener ended without a TLS session. Event-loop thread, must not
     * block.
     *
     * @param reason {@code client_alert}, {@code protocol}, {@code no_certificate}, {@code timeout}, {@code closed}
     *               or {@code plain_http} ({@link io.svcproxy.ingress.TlsHandshakeFailure})
     */
    default void ingressTlsHandshakeFailed(String reason) {
    }

    /** {@link #httpRequest} for one rule's labels. Event-loop thread, must not block. */
    @FunctionalInterface
    interface HttpRequestMeter {
        void record(int code, long nanos);
    }

    /** An entry of the connection log was dropped (its queue was full): any thread, must not block. */
    default void connectionLogDropped() {
    }

    /** A config change was applied or rejected. */
    default void reload(boolean applied) {
    }

    /** The end of validity of a certificate the HTTPS Ingress listener serves, by its Ingress and source. */
    record CertificateExpiry(String ingress, String certificate, java.time.Instant notAfter) {
    }

    /** The certificates the HTTPS Ingress listener serves now (each update replaces the whole set). */
    default void ingressCertificates(java.util.List<CertificateExpiry> served) {
    }
}
