package io.svcproxy.balancer.sim;

/** Told of every pick of a replay, in replay order; for tests and for comparing with a live proxy's log. */
@FunctionalInterface
public interface PickListener {
    /**
     * Called once per connection and scheduler.
     *
     * @param scheduler the scheduler's name
     * @param connection the connection
     * @param endpoint the {@code ip:port} picked, or {@code null} when the connection was refused
     */
    void picked(String scheduler, Connection connection, String endpoint);
}
