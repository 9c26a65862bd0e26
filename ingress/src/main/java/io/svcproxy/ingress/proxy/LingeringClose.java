package io.svcproxy.ingress.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes an HTTP/1.1 client connection after its last response. While the request's body is still coming (an early
 * response: the endpoint's 413 before the upload ended, the proxy's own 404, 502 or 400 that closes), it lingers
 * first, as nginx's {@code lingering_close} and HAProxy do (RFC 9112 9.6): a socket closed with unread bytes is
 * reset by the kernel, and the reset can erase the response in the client's buffers before the client reads it
 * (curl: "(55) Send failure"; a client that writes its whole body before reading: "Broken pipe"). Lingering: once
 * the response is flushed, the output is shut down (not over TLS: see {@link #flushed}), so the
 * client reads the response and its end; what the client still sends is read and dropped, below the request
 * decoder, until the client closes its side, nothing came for {@link #QUIET_NANOS} (5 s, nginx's
 * {@code lingering_timeout}), or {@link #TOTAL_NANOS} passed since the response's end (30 s, nginx's
 * {@code lingering_time}); then the connection closes. HTTP/2 ends a stream with RST_STREAM: not used there.
 *
 * <p>Runs on the connection's event loop: plain fields.
 */
final class LingeringClose extends ChannelInboundHandlerAdapter {
    /** The longest wait for the client's next bytes (nginx's {@code lingering_timeout}). */
    static final long QUIET_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** The longest linger in all (nginx's {@code lingering_time}). */
    static final long TOTAL_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final long startNanos = System.nanoTime();
    private long lastReadNanos = startNanos;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;

    private LingeringClose() {
    }

    /**
     * Closes {@code h}'s connection once what was written to it is out: at once when no request body is coming
     * ({@code h.discarding} false), else after lingering. Nothing more is read as a request.
     */
    static void close(IngressFrontendHandler h) {
        Channel ch = h.inbound;
        h.closing = true;
        ChannelPipeline p = ch.pipeline();
        if (p.get(LingeringClose.class) != null) {
            return;
        }
        if (!h.discarding || !(ch instanceof DuplexChannel)) {
            ch.config().setAutoRead(false);
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (h.timeouts != null) {
            h.timeouts.lingering();
        }
        LingeringClose linger = new LingeringClose();
        // right behind the timeouts (first, or behind TLS): the bytes are dropped before the request decoder
        ChannelHandlerContext timeouts = p.context(ClientTimeouts.class);
        if (timeouts != null) {
            p.addAfter(timeouts.name(), "linger", linger);
        } else {
            p.addFirst("linger", linger);
        }
        // read while the response is flushed too: a client that reads nothing before its body is sent would
        // otherwise hold a response larger than the socket buffers for good
        ch.config().setAutoRead(true);
        ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) linger::flushed);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        timer = ctx.executor().schedule(this::check, QUIET_NANOS, TimeUnit.NANOSECONDS);
    }

    /** The response is out: the output is shut down (a FIN), but over TLS. */
    private void flushed(ChannelFuture f) {
        Channel ch = f.channel();
        if (!f.isSuccess()) {
            ch.close();
            return;
        }
        if (!ch.isActive()) {
            return;
        }
        if (ch.pipeline().get(SslHandler.class) != null) {
            // over TLS the output stays open: the JDK's engine, its outbound closed, takes none of the client's
            // records any more, and Netty's TLS handler then held them past the close (its buffer leaked). The
            // response says Connection: close and its length; the close, with its close_notify, comes at the end
            return;
        }
        shutdownOutput(f);
    }

    private static void shutdownOutput(ChannelFuture previous) {
        Channel ch = previous.channel();
        if (!previous.isSuccess()) {
            ch.close();
            return;
        }
        if (ch.isActive()) {
            ((DuplexChannel) ch).shutdownOutput().addListener((ChannelFuture shut) -> {
                if (!shut.isSuccess()) {
                    ch.close();
                }
            });
        }
    }

    private void check() {
        Channel ch = ctx.channel();
        if (!ch.isActive()) {
            return;
        }
        long now = System.nanoTime();
        long end = Math.min(lastReadNanos + QUIET_NANOS, startNanos + TOTAL_NANOS);
        if (now - end >= 0) {
            AccessLog.LOG.debug("Lingering close ended client={}", ch.remoteAddress());
            ch.close();
            return;
        }
        timer = ctx.executor().schedule(this::check, end - now, TimeUnit.NANOSECONDS);
    }

    /** The client's bytes after the response: dropped. */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastReadNanos = System.nanoTime();
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            ctx.channel().close(); // the client's FIN: it sent all it had
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        timer.cancel(false);
        ctx.fireChannelInactive();
    }

    /**
     * A reset by the client, or its TLS failing, while lingering: the connection is over, nothing to report. Anything
     * else is svcproxy's own and goes on to be logged.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.channel().close();
        if (ClientFailures.includes(cause)) {
            AccessLog.LOG.debug("Lingering close failed client={} cause={}", ctx.channel().remoteAddress(),
                    cause.toString());
            return;
        }
        ctx.fireExceptionCaught(cause);
    }
}
