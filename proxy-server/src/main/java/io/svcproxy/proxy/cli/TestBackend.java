package io.svcproxy.proxy.cli;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.svcproxy.balancer.Backends;
import io.svcproxy.proxy.dataplane.Transport;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small server for smoke tests, demos and containers: it echoes bytes back (passing a FIN on as a FIN),
 * answers HTTP with its name, swallows its input, or writes its name and closes.
 */
public final class TestBackend implements AutoCloseable {
    /** What the server does with a connection. */
    public enum Mode {
        /** Echoes every byte back; a FIN from the client is answered with a FIN once the bytes are sent. */
        ECHO,
        /** Answers every HTTP request with {@code 200} and its name as the body; keeps connections alive. */
        HTTP,
        /** Reads and drops everything. */
        DISCARD,
        /** Writes its name and a newline, then closes. */
        NAME;

        /** Returns the mode of a command-line name such as {@code echo}. */
        public static Mode of(String name) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }
    }

    private static final Logger log = LoggerFactory.getLogger(TestBackend.class);

    private final EventLoopGroup group;
    private final Channel channel;
    private final String name;
    private final AtomicInteger accepted;
    private final AtomicInteger open;

    private TestBackend(EventLoopGroup group, Channel channel, String name, AtomicInteger accepted,
                        AtomicInteger open) {
        this.group = group;
        this.channel = channel;
        this.name = name;
        this.accepted = accepted;
        this.open = open;
    }

    /**
     * Starts a server on {@code address}.
     *
     * @throws io.svcproxy.proxy.dataplane.BindException if the address cannot be bound
     */
    public static TestBackend start(InetSocketAddress address, String name, Mode mode)
            throws io.svcproxy.proxy.dataplane.BindException {
        Transport transport = Transport.select();
        EventLoopGroup group = transport.newGroup(1, new DefaultThreadFactory("backend-" + name, true));
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger open = new AtomicInteger();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted.incrementAndGet();
                        open.incrementAndGet();
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        switch (mode) {
                            case ECHO -> ch.pipeline().addLast(new Echo());
                            case HTTP -> ch.pipeline().addLast(new HttpServerCodec(),
                                    new HttpObjectAggregator(1 << 20), new Http(name));
                            case DISCARD -> ch.pipeline().addLast(new Discard());
                            case NAME -> ch.pipeline().addLast(new Name(name));
                        }
                    }
                });
        var future = bootstrap.bind(address).awaitUninterruptibly();
        if (!future.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw new io.svcproxy.proxy.dataplane.BindException(
                    Backends.format(address.getAddress(), address.getPort()), future.cause());
        }
        log.info("Backend listening name={} mode={} address={}", name, mode.name().toLowerCase(Locale.ROOT),
                Backends.format(address.getAddress(), address.getPort()));
        return new TestBackend(group, future.channel(), name, accepted, open);
    }

    /** Returns the bound address. */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Returns the number of connections accepted since start. */
    public int acceptedConnections() {
        return accepted.get();
    }

    /** Returns the number of connections open now. */
    public int openConnections() {
        return open.get();
    }

    /** Returns the server's name. */
    public String name() {
        return name;
    }

    /** Blocks until the server is closed. */
    public void awaitClosed() {
        channel.closeFuture().awaitUninterruptibly();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                // everything read was echoed: closing after the flush sends the FIN, and frees the socket
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.close();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final class Name extends ChannelInboundHandlerAdapter {
        private final ByteBuf line;

        Name(String name) {
            this.line = Unpooled.unreleasableBuffer(
                    Unpooled.copiedBuffer(name + "\n", StandardCharsets.UTF_8).asReadOnly());
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(line.duplicate()).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final class Http extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final byte[] body;

        Http(String name) {
            this.body = (name + "\n").getBytes(StandardCharsets.UTF_8);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.wrappedBuffer(body));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            if (keepAlive) {
                if (request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                    response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                }
                ctx.writeAndFlush(response);
            } else {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

}
