package io.svcproxy.proxy.udp;

import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The connected sockets of ended flows, kept to carry later flows to the same endpoint (epoll only). A DNS query
 * through a port with {@code udpResponses} is a flow of its own, and a socket per flow cost, besides the {@code
 * send} and {@code recv} of the query and its answer, {@code socket}, {@code getsockname}, {@code connect}, {@code
 * epoll_ctl}, {@code close}: a quarter of the event loop's samples (docs/performance.md, "The UDP row, round four").
 *
 * <p>Only a flow that got every answer it waited for ({@code udpResponses} per datagram the client sent) gives its
 * socket back: then nothing more is owed to it, and any further datagram from the endpoint is one the client did
 * not ask for. A flow that ended otherwise (idle, refused, error, its endpoint left) closes its socket, as before:
 * a stateful protocol's late datagram is never handed to another client. A parked socket stays registered for
 * reading; whatever it receives is dropped (as at a closed port) and marks it dirty, and a dirty socket is closed
 * instead of reused. A socket is reused no sooner than {@link #QUARANTINE_NANOS} after its flow ended (the oldest
 * first), so that a duplicate answer sent on the heels of the last one finds it parked; a socket parked longer than
 * {@link #MAX_PARKED_NANOS} is closed by a sweep, and at most {@link #MAX_PARKED} are parked per listener, so
 * the descriptors held beyond the live flows stay bounded. Owned by the listener's event loop.
 */
final class FlowSocketPool {
    /** The least time between a flow's end and another flow on its socket. */
    static final long QUARANTINE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** A socket parked this long is closed. */
    static final long MAX_PARKED_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Sockets parked at most, per listener. */
    static final int MAX_PARKED = 1024;

    private final Map<InetSocketAddress, ArrayDeque<EpollFlowSocket>> parked = new HashMap<>();
    private final EventLoop loop;
    private final int maxParked;
    private final Runnable sweep = this::sweepAndReschedule;
    private int size;
    private boolean sweepScheduled;

    FlowSocketPool(EventLoop loop) {
        this(loop, MAX_PARKED);
    }

    /** A pool that parks at most {@code maxParked} sockets (tests fill a small one). */
    FlowSocketPool(EventLoop loop, int maxParked) {
        this.loop = loop;
        this.maxParked = maxParked;
    }

    /**
     * Returns a clean socket to {@code endpoint} parked at least the quarantine before {@code now}, taken out of the
     * pool, or {@code null}. Dirty sockets met on the way are closed.
     */
    EpollFlowSocket take(InetSocketAddress endpoint, long now) {
        ArrayDeque<EpollFlowSocket> queue = parked.get(endpoint);
        if (queue == null) {
            return null;
        }
        EpollFlowSocket s;
        while ((s = queue.peekFirst()) != null) {
            if (s.dirty() || !s.isOpen()) {
                queue.pollFirst();
                size--;
                s.close();
            } else if (now - s.parkedAt() >= QUARANTINE_NANOS) {
                queue.pollFirst();
                size--;
                return s;
            } else {
                return null; // the oldest is too young: so are the others
            }
        }
        return null;
    }

    /**
     * Parks {@code socket}, whose flow got every answer, from {@code now}; returns {@code false} (the caller closes
     * it) when the pool is full or the socket is dirty.
     */
    boolean park(EpollFlowSocket socket, long now) {
        if (size >= maxParked || socket.dirty() || !socket.isOpen()) {
            return false;
        }
        socket.park(now);
        parked.computeIfAbsent(socket.endpoint(), e -> new ArrayDeque<>()).addLast(socket);
        size++;
        if (!sweepScheduled) {
            sweepScheduled = true;
            loop.schedule(sweep, MAX_PARKED_NANOS, TimeUnit.NANOSECONDS);
        }
        return true;
    }

    /** Closes the sockets parked too long, and the dirty ones; runs again while any is left. */
    private void sweepAndReschedule() {
        sweepScheduled = false;
        sweep(System.nanoTime());
        if (size > 0) {
            sweepScheduled = true;
            loop.schedule(sweep, MAX_PARKED_NANOS, TimeUnit.NANOSECONDS);
        }
    }

    /** Closes the sockets parked {@link #MAX_PARKED_NANOS} or longer by {@code now}, and the dirty ones. */
    void sweep(long now) {
        for (Iterator<ArrayDeque<EpollFlowSocket>> it = parked.values().iterator(); it.hasNext(); ) {
            ArrayDeque<EpollFlowSocket> queue = it.next();
            for (Iterator<EpollFlowSocket> q = queue.iterator(); q.hasNext(); ) {
                EpollFlowSocket s = q.next();
                if (s.dirty() || !s.isOpen() || now - s.parkedAt() >= MAX_PARKED_NANOS) {
                    q.remove();
                    size--;
                    s.close();
                }
            }
            if (queue.isEmpty()) {
                it.remove();
            }
        }
    }

    /** Closes every parked socket (the listener closes). */
    void closeAll() {
        for (ArrayDeque<EpollFlowSocket> queue : parked.values()) {
            queue.forEach(EpollFlowSocket::close);
        }
        parked.clear();
        size = 0;
    }

    /** Returns the sockets parked now. */
    int size() {
        return size;
    }
}
