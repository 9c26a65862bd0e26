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
 * @param eligible the backends this connection may use at all ({@code externalTrafficPolicy: Local}: those of this
 *     node); the others count as unavailable to every scheduler, whose state (rr position, connection counts)
 *     stays the one of the full list. {@code null} for every backend
 */
public record PickContext(InetAddress clientAddress, int clientPort, InetAddress destinationAddress,
                          List<Backend> avoid, java.util.function.Predicate<Backend> eligible) {
    public PickContext {
        Objects.requireNonNull(clientAddress, "clientAddress");
        Objects.requireNonNull(destinationAddress, "destinationAddress");
        avoid = List.copyOf(avoid);
    }

    /** Returns a context where every backend is eligible. */
    public PickContext(InetAddress clientAddress, int clientPort, InetAddress destinationAddress, List<Backend> avoid) {
        this(clientAddress, clientPort, destinationAddress, avoid, null);
    }

    /**
     * Returns a copy without the eligible filter: for a scheduler built over the eligible backends alone, where the
     * filter would only make the hashing schedulers walk on as for a retry.
     */
    public PickContext allEligible() {
        return eligible == null ? this : new PickContext(clientAddress, clientPort, destinationAddress, avoid, null);
    }

    /** Returns a copy that may use only the backends {@code eligible} accepts (a subset of the list in force). */
    public PickContext onlyEligible(java.util.function.Predicate<Backend> eligible) {
        return new PickContext(clientAddress, clientPort, destinationAddress, avoid, eligible);
    }

    /** Returns a context for the first attempt of a connection. */
    public static PickContext of(InetAddress clientAddress, int clientPort, InetAddress destinationAddress) {
        return new PickContext(clientAddress, clientPort, destinationAddress, List.of());
    }

    /** Returns a copy that also avoids {@code failed}, for a retry after a failed connect. */
    public PickContext withAvoided(Backend failed) {
        Backend[] more = avoid.toArray(new Backend[avoid.size() + 1]);
        more[avoid.size()] = failed;
        return new PickContext(clientAddress, clientPort, destinationAddress, List.of(more), eligible);
    }

    /**
     * Returns whether some backend is unavailable to this connection alone (tried already, or not eligible): the
     * hashing schedulers then walk their fallback path instead of giving up on the slot's backend.
     */
    public boolean hasExclusions() {
        return !avoid.isEmpty() || eligible != null;
    }

    /** Returns whether this is a retry, that is, some backend was already tried. */
    public boolean isRetry() {
        return !avoid.isEmpty();
    }

    /**
     * Returns whether {@code backend} was already tried for this connection, or is not eligible. Backends are compared by address
     * and port, so a retry that crosses a reload still avoids the endpoint that failed.
     */
    public boolean isAvoided(Backend backend) {
        if (eligible != null && !eligible.test(backend)) {
            return true;
        }
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
