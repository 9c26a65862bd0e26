package io.svcproxy.proxy.dataplane;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketChannelConfig;
import java.net.InetAddress;

/**
 * Relays an endpoint connection's events to the {@link FrontendHandler} that owns it, on the same event loop.
 */
final class BackendHandler extends ChannelInboundHandlerAdapter {
    private final FrontendHandler frontend;

    BackendHandler(FrontendHandler frontend) {
        this.frontend = frontend;
    }

    /**
     * Returns a new endpoint channel of {@code frontend}'s connection with the relay's options, not yet registered.
     * What a {@code Bootstrap} does per connect (a reflective channel factory, the options from a map, a resolver,
     * the connect as a task) cost a fifth of the CPU of a new connection (docs/performance.md, "Profiles"); this sets
     * each option with its typed setter. {@code TCP_NODELAY} is already on: every transport's connecting channel
     * sets it when it is made (Netty's on Linux and other non-Android platforms, {@code RelayEpollSocketChannel} on
     * epoll; {@code TransportTest}), and setting it again would cost a system call.
     */
    static Channel newChannel(Transport transport, DataPlaneSettings settings, FrontendHandler frontend,
                              InetAddress address) {
        SocketChannel channel = transport.newSocketChannel(address);
        SocketChannelConfig config = channel.config();
        config.setConnectTimeoutMillis(settings.connectTimeoutMillis());
        config.setAllowHalfClosure(true);
        config.setRecvByteBufAllocator(Relay.recvAllocator());
        config.setWriteBufferWaterMark(Relay.WATER_MARK);
        channel.pipeline().addLast(new BackendHandler(frontend));
        return channel;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        frontend.outboundRead(ctx.channel(), msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        frontend.outboundReadComplete(ctx.channel());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        frontend.outboundWritabilityChanged(ctx.channel());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            frontend.outboundInputShutdown(ctx.channel());
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        frontend.outboundInactive(ctx.channel());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        frontend.outboundException(ctx.channel(), cause);
    }
}
