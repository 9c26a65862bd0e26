package io.svcproxy.ingress.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The request and idle timeouts of one client connection, first in its pipeline or right behind TLS (so it sees
 * the plain bytes and its 408 is encrypted).
 * <ul>
 *   <li>Request: from the first byte after the previous request's end (its response, and its body's end when the
 *       proxy answered before it and drops the rest; or the connection's start), or from that end when the byte
 *       came before it (pipelined, or sent before the response ended), until {@link IngressFrontendHandler} has the
 *       request's headers; then {@code 408} (counted and logged as such) and close (slow header senders hold no
 *       connection for long).
 *   <li>Idle: no byte read or written for {@code idleTimeout} closes the connection, unless a request waits for
 *       its response headers (the response timeout governs that; on HTTP/2, a stream whose request was read whole
 *       and whose response headers are not sent). On HTTP/2 the same timeout also ends each stream on its own: one
 *       with no DATA either way for it (its request body stalled, or the client stopped reading its response, its
 *       flow-control window shut) is ended, its request counted 408 when no response had started
 *       ({@link Http2IngressHandler#endIdleStreams}), whatever the connection's other streams and PINGs do, as
 *       nginx's {@code client_body_timeout} and {@code send_timeout} count per stream.
 * </ul>
 * One periodic check per connection, every half of the shorter timeout, instead of a timer per request. The checks
 * are counted (ticks), and reads and writes note the tick they happened in instead of reading the clock: a request
 * costs a few field writes. The checks run with a fixed delay, so between the end of a tick and a check {@code n}
 * ticks later at least {@code n - 1} periods passed: a timeout fires after its value has passed, and no later than
 * one period past its value rounded up to whole periods: between its value and one and a half times it for a
 * timeout that is a whole number of periods (the shorter one always is; the defaults, 30 s and 120 s, both are),
 * up to nearly twice it for a longer timeout that is not (a request timeout of 30 s and an idle timeout of 31 s:
 * the idle one fires between 45 and 60 s).
 * Runs on the connection's event loop: plain fields.
 */
final class ClientTimeouts extends ChannelDuplexHandler {
    private static final byte[] REQUEST_TIMEOUT = ("HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n"
            + "Content-Length: 20\r\nConnection: close\r\n\r\n408 Request Timeout\n").getBytes(StandardCharsets.US_ASCII);

    private final long periodNanos;
    /** The timeouts in whole periods, rounded up. */
    private final long requestTicks;
    private final long idleTicks;
    private ChannelHandlerContext ctx;
    /** Checks run so far; an event between check {@code n} and {@code n + 1} happened in tick {@code n}. */
    private long ticks;
    /** A request has its headers read and its response not yet ended. */
    private boolean inRequest;
    /** Bytes of a request head arrived in tick {@link #headStart}; its headers are not decoded yet. */
    private boolean headStarted;
    private long headStart;
    /**
     * The connection carries no more requests: it is a WebSocket tunnel, or it lingers before its close
     * ({@link LingeringClose}, which bounds it itself). Only the idle timeout applies, and a drain leaves it be.
     */
    private boolean requestsOver;
    /** The tick of the last byte read or written. */
    private long lastActivity;
    private ScheduledFuture<?> timer;

    ClientTimeouts(IngressOptions options) {
        long requestTimeoutNanos = options.requestTimeout().toNanos();
        long idleTimeoutNanos = options.idleTimeout().toNanos();
        this.periodNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(10),
                Math.min(requestTimeoutNanos, idleTimeoutNanos) / 2);
        this.requestTicks = ceilDiv(requestTimeoutNanos, periodNanos);
        this.idleTicks = ceilDiv(idleTimeoutNanos, periodNanos);
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        timer = ctx.executor().scheduleWithFixedDelay(this::check, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        long now = ticks;
        lastActivity = now;
        if (!inRequest && !headStarted && !requestsOver) {
            headStarted = true;
            headStart = now;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        lastActivity = ticks;
        ctx.write(msg, promise);
    }

    /** The checks run so far: the tick an event now happens in. */
    long tick() {
        return ticks;
    }

    /** The frontend has the request's headers. */
    void requestHeadRead() {
        inRequest = true;
        headStarted = false;
    }

    /**
     * The request was answered and its body read (or dropped) to its end; the next one's timer starts now if
     * {@code nextStarted} (its first bytes were read while this one was in flight: sent before its response ended,
     * pipelined), else with its first byte.
     */
    void responseEnded(boolean nextStarted) {
        inRequest = false;
        lastActivity = ticks;
        if (nextStarted && !requestsOver) {
            headStarted = true;
            headStart = ticks;
        }
    }

    /** The connection became a byte relay. */
    void tunnel() {
        requestsOver();
    }

    /** The connection lingers before its close: what the client still sends is no request. */
    void lingering() {
        requestsOver();
    }

    private void requestsOver() {
        requestsOver = true;
        inRequest = false;
        headStarted = false;
    }

    /** Whether more than {@code timeoutTicks} whole periods passed since the end of tick {@code since}. */
    private boolean passed(long since, long now, long timeoutTicks) {
        return now - since - 1 >= timeoutTicks;
    }

    private void check() {
        if (!ctx.channel().isActive()) {
            timer.cancel(false);
            return;
        }
        long now = ++ticks;
        if (headStarted && passed(headStart, now, requestTicks) && !http2()) {
            headStarted = false;
            AccessLog.LOG.debug("Request headers timed out client={}",
                    ctx.channel().remoteAddress());
            IngressFrontendHandler frontend = ctx.pipeline().get(IngressFrontendHandler.class);
            if (frontend != null) {
                // counted and logged as the 408 it is (the start: the head's tick, to within a period)
                frontend.requestTimedOut(System.nanoTime() - (now - headStart) * periodNanos);
            }
            ctx.writeAndFlush(Unpooled.wrappedBuffer(REQUEST_TIMEOUT)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        Http2IngressHandler streams = ctx.pipeline().get(Http2IngressHandler.class);
        if (streams != null) {
            streams.endIdleStreams(since -> passed(since, now, idleTicks));
        }
        if (passed(lastActivity, now, idleTicks) && !busy()) {
            if (ctx.pipeline().context("alpn") != null) {
                // still in its TLS handshake (ALPN has not chosen): the handshake timed out, and is counted so
                // (ClientPipelines' Negotiation closes it), not as a client that went away
                ctx.fireExceptionCaught(new SslHandshakeTimeoutException("TLS handshake idle for the idle timeout"));
                ctx.channel().close();
                return;
            }
            AccessLog.LOG.debug("Client connection idle, closing client={}",
                    ctx.channel().remoteAddress());
            IngressFrontendHandler frontend = ctx.pipeline().get(IngressFrontendHandler.class);
            if (frontend != null) {
                frontend.idleTimedOut(); // a request still being sent is the proxy's 408, not the client's 499
            }
            ctx.channel().close(); // from the tail: HTTP/2 sends its GOAWAY, TLS its close_notify
        }
    }

    /**
     * The listener is shutting down ({@link IngressServer#drain}): the connection ends as soon as it can without
     * cutting a request. HTTP/2 sends GOAWAY with the last stream it took (RFC 9113 6.8), finishes those streams,
     * then closes; HTTP/1.1 between requests closes now, and a request under way (its first bytes read) gets its
     * response with {@code Connection: close}, then the connection closes; a connection still in its TLS handshake
     * closes. A WebSocket tunnel goes on until either side ends it or the drain timeout does; a connection that
     * lingers before its close ({@link LingeringClose}) until its linger ends.
     */
    void drain() {
        if (!ctx.channel().isActive() || requestsOver) {
            return;
        }
        Http2ConnectionHandler h2 = ctx.pipeline().get(Http2ConnectionHandler.class);
        if (h2 != null) {
            // from the tail: Netty's HTTP/2 handler sends the GOAWAY and waits for the streams, as long as they take
            // (the drain timeout ends them; its own 30 s is for the idle timeout's close)
            h2.gracefulShutdownTimeoutMillis(-1);
            ctx.channel().close();
            return;
        }
        IngressFrontendHandler frontend = ctx.pipeline().get(IngressFrontendHandler.class);
        if (frontend == null) {
            ctx.channel().close(); // no protocol yet: the TLS handshake, or ALPN's choice
            return;
        }
        // the request under way, or one that starts before the close, is the last (an h2c upgrade that completes
        // meanwhile closes the HTTP/2 connection gracefully: IngressFrontendHandler)
        frontend.closeAfterResponse();
        if (!inRequest && !headStarted) {
            // between requests: closed once what was written is out (a response that just ended may not be flushed
            // yet), TLS with its close_notify
            ctx.channel().config().setAutoRead(false);
            ctx.channel().writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * A request waits for its response headers: on HTTP/1.1 the one in progress, on HTTP/2 a stream whose request was
     * read whole and whose response headers are not sent yet. Once a response is under way, its bytes are the
     * activity: a client that stops reading it (or an endpoint that stops sending it) leaves the connection idle.
     */
    private boolean busy() {
        Http2ConnectionHandler h2 = ctx.pipeline().get(Http2ConnectionHandler.class);
        if (h2 != null) {
            try {
                // the visit stops at the first stream whose response headers are the proxy's turn
                return h2.connection().forEachActiveStream(stream -> stream.state() != Http2Stream.State
                        .HALF_CLOSED_REMOTE || stream.isHeadersSent()) != null;
            } catch (Http2Exception e) {
                return true; // the visitor throws nothing; if the connection's state does, it is not idle
            }
        }
        if (requestsOver) {
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
