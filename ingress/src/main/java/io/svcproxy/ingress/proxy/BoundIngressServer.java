package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the HTTP and HTTPS listeners share once bound: the server channel, and the {@link ListenerSettings} each
 * accepted connection takes when it is set up (one read per connection), which {@link #setOptions} swaps.
 */
abstract class BoundIngressServer implements IngressServer {
    private final Channel serverChannel;
    private final AtomicReference<ListenerSettings> settings;
    private final ChannelGroup connections;

    BoundIngressServer(Channel serverChannel, AtomicReference<ListenerSettings> settings, ChannelGroup connections) {
        this.serverChannel = serverChannel;
        this.settings = settings;
        this.connections = connections;
    }

    /** The set the listener's initializer adds each accepted connection to; a closed one leaves it by itself. */
    static ChannelGroup newConnectionGroup() {
        return new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    }

    @Override
    public void drain() {
        close();
        for (Channel connection : connections) {
            connection.eventLoop().execute(() -> {
                ClientTimeouts timeouts = connection.pipeline().get(ClientTimeouts.class);
                if (timeouts != null) {
                    timeouts.drain();
                }
            });
        }
    }

    @Override
    public int connections() {
        return connections.size();
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    @Override
    public void setOptions(IngressOptions options) {
        settings.updateAndGet(s -> s.withOptions(options));
    }

    @Override
    public IngressOptions options() {
        return settings.get().options();
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
    }
}
