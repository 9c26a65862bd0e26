package io.svcproxy.balancer.sim;

import java.net.InetAddress;
import java.util.Objects;

/**
 * One connection of a trace.
 *
 * @param start when it starts, in nanoseconds of the trace's clock
 * @param client the client's address
 * @param clientPort the client's source port (hashed by sh-port and mh-port)
 * @param duration how long it stays open, in nanoseconds
 */
public record Connection(long start, InetAddress client, int clientPort, long duration) {
    public Connection {
        Objects.requireNonNull(client, "client");
        if (duration < 0) {
            throw new IllegalArgumentException("duration: " + duration + " (expected: >= 0)");
        }
        if (clientPort < 0 || clientPort > 65535) {
            throw new IllegalArgumentException("clientPort: " + clientPort + " (expected: 0..65535)");
        }
    }

    /** Returns when it ends: {@code start + duration}, saturated. */
    public long end() {
        long end = start + duration;
        return end < start ? Long.MAX_VALUE : end;
    }
}
