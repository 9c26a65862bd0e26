package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

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

    private static void drain(Channel connection) {
        ClientTimeouts timeouts = connection.pipeline().get(ClientTimeouts.class);
        if (timeouts != null) {
            timeouts.drain();
        }
    }
}
