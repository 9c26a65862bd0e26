package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import java.net.InetAddress;
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
 * Service, or that traffic no longer needs, do not stay open for ever. Looked up by the endpoint's
 * {@link InetAddress} (the object the scheduler's pick holds) and port, so that a request taking a pooled connection
 * makes no socket address.
 */
final class EndpointPool {
    static final long MAX_IDLE_NANOS = TimeUnit.SECONDS.toNanos(60);
    static final long SWEEP_NANOS = TimeUnit.SECONDS.toNanos(10);

    private record Idle(Channel channel, long since) {
    }

    /** The idle connections to one port of an address; the address's other ports (rare) chained behind it. */
    private static final class PortIdle {
        final int port;
        final ArrayDeque<Idle> idle = new ArrayDeque<>();
        PortIdle next;

        PortIdle(int port) {
            this.port = port;
        }
    }

    private final int maxIdlePerEndpoint;
    private final LongSupplier nanoTime;
    private final Map<InetAddress, PortIdle> idle = new HashMap<>();
    private long lastSweep;

    EndpointPool(int maxIdlePerEndpoint) {
        this(maxIdlePerEndpoint, System::nanoTime);
    }

    EndpointPool(int maxIdlePerEndpoint, LongSupplier nanoTime) {
        this.maxIdlePerEndpoint = maxIdlePerEndpoint;
        this.nanoTime = nanoTime;
        this.lastSweep = nanoTime.getAsLong();
    }

    /** An idle open connection to the endpoint {@code address:port}, most recently used first, or {@code null}. */
    Channel acquire(InetAddress address, int port) {
        PortIdle p = find(address, port);
        if (p == null) {
            return null;
        }
        Idle i;
        while ((i = p.idle.pollFirst()) != null) {
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
        InetAddress address = endpoint.getAddress();
        int port = endpoint.getPort();
        PortIdle p = find(address, port);
        if (p == null) {
            p = new PortIdle(port);
            p.next = idle.get(address);
            idle.put(address, p);
        }
        if (p.idle.size() >= maxIdlePerEndpoint || !ch.isActive()) {
            ch.close();
            return;
        }
        p.idle.addFirst(new Idle(ch, now));
    }

    private PortIdle find(InetAddress address, int port) {
        for (PortIdle p = idle.get(address); p != null; p = p.next) {
            if (p.port == port) {
                return p;
            }
        }
        return null;
    }

    /** Closes the connections idle for longer than {@link #MAX_IDLE_NANOS}; the oldest are at each queue's end. */
    private void sweep(long now) {
        for (Iterator<Map.Entry<InetAddress, PortIdle>> it = idle.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<InetAddress, PortIdle> e = it.next();
            PortIdle kept = null;
            for (PortIdle p = e.getValue(), next; p != null; p = next) {
                next = p.next;
                Idle oldest;
                while ((oldest = p.idle.peekLast()) != null && now - oldest.since() >= MAX_IDLE_NANOS) {
                    p.idle.pollLast().channel().close();
                }
                if (!p.idle.isEmpty()) {
                    p.next = kept;
                    kept = p;
                }
            }
            if (kept == null) {
                it.remove();
            } else {
                e.setValue(kept);
            }
        }
    }

    /** Forgets an idle connection the endpoint closed. */
    void remove(InetSocketAddress endpoint, Channel ch) {
        InetAddress address = endpoint.getAddress();
        PortIdle p = find(address, endpoint.getPort());
        if (p != null) {
            p.idle.removeIf(i -> i.channel() == ch);
            if (p.idle.isEmpty()) {
                unlink(address, p);
            }
        }
    }

    private void unlink(InetAddress address, PortIdle gone) {
        PortIdle first = idle.get(address);
        if (first == gone) {
            if (gone.next == null) {
                idle.remove(address);
            } else {
                idle.put(address, gone.next);
            }
            return;
        }
        for (PortIdle p = first; p != null; p = p.next) {
            if (p.next == gone) {
                p.next = gone.next;
                return;
            }
        }
    }

    /** Idle connections held, for tests and metrics. */
    int idleCount() {
        int n = 0;
        for (PortIdle first : idle.values()) {
            for (PortIdle p = first; p != null; p = p.next) {
                n += p.idle.size();
            }
        }
        return n;
    }
}
