package io.svcproxy.ingress.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.FastThreadLocal;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Router;
import java.net.InetSocketAddress;
import java.time.Duration;

/** The plain HTTP/1.1 Ingress listener. Bind once; {@link #close} stops accepting and closes its connections. */
public final class HttpIngressServer implements AutoCloseable {
    /** Header limits: a request line of 8 KiB, 16 KiB of headers (Netty's defaults are 4 KiB and 8 KiB). */
    static final int MAX_INITIAL_LINE = 8192;
    static final int MAX_HEADER_SIZE = 16384;
    /** Idle kept-alive connections per endpoint and event loop; more are closed when their response ends. */
    static final int MAX_IDLE_PER_ENDPOINT = 32;

    private final Channel serverChannel;

    private HttpIngressServer(Channel serverChannel) {
        this.serverChannel = serverChannel;
    }

    /**
     * Binds the listener.
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
        FastThreadLocal<EndpointPool> pools = new FastThreadLocal<>() {
            @Override
            protected EndpointPool initialValue() {
                return new EndpointPool(MAX_IDLE_PER_ENDPOINT);
            }
        };
        IngressFrontendHandler.Settings settings = new IngressFrontendHandler.Settings(router, lookup,
                responseTimeout.toNanos(), "http", pools, metrics);
        Channel channel = new ServerBootstrap()
                .group(group)
                .channel(channelType)
                .childOption(ChannelOption.AUTO_READ, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("codec", new HttpServerCodec(MAX_INITIAL_LINE, MAX_HEADER_SIZE, 8192));
                        ch.pipeline().addLast("proxy", new IngressFrontendHandler(settings));
                    }
                })
                .bind(address).sync().channel();
        return new HttpIngressServer(channel);
    }

    /** The bound address (port 0 resolved). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
    }
}
