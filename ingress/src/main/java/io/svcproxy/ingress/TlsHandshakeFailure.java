package io.svcproxy.ingress;

/**
 * Why a client connection to the HTTPS listener ended without a TLS session: the {@code reason} label of
 * {@code svcproxy_ingress_tls_handshake_failures_total}, as HAProxy counts failed handshakes per frontend
 * ({@code ssl_failed_handshake}). Each failed handshake is one reason, decided from the failure's cause.
 */
public enum TlsHandshakeFailure {
    /**
     * The client sent a fatal alert during the handshake: it refused the certificate (unknown_ca, bad_certificate,
     * certificate_unknown: a certificate rotated to one the clients do not trust), or the session for another reason.
     */
    CLIENT_ALERT("client_alert"),
    /**
     * The listener refused the client's hello: no protocol version or cipher in common (a TLS version disabled), a
     * malformed or oversized ClientHello, a record that is not TLS.
     */
    PROTOCOL("protocol"),
    /** No Ingress has a {@code tls} entry: no certificate to serve. */
    NO_CERTIFICATE("no_certificate"),
    /** The handshake did not end within its timeout (10 s), ClientHello included. */
    TIMEOUT("timeout"),
    /**
     * The connection closed or was reset before the handshake ended: port scanners, TCP health checks (kept apart so
     * they do not hide the failures above).
     */
    CLOSED("closed"),
    /** Plain HTTP sent to the TLS port, answered 400 as nginx answers it. */
    PLAIN_HTTP("plain_http");

    private final String label;

    TlsHandshakeFailure(String label) {
        this.label = label;
    }

    /** The metric's label value. */
    public String label() {
        return label;
    }
}
