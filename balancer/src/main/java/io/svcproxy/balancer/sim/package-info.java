/**
 * The scheduler simulator's engine: replays a connection sequence, in start order, through the very
 * {@link io.svcproxy.balancer.BackendSet}, schedulers, {@link io.svcproxy.balancer.ConnectionCounters} and leases
 * the proxy runs, with a virtual clock (affinity timeouts) and synthetic connection counts (a lease per
 * connection, released at its end). Pure Java, no I/O: readers of traces and events live with the command.
 * Single-threaded: one caller feeds one {@link Simulation}.
 */
package io.svcproxy.balancer.sim;
