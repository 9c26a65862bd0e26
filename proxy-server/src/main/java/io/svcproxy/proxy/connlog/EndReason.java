package io.svcproxy.proxy.connlog;

import java.util.Locale;

/** Why a connection or UDP flow ended: the {@code end} field of the connection log. */
public enum EndReason {
    /** Both sides closed cleanly (a FIN each way), or a UDP flow got every answer it waited for. */
    FIN,
    /** A side reset the connection (an I/O error), or the endpoint refused a UDP datagram (ICMP unreachable). */
    RST,
    /** No byte moved either way for {@code idleTimeout} ({@code udpIdleTimeout} for a flow). */
    IDLE,
    /** Closed by svcproxy: its endpoint was removed and {@code drainTimeout} passed, or the proxy shut down. */
    DRAIN,
    /** Anything else: every connect attempt failed, or an unexpected error. */
    ERROR;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** Returns the name as logged: fin, rst, idle, drain or error. */
    public String label() {
        return label;
    }
}
