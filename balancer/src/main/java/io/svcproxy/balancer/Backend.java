package io.svcproxy.balancer;

import java.net.InetAddress;

/**
 * An endpoint as a {@link Scheduler} sees it: its address, its weights and its live connection counters.
 * The counters are owned by the data plane and read by the schedulers, so what the stats show is what the
 * scheduler saw.
 */
public interface Backend {
    /** Returns the endpoint's IP address. */
    InetAddress address();

    /** Returns the endpoint's port. */
    int port();

    /** Returns the current weight, 0..65535; 0 means no new connections (quiesced or draining). */
    int weight();

    /**
     * Returns the latest non-zero weight this endpoint had (IPVS {@code last_weight}), or 0 if it never had
     * one. Maglev ({@code mh}) builds its table from it, so quiescing an endpoint keeps other clients' slots.
     */
    int lastWeight();

    /** Returns the number of connections open in both directions (IPVS {@code activeconns}). */
    int activeConnections();

    /** Returns the number of connections being set up or half-closed (IPVS {@code inactconns}). */
    int inactiveConnections();
}
