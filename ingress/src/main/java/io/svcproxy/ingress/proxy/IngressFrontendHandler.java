package io.svcproxy.ingress.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.RequestPath;
import io.svcproxy.ingress.routing.Route;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * The requests of one HTTP/1.1 client connection (an HTTP/2 stream has its {@link Http2StreamFrontend}): routes
 * each request, answers the proxy's own 404/503 (and 502/504 from its {@link Exchange}), otherwise starts an {@link Exchange} that picks an endpoint and relays the request.
 * One request at a time. Reading is not paused per request (that costs two {@code epoll_ctl} per request): a
 * client that sends the next request before the response, pipelining, has it decoded and queued, and only then is
 * reading paused until that response has ended; a body is read only as fast as the endpoint's connection takes it.
 * A WebSocket upgrade pauses reading at its request's end and takes the request decoder out, so that the client's
 * first frames, if it sends them before the 101, reach the tunnel as sent ({@link RequestDecoding}). The request's
 * parts are flushed to the endpoint once per read loop ({@link #channelReadComplete}).
 * The proxy's own statuses keep the connection open.
 *
 * <p>Runs on the client connection's event loop, which owns the outbound connections too: plain fields.
 */
final class IngressFrontendHandler extends ChannelInboundHandlerAdapter
        implements Frontend, java.util.function.Supplier<PickContext> {
    private final ListenerSettings settings;
    private Channel inbound;
    /** The request being proxied, from its headers until its response ends; {@code null} between requests. */
    private Exchange exchange;
    /** Body parts of a request answered by the proxy itself: dropped until its end. */
    private boolean discarding;
    /** The request being answered is HTTP/1.0: a kept-alive answer says so ({@code Connection: keep-alive}). */
    private boolean http10;
    /** Pipelined messages decoded from the same read as the end of the request in flight, read after its response. */
    private final ArrayDeque<Object> queued = new ArrayDeque<>();
    /** When the headers of the request being answered were read (one request is answered at a time). */
    private long requestStartNanos;
    /** The connection's timeouts. */
    private ClientTimeouts timeouts;
    /**
     * The client shut its side down (half-close, {@code ALLOW_HALF_CLOSURE} on the plain HTTP listener): the
     * requests read so far are answered, then the connection closes.
     */
    private boolean inputShutdown;
    /** The listener is shutting down: the request under way is the connection's last ({@link #closeAfterResponse}). */
    private boolean draining;
    /** The idle timeout is closing the connection ({@link #idleTimedOut}). */
    private boolean idleTimedOut;
    /**
     * The request decoder left at the end of a WebSocket upgrade request ({@link RequestDecoding#stop}): what the
     * client sends next is queued as bytes until the endpoint's answer.
     */
    private boolean rawAfterUpgrade;
    /** Per connection, made at its first proxied request: the scheduler's context and X-Forwarded-For's address. */
    private PickContext pickContext;
    private String clientAddress;

    IngressFrontendHandler(ListenerSettings settings) {
        this.settings = settings;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        inbound = ctx.channel();
        timeouts = inbound.pipeline().get(ClientTimeouts.class);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Exchange ex = exchange;
        if (!queued.isEmpty() || (ex != null && ex.requestEnded)) {
            queued.add(msg);
            inbound.config().setAutoRead(false); // pipelined: the rest waits in the socket until the response ends
            return;
        }
        read(msg);
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

    private void read(Object msg) {
        if (msg instanceof FullHttpRequest full) {
            // a request the h2c upgrade handler aggregated and did not upgrade: the head, then its end as a part
            HttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(),
                    full.headers());
            head.setDecoderResult(full.decoderResult());
            onRequest(head);
            onContent(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
            return;
        }
        if (msg instanceof HttpRequest request) {
            onRequest(request);
        }
        if (msg instanceof HttpContent content) {
            onContent(content);
        } else if (!(msg instanceof HttpRequest)) {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onRequest(HttpRequest request) {
        if (timeouts != null) {
            timeouts.requestHeadRead();
        }
        requestStartNanos = System.nanoTime();
        http10 = HttpVersion.HTTP_1_0.equals(request.protocolVersion());
        HttpResponseStatus invalid = Http1Requests.refusal(request, settings.options());
        // routed by its normal form (RequestPath), forwarded as received
        String path = invalid == null ? RequestPath.of(request.uri()) : null;
        if (path == null) {
            HttpResponseStatus status = invalid == null ? HttpResponseStatus.BAD_REQUEST : invalid;
            logAccess(request, status.code(), null, null);
            writeStatus(status, false);
            discarding = true;
            return;
        }
        RequestRouting.Decision routed = RequestRouting.route(settings, request.headers().get(HttpHeaderNames.HOST),
                path, request.uri(), this);
        if (routed.status() != null) {
            respond(request, routed.route(), routed.status(), routed.location());
            return;
        }
        boolean upgrade = ProxyHeaders.isWebSocketUpgrade(request);
        // forwarded with its own headers, rewritten in place once the exchange has read its Connection and Expect
        // fields (the access log reads only its method, target and Host afterwards)
        HttpRequest forwarded = Http1Requests.forwarded(request);
        Exchange ex = new Exchange(this, settings, request, forwarded, routed.route(), routed.target(),
                routed.pickContext(), upgrade, requestStartNanos);
        ProxyHeaders.removeHopByHop(forwarded.headers(), upgrade);
        ProxyHeaders.addForwarded(forwarded.headers(), clientAddress(), settings.proto());
        if (draining) {
            ex.closeAfterResponse();
        }
        exchange = ex;
        ex.start(routed.backend());
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

    /** The client's address as X-Forwarded-For gives it. */
    private String clientAddress() {
        String a = clientAddress;
        if (a == null) {
            a = ((InetSocketAddress) inbound.remoteAddress()).getAddress().getHostAddress();
            clientAddress = a;
        }
        return a;
    }

    private void onContent(HttpContent content) {
        if (content.decoderResult().isFailure()) {
            content.release();
            malformedBody();
            return;
        }
        boolean last = content instanceof LastHttpContent;
        Exchange ex = exchange;
        if (discarding || ex == null || ex.requestEnded) {
            content.release();
            if (last) {
                discarding = false;
            }
            return;
        }
        boolean more = ex.send(content);
        if (last ? ex.upgrade : !more) {
            inbound.config().setAutoRead(false);
        }
        if (last && ex.upgrade) {
            // what the client sent after its upgrade request (its first frames, if it did not wait for the 101)
            // comes raw from now on, queued for the tunnel or decoded again if the endpoint refuses
            rawAfterUpgrade = true;
            RequestDecoding.stop(inbound.pipeline());
        }
    }

    /**
     * The decoder failed inside a request's body (a malformed chunk; it reads nothing more of this connection). The
     * request is not completed towards the endpoint (its connection closes), the client gets a 400 if no response
     * to it started, and its connection closes.
     */
    private void malformedBody() {
        Exchange ex = exchange;
        exchange = null;
        discarding = false;
        inbound.config().setAutoRead(false);
        if (ex == null) {
            // the proxy answered the request itself already: closed behind that answer
            inbound.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ex.abort();
        if (closeMidResponse(ex)) {
            return;
        }
        logAccess(ex.request, HttpResponseStatus.BAD_REQUEST.code(), ex.route, ex.backend);
        writeStatus(HttpResponseStatus.BAD_REQUEST, false);
    }

    /**
     * Ends the client's connection when the response to {@code ex} had started (its status and part of its body went
     * out, so no status can follow): counted and logged as answered, with the status the client got. Returns whether
     * it did.
     */
    private boolean closeMidResponse(Exchange ex) {
        if (!ex.responseStarted) {
            return false;
        }
        logAccess(ex.request, ex.responseStatus, ex.route, ex.backend);
        inbound.close();
        return true;
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
            // closed once the response is out (the writes before it may still be in the socket's way)
            inbound.config().setAutoRead(false);
            inbound.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
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

    /** Reads the pipelined messages until one starts a proxied request again, then the socket. */
    private void readNext() {
        if (timeouts != null) {
            timeouts.responseEnded();
        }
        if (rawAfterUpgrade) {
            // the endpoint refused the upgrade: HTTP/1.1 goes on, from the bytes held since the request's end
            rawAfterUpgrade = false;
            RequestDecoding.resume(inbound.pipeline(), settings.options(), takeQueued());
        }
        Object msg;
        while ((exchange == null || !exchange.requestEnded) && (msg = queued.poll()) != null) {
            read(msg);
        }
        Exchange ex = exchange;
        if (ex != null) {
            ex.flush(); // outside a read loop: channelReadComplete does not follow
        }
        if (inputShutdown && queued.isEmpty()) {
            closeWhenAnswered();
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
        if (closeMidResponse(ex)) {
            return;
        }
        if (!ex.requestEnded) {
            discarding = true;
        }
        logAccess(ex.request, status.code(), ex.route, ex.backend);
        writeStatus(status, ex.keepAlive);
        if (ex.keepAlive) {
            readNext();
        }
    }

    /** Relays backpressure: the client's socket drained, so the endpoint is read again (and the other way). */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange ex = exchange;
        if (ex != null && ex.outbound != null) {
            ex.outbound.config().setAutoRead(inbound.isWritable());
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
        if (evt instanceof HttpServerUpgradeHandler.UpgradeEvent
                || evt instanceof CleartextHttp2ServerUpgradeHandler.PriorKnowledgeUpgradeEvent) {
            // the connection speaks HTTP/2 now: each stream has its own handler, and a client's FIN ends it
            inbound.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
            ctx.pipeline().remove(this);
            if (draining && timeouts != null) {
                // a drain came while the preface or the upgrade request was read: drained again, now as HTTP/2
                ctx.fireUserEventTriggered(evt);
                timeouts.drain();
                return;
            }
        } else if (evt instanceof ChannelInputShutdownEvent) {
            inputShutdown = true;
            if (queued.isEmpty()) {
                closeWhenAnswered();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * After the client's half-close: closes now if no request is in flight (or one whose body can no longer
     * arrive whole), else after its response.
     */
    private void closeWhenAnswered() {
        Exchange ex = exchange;
        if (ex == null) {
            inbound.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else if (!ex.requestEnded) {
            inbound.close();
        } else {
            ex.closeAfterResponse();
        }
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
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Exchange ex = exchange;
        exchange = null;
        if (ex != null) {
            // the client went away (or went idle) with its request unanswered or its response unfinished: still a
            // request
            ex.abort();
            logAccess(ex.request, ex.clientGoneStatus(idleTimedOut), ex.route, ex.backend);
        }
        Object msg;
        while ((msg = queued.poll()) != null) {
            ReferenceCountUtil.release(msg);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // a failed read or write (the responses' writes have no futures: their failures come here) leaves the
        // connection in no state to go on: it closes either way, and an exception that is not the network's goes
        // on to be logged
        ctx.close();
        if (cause instanceof java.io.IOException) {
            AccessLog.LOG.debug("Client connection failed client={} cause={}", inbound.remoteAddress(), cause.toString());
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    /** Answers with a status of the proxy's own; {@code location}: a redirect's target, else {@code null}. */
    private void respond(HttpRequest request, Route<ServiceBackend> route, HttpResponseStatus status,
                         String location) {
        boolean keepAlive = !draining && HttpUtil.isKeepAlive(request);
        discarding = !(request instanceof LastHttpContent);
        logAccess(request, status.code(), route, null);
        writeStatus(status, keepAlive, location);
        if (timeouts != null) {
            timeouts.responseEnded();
        }
    }

    private void writeStatus(HttpResponseStatus status, boolean keepAlive) {
        writeStatus(status, keepAlive, null);
    }

    private void writeStatus(HttpResponseStatus status, boolean keepAlive, String location) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(status.toString() + "\n", StandardCharsets.US_ASCII));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        // the proxy answers as an origin server here: it dates its answer (RFC 9110 6.6.1), as nginx does
        response.headers().set(HttpHeaderNames.DATE, DateFormatter.format(new java.util.Date()));
        if (location != null) {
            response.headers().set(HttpHeaderNames.LOCATION, location);
        }
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            inbound.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        } else {
            if (http10) {
                // an HTTP/1.0 client closes unless told the connection persists (RFC 9112 9.3, C.2.2)
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            inbound.writeAndFlush(response);
        }
    }

    private void logAccess(HttpRequest request, int status, Route<ServiceBackend> route, BackendState backend) {
        AccessLog.answered(settings, inbound.remoteAddress(), "http/1.1", request, status, route, backend,
                requestStartNanos);
    }
}
