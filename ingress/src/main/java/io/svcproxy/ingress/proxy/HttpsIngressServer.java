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
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The HTTPS Ingress listener: TLS with the certificate chosen by SNI from {@link TlsCertificates} (swap them with
 * {@link TlsCertificates#update}: new handshakes use the new ones, open connections are kept), then HTTP/2 or
 * HTTP/1.1 as ALPN agreed. Requests are routed and proxied as on the HTTP listener, with
 * {@code X-Forwarded-Proto: https}. Bind once; {@link #close} stops accepting, {@link #drain} ends its connections too.
 */
public final class HttpsIngressServer extends BoundIngressServer {
    private final TlsCertificates certificates;

    private HttpsIngressServer(Channel serverChannel, TlsCertificates certificates,
                               AtomicReference<ListenerSettings> settings, ClientConnections connections) {
        super(serverChannel, settings, connections);
        this.certificates = certificates;
    }

    /**
     * Binds the listener.
     *
     * @param group        the event loops of the accepted connections and of their outbound connections
     * @param channelType  the server channel class matching {@code group} (NIO or epoll)
     * @param certificates the certificates by SNI; the caller keeps it to update them on reload
     * @param metrics      receives every answered request on its event loop
     */
    public static HttpsIngressServer bind(EventLoopGroup group, Class<? extends ServerChannel> channelType,
                                          InetSocketAddress address, Router<ServiceBackend> router,
                                          BackendLookup lookup, IngressOptions options, IngressMetrics metrics,
                                          TlsCertificates certificates) throws InterruptedException {
        return bind(group, channelType, address, router, lookup, options, metrics, certificates, b -> { });
    }

    /**
     * Binds the listener; {@code listenerSocket} sets what the caller needs on the listening socket before it binds
     * (SO_REUSEPORT on a port shared with Service listeners).
     */
    public static HttpsIngressServer bind(EventLoopGroup group, Class<? extends ServerChannel> channelType,
                                          InetSocketAddress address, Router<ServiceBackend> router,
                                          BackendLookup lookup, IngressOptions options, IngressMetrics metrics,
                                          TlsCertificates certificates, Consumer<ServerBootstrap> listenerSocket)
            throws InterruptedException {
        Objects.requireNonNull(certificates, "certificates");
        AtomicReference<ListenerSettings> settings =
                new AtomicReference<>(ListenerSettings.create(router, lookup, options, "https", metrics));
        ClientConnections connections = new ClientConnections();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(channelType)
                .childOption(ChannelOption.AUTO_READ, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (ClientPipelines.closedIfGone(ch)) {
                            return;
                        }
                        ClientPipelines.tls(ch.pipeline(), settings.get(), certificates);
                        connections.add(ch);
                    }
                });
        listenerSocket.accept(bootstrap);
        Channel channel = bootstrap.bind(address).sync().channel();
        return new HttpsIngressServer(channel, certificates, settings, connections);
    }

    /** The certificates this listener serves. */
    public TlsCertificates certificates() {
        return certificates;
    }
}
