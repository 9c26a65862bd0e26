package io.svcproxy.balancer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A live endpoint of one Service port in one snapshot: its address, weights and state, sharing its
 * {@link ConnectionCounters} with the same endpoint in earlier and later snapshots. Immutable but for the
 * counters; a reload builds new instances with {@link #withWeight(int, State)}.
 */
public final class BackendState implements Backend {
    /** The lifecycle state of an endpoint in the list, as {@code /api/v1/services} shows it. */
    public enum State {
        /** Ready: takes new connections while its weight is above 0. */
        READY,
        /** Removed or terminating: weight 0, its connections allowed to finish. */
        DRAINING,
        /**
         * Ejected by passive outlier detection for a back-off interval: published with weight 0 (its last weight
         * kept), as IPVS with the endpoint quiesced; its connections go on.
         */
        EJECTED,
        /** Failing its active health checks: published with weight 0 (its last weight kept), like EJECTED. */
        UNHEALTHY;

        /** Returns the lower-case name used in the admin API and metrics. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final InetAddress address;
    private final int port;
    private final int weight;
    private final int lastWeight;
    private final State state;
    private final ConnectionCounters counters;
    /** {@code ip:port}, formatted once: every connection's log line and drain check reads it. */
    private final String endpoint;
    /** {@code address:port} as a socket address, made once: every connection, flow and request connects to it. */
    private final InetSocketAddress socketAddress;

    private BackendState(InetAddress address, int port, int weight, int lastWeight, State state,
                         ConnectionCounters counters) {
        this.address = Objects.requireNonNull(address, "address");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
        }
        if (weight < 0 || weight > 65535) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: 0..65535)");
        }
        this.port = port;
        this.weight = weight;
        this.lastWeight = lastWeight;
        this.state = Objects.requireNonNull(state, "state");
        this.counters = Objects.requireNonNull(counters, "counters");
        this.endpoint = Backends.format(address, port);
        this.socketAddress = new InetSocketAddress(address, port);
    }

    /** Returns a new ready endpoint with fresh counters. */
    public static BackendState of(InetAddress address, int port, int weight) {
        return new BackendState(address, port, weight, weight, State.READY, new ConnectionCounters());
    }

    /**
     * Returns this endpoint with another weight and state, keeping its counters and, when {@code weight} is 0,
     * its last non-zero weight.
     */
    public BackendState withWeight(int weight, State state) {
        int last = weight > 0 ? weight : lastWeight;
        if (weight == this.weight && last == lastWeight && state == this.state) {
            return this;
        }
        return new BackendState(address, port, weight, last, state, counters);
    }

    /**
     * Returns this endpoint added back to a list it had left, with {@code weight} as both its weight and its last
     * weight, counters kept: the kernel's {@code ip_vs_add_dest} sets {@code last_weight} to the new weight even for
     * a destination taken back from its trash ({@code __ip_vs_update_dest} with {@code add}), so one back with
     * weight 0 has no Maglev slots of its old weight. An edit ({@link #withWeight}) keeps the last weight instead.
     */
    public BackendState added(int weight) {
        if (weight == this.weight && weight == lastWeight) {
            return this;
        }
        return new BackendState(address, port, weight, weight, state, counters);
    }

    /**
     * Returns this endpoint out of service in {@code state} ({@link State#EJECTED} or {@link State#UNHEALTHY}):
     * weight 0, with {@code weight} as its last weight when above 0 (so mh keeps its slots), counters kept.
     */
    public BackendState outOfService(int weight, State state) {
        int last = weight > 0 ? weight : lastWeight;
        if (this.weight == 0 && last == lastWeight && state == this.state) {
            return this;
        }
        return new BackendState(address, port, 0, last, state, counters);
    }

    /** Returns whether the endpoint is in service by its health (not ejected, not failing its checks). */
    public boolean inService() {
        return counters.health().inService();
    }

    @Override
    public InetAddress address() {
        return address;
    }

    @Override
    public int port() {
        return port;
    }

    /** Returns {@code address:port} as a socket address, the same object each time. */
    public InetSocketAddress socketAddress() {
        return socketAddress;
    }

    @Override
    public int weight() {
        return weight;
    }

    @Override
    public int lastWeight() {
        return lastWeight;
    }

    /** Returns whether the endpoint is ready or draining. */
    public State state() {
        return state;
    }

    /** Returns the counters this endpoint shares with its other snapshots. */
    public ConnectionCounters counters() {
        return counters;
    }

    @Override
    public int activeConnections() {
        return counters.active();
    }

    @Override
    public int inactiveConnections() {
        return counters.inactive();
    }

    /** Returns {@code ip:port}, with brackets around an IPv6 address. */
    public String endpoint() {
        return endpoint;
    }

    @Override
    public String toString() {
        return endpoint() + " weight=" + weight + " state=" + state.label();
    }
}
