package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The client connections a listener accepted and that are still open, for its drain ({@link IngressServer#drain}).
 * A connection joins when the listener's initializer has set it up, on its event loop, which may be after the
 * drain went over the set: one that joins once the drain has started is drained at once.
 */
final class ClientConnections {
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private volatile boolean draining;

    /** From the listener's initializer, once the connection's handlers are in place; a closed one leaves by itself. */
    void add(Channel connection) {
        channels.add(connection);
        if (draining) {
            connection.eventLoop().execute(() -> drain(connection));
        }
    }

    /** Asks every connection, and each one that joins from now on, to end ({@link ClientTimeouts#drain}). */
    void drain() {
        draining = true;
        for (Channel connection : channels) {
            connection.eventLoop().execute(() -> drain(connection));
        }
    }

    int size() {
        return channels.size();
    }

    /**
     * Resets every connection still open (a drain's deadline, or a shutdown without one), on its event loop: a
     * response or tunnel cut short must not read as complete, as a FIN would let a close-delimited body. The
     * endpoint connections of their exchanges close with them. Waits (a second at most) until they are reset: not
     * from an event loop.
     */
    void cut() {
        List<Future<?>> cuts = new ArrayList<>();
        for (Channel connection : channels) {
            cuts.add(connection.eventLoop().submit(() -> Resets.now(connection)));
        }
        // done before the caller stops the event loops, which close what is left with a FIN first
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        for (Future<?> cut : cuts) {
            cut.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
    }

    private static void drain(Channel connection) {
        ClientTimeouts timeouts = connection.pipeline().get(ClientTimeouts.class);
        if (timeouts != null) {
            timeouts.drain();
        }
    }
}
