package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The kept-alive HTTP/1.1 connections of one event loop to each endpoint, at most {@code maxIdlePerEndpoint} idle
 * ones per endpoint (more are closed). Owned by that event loop: no locks. Keyed by address and port, so a reload
 * that keeps an endpoint keeps its connections. A connection idle for longer than {@link #MAX_IDLE_NANOS} is closed
 * by the next sweep (at most one per {@link #SWEEP_NANOS}, on a release): connections to an endpoint that left the
 * Service, or that traffic no longer needs, do not stay open for ever.
 */
final class EndpointPool {
    static final long MAX_IDLE_NANOS = TimeUnit.SECONDS.toNanos(60);
    static final long SWEEP_NANOS = TimeUnit.SECONDS.toNanos(10);

    private record Idle(Channel channel, long since) {
    }

    private final int maxIdlePerEndpoint;
    private final LongSupplier nanoTime;
    private final Map<InetSocketAddress, ArrayDeque<Idle>> idle = new HashMap<>();
    private long lastSweep;

    EndpointPool(int maxIdlePerEndpoint) {
        this(maxIdlePerEndpoint, System::nanoTime);
    }

    EndpointPool(int maxIdlePerEndpoint, LongSupplier nanoTime) {
        this.maxIdlePerEndpoint = maxIdlePerEndpoint;
        this.nanoTime = nanoTime;
        this.lastSweep = nanoTime.getAsLong();
    }

    /** An idle open connection to the endpoint, most recently used first, or {@code null}. */
    Channel acquire(InetSocketAddress endpoint) {
        ArrayDeque<Idle> q = idle.get(endpoint);
        if (q == null) {
            return null;
        }
        Idle i;
        while ((i = q.pollFirst()) != null) {
            if (i.channel().isActive()) {
                return i.channel();
            }
        }
        return null;
    }

    /** Keeps the connection for the next request to the endpoint, or closes it when the endpoint's room is full. */
    void release(InetSocketAddress endpoint, Channel ch) {
        long now = nanoTime.getAsLong();
        if (now - lastSweep >= SWEEP_NANOS) {
            lastSweep = now;
            sweep(now);
        }
        ArrayDeque<Idle> q = idle.computeIfAbsent(endpoint, k -> new ArrayDeque<>());
        if (q.size() >= maxIdlePerEndpoint || !ch.isActive()) {
            ch.close();
            return;
        }
        q.addFirst(new Idle(ch, now));
    }

    /** Closes the connections idle for longer than {@link #MAX_IDLE_NANOS}; the oldest are at each queue's end. */
    private void sweep(long now) {
        for (Iterator<ArrayDeque<Idle>> it = idle.values().iterator(); it.hasNext(); ) {
            ArrayDeque<Idle> q = it.next();
            Idle oldest;
            while ((oldest = q.peekLast()) != null && now - oldest.since() >= MAX_IDLE_NANOS) {
                q.pollLast().channel().close();
            }
            if (q.isEmpty()) {
                it.remove();
            }
        }
    }

    /** Forgets an idle connection the endpoint closed. */
    void remove(InetSocketAddress endpoint, Channel ch) {
        ArrayDeque<Idle> q = idle.get(endpoint);
        if (q != null) {
            q.removeIf(i -> i.channel() == ch);
            if (q.isEmpty()) {
                idle.remove(endpoint);
            }
        }
    }

    /** Idle connections held, for tests and metrics. */
    int idleCount() {
        int n = 0;
        for (ArrayDeque<Idle> q : idle.values()) {
            n += q.size();
        }
        return n;
    }
}
