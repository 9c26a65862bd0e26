package io.svcproxy.config;

import io.svcproxy.balancer.Backends;
import java.net.InetAddress;
import java.util.Objects;

/**
 * The identity of one listener: a Service's clusterIP, port and protocol.
 *
 * @param clusterIP the virtual IP
 * @param port the Service port
 * @param protocol its protocol
 */
public record ServiceKey(InetAddress clusterIP, int port, Protocol protocol) {
    public ServiceKey {
        Objects.requireNonNull(clusterIP, "clusterIP");
        Objects.requireNonNull(protocol, "protocol");
    }

    @Override
    public String toString() {
        return Backends.format(clusterIP, port) + "/" + protocol;
    }
}
