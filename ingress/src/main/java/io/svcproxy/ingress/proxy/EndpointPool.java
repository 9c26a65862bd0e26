package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The kept-alive HTTP/1.1 connections of one event loop to each endpoint, at most {@code maxIdlePerEndpoint} idle
 * ones per endpoint (more are closed). Owned by that event loop: no locks. Keyed by address and port, so a reload
 * that keeps an endpoint keeps its connections.
 */
final class EndpointPool {
    private final int maxIdlePerEndpoint;
    private final Map<InetSocketAddress, ArrayDeque<Channel>> idle = new HashMap<>();

    EndpointPool(int maxIdlePerEndpoint) {
        this.maxIdlePerEndpoint = maxIdlePerEndpoint;
    }

    /** An idle open connection to the endpoint, most recently used first, or {@code null}. */
    Channel acquire(InetSocketAddress endpoint) {
        ArrayDeque<Channel> q = idle.get(endpoint);
        if (q == null) {
            return null;
        }
        Channel ch;
        while ((ch = q.pollFirst()) != null) {
            if (ch.isActive()) {
                return ch;
            }
        }
        return null;
    }

    /** Keeps the connection for the next request to the endpoint, or closes it when the endpoint's room is full. */
    void release(InetSocketAddress endpoint, Channel ch) {
        ArrayDeque<Channel> q = idle.computeIfAbsent(endpoint, k -> new ArrayDeque<>());
        if (q.size() >= maxIdlePerEndpoint || !ch.isActive()) {
            ch.close();
            return;
        }
        q.addFirst(ch);
    }

    /** Forgets an idle connection the endpoint closed. */
    void remove(InetSocketAddress endpoint, Channel ch) {
        ArrayDeque<Channel> q = idle.get(endpoint);
        if (q != null) {
            q.remove(ch);
            if (q.isEmpty()) {
                idle.remove(endpoint);
            }
        }
    }

    /** Idle connections held, for tests and metrics. */
    int idleCount() {
        int n = 0;
        for (ArrayDeque<Channel> q : idle.values()) {
            n += q.size();
        }
        return n;
    }
}
