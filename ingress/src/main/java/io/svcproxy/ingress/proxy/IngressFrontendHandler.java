package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * The requests of one HTTP/1.1 client connection (an HTTP/2 stream has its {@link Http2StreamFrontend}): routes
 * each request, answers the proxy's own 404/503 (and 502/504 from its {@link Exchange}), otherwise starts an {@link Exchange} that picks an endpoint and relays the request.
 * One request at a time. Reading is not paused per request (that costs two {@code epoll_ctl} per request): a
 * client that sends the next request before the response, pipelining, has it decoded and queued, and only then is
 * reading paused until that response has ended; a body is read only as fast as the endpoint's connection takes it.
 * Requests the proxy answers itself are read only while the client's connection is writable: one that pipelines
 * them and reads none of the answers is paused the same way (one writability check per request between requests).
 * A WebSocket upgrade pauses reading at its request's end and takes the request decoder out, so that the client's
 * first frames, if it sends them before the 101, reach the tunnel as sent ({@link RequestDecoding}). The request's
 * parts are flushed to the endpoint once per read loop ({@link #channelReadComplete}).
 * The proxy's own statuses keep the connection open. A connection that closes with its request's body still
 * coming (an early response) lingers first ({@link LingeringClose}).
 *
 * <p>The requests' parts are read by {@link Http1RequestReader}, the proxy's own answers written by
 * {@link Http1Answers}, and the connection's end (HTTP/2, half-close, client gone, failure) handled by
 * {@link Http1ConnectionEnd}: static helpers on this handler's fields, so that a connection is still one object.
 *
 * <p>Runs on the client connection's event loop, which owns the outbound connections too: plain fields.
 */
final class IngressFrontendHandler extends ChannelInboundHandlerAdapter
        implements Frontend, java.util.function.Supplier<PickContext> {
    final ListenerSettings settings;
    Channel inbound;
    /** The request being proxied, from its headers until its response ends; {@code null} between requests. */
    Exchange exchange;
    /**
     * Body parts of a request answered early (by the proxy itself, or by an endpoint before the body's end): dropped
     * until its end, which also ends the request for the request timeout.
     */
    boolean discarding;
    /** The connection closes after the response written ({@link LingeringClose}): nothing more is read as a request. */
    boolean closing;
    /** The request being answered is HTTP/1.0: a kept-alive answer says so ({@code Connection: keep-alive}). */
    boolean http10;
    /** Pipelined messages decoded from the same read as the end of the request in flight, read after its response. */
    final ArrayDeque<Object> queued = new ArrayDeque<>();
    /** When the headers of the request being answered were read (one request is answered at a time). */
    long requestStartNanos;
    /** The connection's timeouts. */
    ClientTimeouts timeouts;
    /**
     * The client shut its side down (half-close, {@code ALLOW_HALF_CLOSURE} on the plain HTTP listener): the
     * requests read so far are answered, then the connection closes.
     */
    boolean inputShutdown;
    /** The listener is shutting down: the request under way is the connection's last ({@link #closeAfterResponse}). */
    boolean draining;
    /** The idle timeout is closing the connection ({@link #idleTimedOut}). */
    boolean idleTimedOut;
    /**
     * The request decoder left at the end of a WebSocket upgrade request ({@link RequestDecoding#stop}): what the
     * client sends next is queued as bytes until the endpoint's answer.
     */
    boolean rawAfterUpgrade;
    /** Per connection, made at its first proxied request: the scheduler's context and X-Forwarded-For's address. */
    private PickContext pickContext;
    private String clientAddress;

    /** Plain HTTP on the HTTPS listener ({@link PlainHttpOnTlsPort}): every request is answered 400. */
    final boolean plainOnTlsPort;

    IngressFrontendHandler(ListenerSettings settings) {
        this(settings, false);
    }

    IngressFrontendHandler(ListenerSettings settings, boolean plainOnTlsPort) {
        this.settings = settings;
        this.plainOnTlsPort = plainOnTlsPort;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        inbound = ctx.channel();
        timeouts = inbound.pipeline().get(ClientTimeouts.class);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg); // decoded from the read that was under way at the close
            return;
        }
        Exchange ex = exchange;
        if (!queued.isEmpty() || (ex == null ? !inbound.isWritable() : ex.requestEnded)) {
            // pipelined behind the request in flight (the rest waits in the socket until its response ends), or
            // the client reads none of the answers written to it: the proxy's own (404, 503, 308) would pile up
            // without bound, so the rest waits until it takes them (channelWritabilityChanged)
            queued.add(msg);
            inbound.config().setAutoRead(false);
            return;
        }
        Http1RequestReader.read(this, msg);
    }

    /** One flush towards the endpoint per read loop, not one per request part. */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Exchange ex = exchange;
        if (ex != null) {
            ex.flush();
        }
        ctx.fireChannelReadComplete();
    }

    /** {@link #pickContext()}, for {@link RequestRouting#route} (the handler itself: nothing made per request). */
    @Override
    public PickContext get() {
        return pickContext();
    }

    /** The scheduler's view of this connection (the same for each of its requests). */
    private PickContext pickContext() {
        PickContext c = pickContext;
        if (c == null) {
            InetSocketAddress client = (InetSocketAddress) inbound.remoteAddress();
            InetSocketAddress local = (InetSocketAddress) inbound.localAddress();
            c = PickContext.of(client.getAddress(), client.getPort(), local.getAddress());
            pickContext = c;
        }
        return c;
    }

    /** The client's address as X-Forwarded-For gives it: IPv6 in its canonical text ({@code ::1}), as nginx's. */
    String clientAddress() {
        String a = clientAddress;
        if (a == null) {
            a = Backends.formatIp(((InetSocketAddress) inbound.remoteAddress()).getAddress());
            clientAddress = a;
        }
        return a;
    }

    @Override
    public boolean isCurrent(Exchange ex) {
        return exchange == ex;
    }

    /**
     * The response's last part was written and flushed to the client (see {@link #endsResponseAtFlush}): the next
     * request may be read.
     */
    @Override
    public void responseEnded(Exchange ex, int status) {
        if (exchange != ex) {
            return;
        }
        exchange = null;
        ex.complete();
        logAccess(ex.request, status, ex.route, ex.backend);
        if (!ex.keepAlive || !ex.requestEnded) {
            // closed once the response is out (the writes before it may still be in the socket's way); an early
            // response (its request's body still coming) lingers first
            discarding = !ex.requestEnded;
            LingeringClose.close(this);
        } else {
            readNext();
        }
    }

    /** The endpoint answered 101 to a WebSocket upgrade: from now on the connection is a byte relay. */
    @Override
    public void upgraded(Exchange ex, HttpResponse switching) {
        exchange = null;
        rawAfterUpgrade = false;
        logAccess(ex.request, HttpResponseStatus.SWITCHING_PROTOCOLS.code(), ex.route, ex.backend);
        // the bytes the client sent before the 101, as it sent them: the tunnel's first
        Tunnel.open(ex, inbound, switching, takeQueued());
    }

    /** Empties the queue into a list of its own (the bytes held since a WebSocket upgrade request's end). */
    private ArrayDeque<Object> takeQueued() {
        ArrayDeque<Object> taken = new ArrayDeque<>(queued);
        queued.clear();
        return taken;
    }

    /** The request in flight has ended: the pipelined messages are read on ({@link #readQueued}). */
    private void readNext() {
        if (!discarding) {
            requestOver(); // else at the dropped body's end (Http1RequestReader)
        }
        if (rawAfterUpgrade) {
            // the endpoint refused the upgrade: HTTP/1.1 goes on, from the bytes held since the request's end
            rawAfterUpgrade = false;
            RequestDecoding.resume(inbound.pipeline(), settings.options(), takeQueued());
        }
        readQueued();
    }

    /**
     * Reads the pipelined messages until one starts a proxied request again, the connection closes, or the client
     * takes no more of the proxy's answers; then the socket, once nothing is queued.
     */
    private void readQueued() {
        Object msg;
        while (!closing && (exchange == null ? inbound.isWritable() : !exchange.requestEnded)
                && (msg = queued.poll()) != null) {
            Http1RequestReader.read(this, msg);
        }
        Exchange ex = exchange;
        if (ex != null) {
            ex.flush(); // outside a read loop: channelReadComplete does not follow
        }
        if (inputShutdown && queued.isEmpty()) {
            Http1ConnectionEnd.closeWhenAnswered(this);
        } else if (queued.isEmpty() && (ex == null || (ex.requestEnded ? !ex.upgrade
                : ex.outbound != null && ex.outbound.isWritable()))) {
            inbound.config().setAutoRead(true);
        }
    }

    @Override
    public void endpointClosedBeforeResponse(Exchange ex) {
        if (exchange == ex && !ex.resendOnFreshConnection()) {
            failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
        }
    }

    @Override
    public void failExchange(Exchange ex, HttpResponseStatus status) {
        if (exchange != ex) {
            return;
        }
        exchange = null;
        ex.abort();
        if (Http1Answers.closeMidResponse(this, ex)) {
            return;
        }
        if (!ex.requestEnded) {
            discarding = true;
        }
        logAccess(ex.request, status.code(), ex.route, ex.backend);
        if (ex.keepAlive && ex.awaitsContinue()) {
            Http1Answers.writeContinue(this); // the body is read and dropped behind the status: asked for first
        }
        Http1Answers.writeStatus(this, status, ex.keepAlive);
        if (ex.keepAlive) {
            readNext();
        }
    }

    /**
     * Relays backpressure: the client's socket drained, so the endpoint is read again (and the other way); between
     * requests, the requests held while the client took no more are read on.
     */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange ex = exchange;
        if (ex != null) {
            if (ex.outbound != null) {
                ex.outbound.config().setAutoRead(inbound.isWritable());
            }
        } else if (!queued.isEmpty() && !closing && inbound.isWritable()) {
            readQueued(); // the requests held while the client took none of the proxy's answers
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** The endpoint's socket drained: read more of the request body. Called by the backend handler. */
    @Override
    public void outboundWritable(Exchange ex, boolean writable) {
        if (exchange == ex && !ex.requestEnded) {
            inbound.config().setAutoRead(writable);
        }
    }

    @Override
    public Channel connection() {
        return inbound;
    }

    @Override
    public boolean isActive() {
        return inbound.isActive();
    }

    @Override
    public boolean isWritable() {
        return inbound.isWritable();
    }

    /** Written without a future of its own: a failed write is this handler's {@link #exceptionCaught}. */
    @Override
    public ChannelFuture write(HttpObject part) {
        return inbound.write(part, inbound.voidPromise());
    }

    @Override
    public void flush() {
        TurnFlush.flushLater(inbound);
    }

    /** The HTTP/1.1 encoder writes a whole response as one buffer: one write. */
    @Override
    public boolean takesWholeResponse() {
        return true;
    }

    /** Writes have no futures here (see {@link #write}); a close waits for the writes before it. */
    @Override
    public boolean endsResponseAtFlush() {
        return true;
    }

    @Override
    public void readRequestBody() {
        inbound.config().setAutoRead(true);
    }

    /** Whether a request waits for its response headers: the idle timeout leaves the connection alone then. */
    boolean awaitingResponse() {
        Exchange ex = exchange;
        return ex != null && ex.awaitingResponse();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        Http1ConnectionEnd.userEventTriggered(this, ctx, evt);
    }

    /**
     * The listener is shutting down and a request is under way ({@link ClientTimeouts#drain}): its response says
     * {@code Connection: close} (unless it has started), and the connection closes after it; pipelined requests
     * behind it are not read.
     */
    void closeAfterResponse() {
        draining = true;
        Exchange ex = exchange;
        if (ex != null) {
            ex.closeAfterResponse();
        }
    }

    /**
     * The idle timeout closes the connection: a request still in flight then (its body stalled, no response yet) was
     * ended by the proxy, counted as {@code 408} (as nginx's {@code client_body_timeout}), not as the client's 499.
     */
    void idleTimedOut() {
        idleTimedOut = true;
        closing = true; // a partial head the decoder hands over at the close is no request of the client's
    }

    /**
     * The request timeout ends the connection with its {@code 408} ({@link ClientTimeouts}): the request is counted
     * and logged as that, as nginx logs its {@code client_header_timeout}, and the partial head the decoder hands
     * over at the close is released, not answered as a malformed request.
     */
    void requestTimedOut(long startNanos) {
        closing = true;
        AccessLog.answered(settings, inbound.remoteAddress(), "http/1.1", null,
                HttpResponseStatus.REQUEST_TIMEOUT.code(), null, null, startNanos);
    }

    /**
     * The request is over (answered, its body read or dropped to its end): the request timeout runs for the next one
     * from now when its first bytes are here already (queued, or held by the request decoder), else from its first
     * byte.
     */
    void requestOver() {
        if (timeouts != null) {
            timeouts.responseEnded(!closing && (!queued.isEmpty() || RequestDecoding.holdsBytes(inbound.pipeline())));
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Http1ConnectionEnd.channelInactive(this, ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Http1ConnectionEnd.exceptionCaught(this, ctx, cause);
    }

    void logAccess(HttpRequest request, int status, Route<ServiceBackend> route, BackendState backend) {
        AccessLog.answered(settings, inbound.remoteAddress(), "http/1.1", request, status, route, backend,
                requestStartNanos);
    }
}
