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

    /*
     * equals and hashCode written out, as the record's own would be: a record's generated ones are linked by an
     * invokedynamic bootstrap (ObjectMethods) on their first call, and this key is hashed on the main thread before
     * the first Service port listens (~10 ms of the start; docs/performance.md, "Start-up, round 9").
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof ServiceKey k && port == k.port && protocol == k.protocol && clusterIP.equals(k.clusterIP);
    }

    @Override
    public int hashCode() {
        return (clusterIP.hashCode() * 31 + port) * 31 + protocol.hashCode();
    }

    @Override
    public String toString() {
        return Backends.format(clusterIP, port) + "/" + protocol;
    }
}
