package io.svcproxy.balancer;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * What a scheduler may know about a new connection: the client's address and port, the destination (the
 * Service's clusterIP, the key of {@code dh}), and the backends already tried for this connection, which count
 * as unavailable (HAProxy's {@code srvtoavoid}).
 *
 * @param clientAddress the client's IP address (the key of {@code sh}, {@code mh} and session affinity)
 * @param clientPort the client's source port (hashed by {@code sh-port} and {@code mh-port})
 * @param destinationAddress the clusterIP the client connected to
 * @param avoid backends already tried for this connection; empty on the first attempt
 */
public record PickContext(InetAddress clientAddress, int clientPort, InetAddress destinationAddress,
                          List<Backend> avoid) {
    public PickContext {
        Objects.requireNonNull(clientAddress, "clientAddress");
        Objects.requireNonNull(destinationAddress, "destinationAddress");
        avoid = List.copyOf(avoid);
    }

    /** Returns a context for the first attempt of a connection. */
    public static PickContext of(InetAddress clientAddress, int clientPort, InetAddress destinationAddress) {
        return new PickContext(clientAddress, clientPort, destinationAddress, List.of());
    }

    /** Returns a copy that also avoids {@code failed}, for a retry after a failed connect. */
    public PickContext withAvoided(Backend failed) {
        Backend[] more = avoid.toArray(new Backend[avoid.size() + 1]);
        more[avoid.size()] = failed;
        return new PickContext(clientAddress, clientPort, destinationAddress, List.of(more));
    }

    /** Returns whether this is a retry, that is, some backend was already tried. */
    public boolean isRetry() {
        return !avoid.isEmpty();
    }

    /**
     * Returns whether {@code backend} was already tried for this connection. Backends are compared by address
     * and port, so a retry that crosses a reload still avoids the endpoint that failed.
     */
    public boolean isAvoided(Backend backend) {
        for (int i = 0; i < avoid.size(); i++) {
            Backend tried = avoid.get(i);
            if (tried == backend
                    || tried.port() == backend.port() && tried.address().equals(backend.address())) {
                return true;
            }
        }
        return false;
    }
}
