package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.svcproxy.balancer.ConnectionCounters;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The open connections of one listener to endpoints (pooled, serving a request, or a WebSocket tunnel's), for the
 * drain deadline of an endpoint that left its Service port ({@link #cut}): the requests and tunnels still on it then
 * end as the relay's connections do. A connection joins once, when it is made, and leaves by itself when it closes:
 * nothing per request.
 */
final class EndpointConnections {
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    /** From the connection's initializer, on its event loop. */
    void add(Channel endpoint) {
        channels.add(endpoint);
    }

    /**
     * Ends every request and tunnel that holds a claim on {@code counters} (an endpoint of a Service port, whose drain
     * outlived {@code drainTimeout}), on their event loops: a request not answered yet gets the proxy's 502, one whose
     * response started is cut short (its client connection reset, or its HTTP/2 stream), a tunnel is reset both
     * ways. Waits (a second at most) for the event loops: not from an event loop.
     *
     * @return how many requests and tunnels were ended
     */
    int cut(ConnectionCounters counters) {
        Map<EventLoop, List<Channel>> byLoop = new HashMap<>();
        for (Channel ch : channels) {
            byLoop.computeIfAbsent(ch.eventLoop(), k -> new ArrayList<>()).add(ch);
        }
        List<Future<Integer>> cuts = new ArrayList<>();
        for (Map.Entry<EventLoop, List<Channel>> e : byLoop.entrySet()) {
            List<Channel> onLoop = e.getValue();
            cuts.add(e.getKey().submit(() -> {
                int n = 0;
                for (Channel ch : onLoop) {
                    n += cutOne(ch, counters) ? 1 : 0;
                }
                return n;
            }));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        int cut = 0;
        for (Future<Integer> f : cuts) {
            if (f.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
                    && f.isSuccess()) {
                cut += f.getNow();
            }
        }
        return cut;
    }

    /** On {@code endpoint}'s event loop: ends what it serves if that holds a claim on {@code counters}. */
    private static boolean cutOne(Channel endpoint, ConnectionCounters counters) {
        if (!endpoint.isOpen()) {
            return false;
        }
        ChannelHandler last = endpoint.pipeline().last();
        if (last instanceof IngressBackendHandler handler) {
            Exchange ex = handler.exchange();
            if (ex == null || ex.outbound != endpoint || ex.backend.counters() != counters) {
                return false; // idle in the pool, or serving another Service port's endpoint at the same address
            }
            ex.cut();
            return true;
        }
        if (last instanceof Tunnel tunnel && tunnel.claims(counters)) {
            tunnel.cut(endpoint);
            return true;
        }
        return false;
    }
}
