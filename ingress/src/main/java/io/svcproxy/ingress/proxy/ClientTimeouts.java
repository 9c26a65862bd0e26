package io.svcproxy.ingress.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The request and idle timeouts of one client connection, first in its pipeline or right behind TLS (so it sees
 * the plain bytes and its 408 is encrypted).
 * <ul>
 *   <li>Request: from the first byte after the previous response (or the connection's start) until
 *       {@link IngressFrontendHandler} has the request's headers; then {@code 408} and close (slow header senders
 *       hold no connection for long).
 *   <li>Idle: no byte read or written for {@code idleTimeout} closes the connection, unless a request waits for
 *       its response headers (the response timeout governs that) or, on HTTP/2, a stream is open.
 * </ul>
 * One periodic check per connection, every half of the shorter timeout, instead of a timer per request: a request
 * costs two field writes, and a timeout fires between its value and one and a half times it.
 * Runs on the connection's event loop: plain fields.
 */
final class ClientTimeouts extends ChannelDuplexHandler {
    private static final byte[] REQUEST_TIMEOUT = ("HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n"
            + "Content-Length: 20\r\nConnection: close\r\n\r\n408 Request Timeout\n").getBytes(StandardCharsets.US_ASCII);

    private final long requestTimeoutNanos;
    private final long idleTimeoutNanos;
    private final long periodNanos;
    private ChannelHandlerContext ctx;
    /** A request has its headers read and its response not yet ended. */
    private boolean inRequest;
    /** Bytes of a request head arrived at {@link #headStart}; its headers are not decoded yet. */
    private boolean headStarted;
    private long headStart;
    /** The connection is a WebSocket tunnel: only the idle timeout applies. */
    private boolean tunnel;
    private long lastActivity;
    private ScheduledFuture<?> timer;

    ClientTimeouts(IngressOptions options) {
        this.requestTimeoutNanos = options.requestTimeout().toNanos();
        this.idleTimeoutNanos = options.idleTimeout().toNanos();
        this.periodNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(10),
                Math.min(requestTimeoutNanos, idleTimeoutNanos) / 2);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        lastActivity = System.nanoTime();
        timer = ctx.executor().scheduleAtFixedRate(this::check, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        long now = System.nanoTime();
        lastActivity = now;
        if (!inRequest && !headStarted && !tunnel) {
            headStarted = true;
            headStart = now;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        lastActivity = System.nanoTime();
        ctx.write(msg, promise);
    }

    /** The frontend has the request's headers. */
    void requestHeadRead() {
        inRequest = true;
        headStarted = false;
    }

    /** The request was answered; the next one's timer starts with its first byte. */
    void responseEnded() {
        inRequest = false;
        lastActivity = System.nanoTime();
    }

    /** The connection became a byte relay. */
    void tunnel() {
        tunnel = true;
        inRequest = false;
        headStarted = false;
    }

    private void check() {
        if (!ctx.channel().isActive()) {
            timer.cancel(false);
            return;
        }
        long now = System.nanoTime();
        if (headStarted && now - headStart >= requestTimeoutNanos && !http2()) {
            headStarted = false;
            IngressFrontendHandler.ACCESS_LOG.debug("Request headers timed out client={}",
                    ctx.channel().remoteAddress());
            ctx.writeAndFlush(Unpooled.wrappedBuffer(REQUEST_TIMEOUT)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (now - lastActivity >= idleTimeoutNanos && !busy()) {
            IngressFrontendHandler.ACCESS_LOG.debug("Client connection idle, closing client={}",
                    ctx.channel().remoteAddress());
            ctx.channel().close(); // from the tail: HTTP/2 sends its GOAWAY, TLS its close_notify
        }
    }

    /** A request waits for its response headers, or an HTTP/2 stream is open. */
    private boolean busy() {
        Http2ConnectionHandler h2 = ctx.pipeline().get(Http2ConnectionHandler.class);
        if (h2 != null) {
            return h2.connection().numActiveStreams() > 0;
        }
        if (tunnel) {
            return false;
        }
        IngressFrontendHandler frontend = ctx.pipeline().get(IngressFrontendHandler.class);
        return frontend != null && frontend.awaitingResponse();
    }

    private boolean http2() {
        return ctx.pipeline().get(Http2ConnectionHandler.class) != null;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        timer.cancel(false);
        ctx.fireChannelInactive();
    }
}
