package io.svcproxy.proxy.dataplane;

import io.netty.channel.Channel;
import io.svcproxy.config.ProxyLimits;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The proxy-wide admission of client connections: {@code proxy.maxConnections}, {@code proxy.connectQueue}, the
 * file-descriptor guard's verdict, and the Service port's own limits. Called on the event loop that accepted the
 * connection; the counts are atomic because every loop shares them.
 */
final class Admission {
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger connecting = new AtomicInteger();
    private volatile boolean fdPaused;

    /**
     * Admits {@code channel}, a new client connection of {@code port}, or returns why it is refused; {@code perClient}
     * is the Service's {@code maxConnectionsPerClient}, read once by the caller. An admitted connection must give
     * back its places with {@link #release} when it closes (its handler's {@code channelInactive}: a close listener
     * per connection would be three objects more held by every open connection).
     */
    Rejection admit(Channel channel, ServicePort port, ProxyLimits limits, int perClient) {
        if (fdPaused) {
            return Rejection.FD_LIMIT;
        }
        int n = open.incrementAndGet();
        if (limits.maxConnections() > 0 && n > limits.maxConnections()) {
            open.decrementAndGet();
            return Rejection.MAX_CONNECTIONS;
        }
        InetAddress client = ((InetSocketAddress) channel.remoteAddress()).getAddress();
        Rejection refused = port.admit(client, perClient);
        if (refused != null) {
            open.decrementAndGet();
            return refused;
        }
        return null;
    }

    /**
     * Gives back the places of {@code channel}, a connection of {@code port} that {@link #admit} admitted, once it
     * closed; {@code perClient}: whether it was admitted with a {@code perClient} above 0 (counted per address).
     */
    void release(Channel channel, ServicePort port, boolean perClient) {
        open.decrementAndGet();
        port.release(perClient ? ((InetSocketAddress) channel.remoteAddress()).getAddress() : null, perClient);
    }

    /** Takes a place in the connect queue; returns {@code false} when {@code limit} connects are in progress. */
    boolean startConnect(int limit, boolean force) {
        int n = connecting.incrementAndGet();
        if (n > limit && !force) {
            connecting.decrementAndGet();
            return false;
        }
        return true;
    }

    /** Gives back the place of a connect that completed, succeeded or not. */
    void connectDone() {
        connecting.decrementAndGet();
    }

    /** Returns the client connections admitted and open, on every Service port. */
    int openConnections() {
        return open.get();
    }

    /** Returns the connects to endpoints in progress. */
    int connectsInProgress() {
        return connecting.get();
    }

    boolean fdPaused() {
        return fdPaused;
    }

    void setFdPaused(boolean paused) {
        this.fdPaused = paused;
    }
}
