package io.svcproxy.balancer.sim;

import java.net.InetAddress;
import java.util.Objects;

/**
 * An event of the simulation, applied as a reload would before the first connection starting at or after
 * {@link #at}: a new weight for an endpoint, its removal (its connections go on until they end), or a new one.
 *
 * @param at when, in nanoseconds of the trace's clock
 * @param kind what changes
 * @param address the endpoint's address
 * @param port the endpoint's port
 * @param weight the new weight ({@link Kind#WEIGHT}, {@link Kind#ADD}); 0 for {@link Kind#REMOVE}
 */
public record EndpointChange(long at, Kind kind, InetAddress address, int port, int weight) {
    /** The kinds of change. */
    public enum Kind {
        /** A new weight for an endpoint in the list. */
        WEIGHT,
        /** The endpoint leaves the list; it drains. */
        REMOVE,
        /** A new endpoint joins the list. */
        ADD
    }

    public EndpointChange {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(address, "address");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
        }
        if (weight < 0 || weight > 65535) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: 0..65535)");
        }
    }
}
