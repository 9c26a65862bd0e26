package io.svcproxy.balancer.sim;

import java.net.InetAddress;
import java.util.Objects;

/**
 * An endpoint of the simulated Service port as the config gives it.
 *
 * @param address its address
 * @param port its port
 * @param weight its weight, 0..65535
 */
public record Target(InetAddress address, int port, int weight) {
    public Target {
        Objects.requireNonNull(address, "address");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
        }
        if (weight < 0 || weight > 65535) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: 0..65535)");
        }
    }
}
