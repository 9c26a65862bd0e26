package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.svcproxy.balancer.ConnectionCounters;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the HTTP and HTTPS listeners share once bound: the server channel, and the {@link ListenerSettings} each
 * accepted connection takes when it is set up (one read per connection), which {@link #setOptions} swaps.
 */
abstract class BoundIngressServer implements IngressServer {
    private final Channel serverChannel;
    private final AtomicReference<ListenerSettings> settings;
    private final ClientConnections connections;

    BoundIngressServer(Channel serverChannel, AtomicReference<ListenerSettings> settings,
                       ClientConnections connections) {
        this.serverChannel = serverChannel;
        this.settings = settings;
        this.connections = connections;
    }

    @Override
    public void drain() {
        close();
        connections.drain();
    }

    @Override
    public int connections() {
        return connections.size();
    }

    @Override
    public void cut() {
        connections.cut();
    }

    @Override
    public int cutRequestsTo(ConnectionCounters endpoint) {
        return settings.get().endpoints().cut(endpoint); // one set, shared by every copy of the settings
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
    public void setHttpsPort(int port) {
        settings.get().httpsPort().set(port); // one holder, shared by every copy of the settings
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
