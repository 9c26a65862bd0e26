package io.svcproxy.balancer;

import java.net.InetAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The ClientIP affinity entries of one Service port: client address to the endpoint it got and the time of its
 * last connection. Shared by the successive {@link BackendSet}s of the port, so a reload keeps them. Expired
 * entries are swept lazily when the table has doubled since the last sweep, and by {@link #expire}.
 */
final class AffinityTable {
    /** The endpoint a client is bound to and when it last connected ({@code System.nanoTime()} scale). */
    record Entry(Endpoint endpoint, long lastUsed) {
    }

    /** An endpoint's identity across snapshots: address and port. */
    record Endpoint(InetAddress address, int port) {
        static Endpoint of(Backend backend) {
            return new Endpoint(backend.address(), backend.port());
        }
    }

    private static final int MIN_SWEEP_SIZE = 1024;

    /** Keyed by {@link ClientAddress}: a client cannot choose its bin (forged IPv6 addresses of one hash code). */
    private final Map<ClientAddress, Entry> entries = new ConcurrentHashMap<>();
    private final AtomicInteger sweepAt = new AtomicInteger(MIN_SWEEP_SIZE);

    Entry get(InetAddress client) {
        return entries.get(ClientAddress.of(client));
    }

    /** Binds {@code client} to {@code backend} as of {@code now}, sweeping expired entries when many piled up. */
    void put(InetAddress client, Backend backend, long now, long timeoutNanos) {
        entries.put(ClientAddress.of(client), new Entry(Endpoint.of(backend), now));
        int size = entries.size();
        int at = sweepAt.get();
        if (size > at && sweepAt.compareAndSet(at, Integer.MAX_VALUE)) {
            expire(now, timeoutNanos);
            sweepAt.set(Math.max(MIN_SWEEP_SIZE, 2 * entries.size()));
        }
    }

    /** Removes the entries whose last connection is {@code timeoutNanos} or more before {@code now}. */
    void expire(long now, long timeoutNanos) {
        entries.values().removeIf(e -> now - e.lastUsed() >= timeoutNanos);
    }

    /** Removes the entries whose endpoint is not in {@code endpoints}. */
    void retain(Set<Endpoint> endpoints) {
        entries.values().removeIf(e -> !endpoints.contains(e.endpoint()));
    }

    void clear() {
        entries.clear();
    }

    int size() {
        return entries.size();
    }
}
