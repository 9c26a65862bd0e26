package io.svcproxy.ingress.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.SocketChannel;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Router;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The plain HTTP Ingress listener: HTTP/1.1, and HTTP/2 without TLS (h2c) by prior knowledge or by
 * {@code Upgrade: h2c}. Each request (each HTTP/2 stream) is routed and sent to an endpoint the backend Service
 * port's scheduler picks. Bind once; {@link #close} stops accepting, {@link #drain} ends its connections too.
 */
public final class HttpIngressServer extends BoundIngressServer {
    private HttpIngressServer(Channel serverChannel, AtomicReference<ListenerSettings> settings,
                              ClientConnections connections) {
        super(serverChannel, settings, connections);
    }

    /**
     * Binds the listener with the default {@link IngressOptions} but {@code responseTimeout}.
     *
     * @param group           the event loops of the accepted connections and of their outbound connections
     * @param channelType     the server channel class matching {@code group} (NIO or epoll)
     * @param responseTimeout from the request sent to an endpoint until its response headers; then 504
     */
    public static HttpIngressServer bind(EventLoopGroup group, Class<? extends ServerChannel> channelType,
                                         InetSocketAddress address, Router<ServiceBackend> router,
                                         BackendLookup lookup, Duration responseTimeout) throws InterruptedException {
        return bind(group, channelType, address, router, lookup, responseTimeout, IngressMetrics.NONE);
    }

    /** Binds the listener; every answered request is reported to {@code metrics} on its event loop. */
    public static HttpIngressServer bind(EventLoopGroup group, Class<? extends ServerChannel> channelType,
                                         InetSocketAddress address, Router<ServiceBackend> router,
                                         BackendLookup lookup, Duration responseTimeout, IngressMetrics metrics)
            throws InterruptedException {
        return bind(group, channelType, address, router, lookup,
                IngressOptions.defaults().withResponseTimeout(responseTimeout), metrics);
    }

    /** Binds the listener with all its timeouts and limits. */
    public static HttpIngressServer bind(EventLoopGroup group, Class<? extends ServerChannel> channelType,
                                         InetSocketAddress address, Router<ServiceBackend> router,
                                         BackendLookup lookup, IngressOptions options, IngressMetrics metrics)
            throws InterruptedException {
        return bind(group, channelType, address, router, lookup, options, metrics, b -> { });
    }

    /**
     * Binds the listener with all its timeouts and limits; {@code listenerSocket} sets what the caller needs on the
     * listening socket before it binds (SO_REUSEPORT on a port shared with Service listeners).
     */
    public static HttpIngressServer bind(EventLoopGroup group, Class<? extends ServerChannel> channelType,
                                         InetSocketAddress address, Router<ServiceBackend> router,
                                         BackendLookup lookup, IngressOptions options, IngressMetrics metrics,
                                         Consumer<ServerBootstrap> listenerSocket) throws InterruptedException {
        AtomicReference<ListenerSettings> settings =
                new AtomicReference<>(ListenerSettings.create(router, lookup, options, "http", metrics));
        ClientConnections connections = new ClientConnections();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(channelType)
                .childOption(ChannelOption.AUTO_READ, true)
                // a client's FIN after its request is no abort: IngressFrontendHandler answers, then closes
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (ClientPipelines.closedIfGone(ch)) {
                            return;
                        }
                        ClientPipelines.cleartext(ch.pipeline(), settings.get());
                        connections.add(ch);
                    }
                });
        listenerSocket.accept(bootstrap);
        Channel channel = bootstrap.bind(address).sync().channel();
        return new HttpIngressServer(channel, settings, connections);
    }
}
