package io.svcproxy.ingress.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.ScheduledFuture;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Lease;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: routes each request, picks an endpoint of the backend Service port with its scheduler,
 * connects (another endpoint on connect failure, 502 when all failed), relays the request body with backpressure
 * and hands the response to {@link IngressBackendHandler}. One request at a time: reading stops after a request's
 * end until its response has ended, so pipelined requests wait in the socket. The proxy's own 404/502/503/504
 * keep the connection open.
 */
final class IngressFrontendHandler extends ChannelInboundHandlerAdapter {
    static final Logger ACCESS_LOG = LoggerFactory.getLogger("io.svcproxy.ingress.access");

    record Settings(Router<ServiceBackend> router, BackendLookup lookup, long responseTimeoutNanos, String proto,
                    FastThreadLocal<EndpointPool> pools, IngressMetrics metrics) {
    }

    private final Settings settings;
    private Channel inbound;
    /** The request being proxied, from its headers until its response ends; {@code null} between requests. */
    private Exchange exchange;
    /** Body parts of a request answered by the proxy itself: dropped until its end. */
    private boolean discarding;
    /** Pipelined messages decoded from the same read as the end of the request in flight, read after its response. */
    private final ArrayDeque<Object> queued = new ArrayDeque<>();
    /** When the headers of the request being answered were read (one request is answered at a time). */
    private long requestStartNanos;

    IngressFrontendHandler(Settings settings) {
        this.settings = settings;
    }

    /** The state of one proxied request. */
    final class Exchange {
        final HttpRequest request;
        final boolean keepAlive;
        final Route<ServiceBackend> route;
        final ArrayDeque<HttpObject> pending = new ArrayDeque<>();
        PickContext pickContext;
        BackendState backend;
        Lease lease;
        Channel outbound;
        InetSocketAddress endpoint;
        boolean requestEnded;
        boolean responseStarted;
        /** The request's head as sent, the set it was picked from, and what a resend on a fresh connection needs. */
        HttpRequest forwarded;
        BackendSet set;
        boolean reused;
        boolean bodyBytesSeen;
        ScheduledFuture<?> responseTimer;

        Exchange(HttpRequest request, Route<ServiceBackend> route) {
            this.request = request;
            this.keepAlive = HttpUtil.isKeepAlive(request);
            this.route = route;
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        inbound = ctx.channel();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Exchange ex = exchange;
        if (!queued.isEmpty() || (ex != null && ex.requestEnded)) {
            queued.add(msg);
            return;
        }
        read(msg);
    }

    private void read(Object msg) {
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
        if (request.decoderResult().isFailure()) {
            Throwable cause = request.decoderResult().cause();
            respondAndClose(cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                    : cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : HttpResponseStatus.BAD_REQUEST);
            discarding = true;
            return;
        }
        requestStartNanos = System.nanoTime();
        Route<ServiceBackend> route = settings.router().route(request.headers().get(HttpHeaderNames.HOST),
                request.uri());
        if (route == null) {
            respond(request, null, HttpResponseStatus.NOT_FOUND);
            return;
        }
        BackendSet set = settings.lookup().backendSet(route.backend());
        Exchange ex = new Exchange(request, route);
        InetSocketAddress client = (InetSocketAddress) inbound.remoteAddress();
        InetSocketAddress local = (InetSocketAddress) inbound.localAddress();
        ex.pickContext = PickContext.of(client.getAddress(), client.getPort(), local.getAddress());
        BackendState backend = set == null ? null : set.pick(ex.pickContext);
        if (backend == null) {
            respond(request, route, HttpResponseStatus.SERVICE_UNAVAILABLE);
            return;
        }
        HttpRequest forwarded = new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(),
                request.headers().copy());
        ProxyHeaders.removeHopByHop(forwarded.headers());
        ProxyHeaders.addForwarded(forwarded.headers(), client, settings.proto());
        ex.pending.add(forwarded);
        ex.forwarded = forwarded;
        ex.set = set;
        exchange = ex;
        inbound.config().setAutoRead(false);
        connect(ex, set, backend, true);
    }

    private void onContent(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        Exchange ex = exchange;
        if (discarding || ex == null || ex.requestEnded) {
            content.release();
            if (last) {
                discarding = false;
            }
            return;
        }
        if (content.content().isReadable()) {
            ex.bodyBytesSeen = true;
        }
        if (last) {
            ex.requestEnded = true;
            inbound.config().setAutoRead(false); // the next request waits until this response has ended
        }
        if (ex.outbound == null) {
            ex.pending.add(content);
            return;
        }
        ex.outbound.writeAndFlush(content).addListener(outboundWriteListener(ex));
        if (last) {
            startResponseTimer(ex);
        } else if (!ex.outbound.isWritable()) {
            inbound.config().setAutoRead(false);
        }
    }

    private void connect(Exchange ex, BackendSet set, BackendState backend, boolean reuse) {
        ex.backend = backend;
        ex.lease = backend.counters().lease();
        InetSocketAddress endpoint = new InetSocketAddress(backend.address(), backend.port());
        EndpointPool pool = settings.pools().get();
        Channel idle = reuse ? pool.acquire(endpoint) : null;
        if (idle != null) {
            ex.reused = true;
            attach(ex, idle);
            return;
        }
        Bootstrap b = new Bootstrap()
                .group(inbound.eventLoop())
                .channel(inbound.getClass().asSubclass(Channel.class))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .option(ChannelOption.AUTO_READ, true)
                .handler(new io.netty.channel.ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("codec", new HttpClientCodec(HttpIngressServer.MAX_INITIAL_LINE,
                                HttpIngressServer.MAX_HEADER_SIZE, 8192));
                        ch.pipeline().addLast("proxy", new IngressBackendHandler(pool, endpoint));
                    }
                });
        b.connect(endpoint).addListener((ChannelFuture f) -> {
            if (exchange != ex || !inbound.isActive()) {
                ex.lease.release();
                f.channel().close();
                return;
            }
            if (!f.isSuccess()) {
                ex.lease.release();
                ex.pickContext = ex.pickContext.withAvoided(backend);
                BackendState next = set.pick(ex.pickContext);
                if (next == null || next == backend) {
                    failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
                } else {
                    connect(ex, set, next, true);
                }
                return;
            }
            attach(ex, f.channel());
        });
    }

    /** Binds an open outbound connection to the request and sends what was read of it. */
    private void attach(Exchange ex, Channel outbound) {
        ex.lease.established();
        ex.outbound = outbound;
        ex.endpoint = (InetSocketAddress) outbound.remoteAddress();
        outbound.pipeline().get(IngressBackendHandler.class).bind(this, ex);
        outbound.config().setAutoRead(inbound.isWritable());
        HttpObject o;
        while ((o = ex.pending.poll()) != null) {
            outbound.write(o).addListener(outboundWriteListener(ex));
        }
        outbound.flush();
        if (ex.requestEnded) {
            startResponseTimer(ex);
        } else if (outbound.isWritable()) {
            inbound.config().setAutoRead(true);
        }
    }

    private ChannelFutureListener outboundWriteListener(Exchange ex) {
        return f -> {
            if (!f.isSuccess() && exchange == ex) {
                // the endpoint went away while the request was sent: nothing to retry safely
                failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
            }
        };
    }

    private void startResponseTimer(Exchange ex) {
        if (ex.responseTimer == null && !ex.responseStarted) {
            ex.responseTimer = inbound.eventLoop().schedule(() -> {
                if (exchange == ex && !ex.responseStarted) {
                    failExchange(ex, HttpResponseStatus.GATEWAY_TIMEOUT);
                }
            }, settings.responseTimeoutNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** The response headers arrived: the timer stops. Called by the backend handler. */
    void responseStarted(Exchange ex) {
        ex.responseStarted = true;
        if (ex.responseTimer != null) {
            ex.responseTimer.cancel(false);
        }
    }

    /** The response's last part was written to the client: the next request may be read. */
    void responseEnded(Exchange ex, int status) {
        if (exchange != ex) {
            return;
        }
        exchange = null;
        ex.lease.release();
        IngressBackendHandler outboundHandler = ex.outbound.pipeline().get(IngressBackendHandler.class);
        if (ex.requestEnded && outboundHandler != null && outboundHandler.reusable()) {
            outboundHandler.unbind();
            ex.outbound.config().setAutoRead(true); // an idle connection's close is seen
            settings.pools().get().release(ex.endpoint, ex.outbound);
        } else {
            ex.outbound.close();
        }
        logAccess(ex.request, status, ex.route, ex.backend);
        if (!ex.keepAlive || !ex.requestEnded) {
            inbound.close();
        } else {
            readQueued();
        }
    }

    /** Reads the pipelined messages until one starts a proxied request again, then the socket. */
    private void readQueued() {
        Object msg;
        while ((exchange == null || !exchange.requestEnded) && (msg = queued.poll()) != null) {
            read(msg);
        }
        if (exchange == null && queued.isEmpty()) {
            inbound.config().setAutoRead(true);
        }
    }

    /**
     * The endpoint closed before any byte of the response. A kept-alive connection the endpoint closed while we
     * reused it (the race of every HTTP/1.1 pool) is no failure of the request: one without a body is sent again,
     * once, on a fresh connection to the same endpoint. Otherwise 502.
     */
    void endpointClosedBeforeResponse(Exchange ex) {
        if (exchange != ex) {
            return;
        }
        if (!ex.reused || !ex.requestEnded || ex.bodyBytesSeen || ex.responseStarted) {
            failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
            return;
        }
        if (ex.responseTimer != null) {
            ex.responseTimer.cancel(false);
            ex.responseTimer = null;
        }
        ex.lease.release();
        ex.outbound = null;
        ex.reused = false;
        ex.pending.add(ex.forwarded);
        ex.pending.add(LastHttpContent.EMPTY_LAST_CONTENT);
        connect(ex, ex.set, ex.backend, false);
    }

    /** The endpoint failed: a status of our own if the response has not started, else the client is closed. */
    void failExchange(Exchange ex, HttpResponseStatus status) {
        if (exchange != ex) {
            return;
        }
        exchange = null;
        if (ex.responseTimer != null) {
            ex.responseTimer.cancel(false);
        }
        if (ex.lease != null) {
            ex.lease.release();
        }
        if (ex.outbound != null) {
            ex.outbound.close();
        }
        HttpObject o;
        while ((o = ex.pending.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
        if (ex.responseStarted) {
            inbound.close();
            return;
        }
        if (!ex.requestEnded) {
            discarding = true;
        }
        logAccess(ex.request, status.code(), ex.route, ex.backend);
        writeStatus(status, ex.keepAlive);
        if (ex.keepAlive) {
            readQueued();
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
    void outboundWritable(Exchange ex, boolean writable) {
        if (exchange == ex && !ex.requestEnded) {
            inbound.config().setAutoRead(writable);
        }
    }

    Channel inbound() {
        return inbound;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Exchange ex = exchange;
        exchange = null;
        if (ex != null) {
            if (ex.responseTimer != null) {
                ex.responseTimer.cancel(false);
            }
            if (ex.lease != null) {
                ex.lease.release();
            }
            if (ex.outbound != null) {
                ex.outbound.close();
            }
            HttpObject o;
            while ((o = ex.pending.poll()) != null) {
                ReferenceCountUtil.release(o);
            }
        }
        Object msg;
        while ((msg = queued.poll()) != null) {
            ReferenceCountUtil.release(msg);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof java.io.IOException) {
            ACCESS_LOG.debug("Client connection failed client={} cause={}", inbound.remoteAddress(), cause.toString());
            ctx.close();
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    private void respond(HttpRequest request, Route<ServiceBackend> route, HttpResponseStatus status) {
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        discarding = !(request instanceof LastHttpContent);
        logAccess(request, status.code(), route, null);
        writeStatus(status, keepAlive);
    }

    private void respondAndClose(HttpResponseStatus status) {
        writeStatus(status, false);
    }

    private void writeStatus(HttpResponseStatus status, boolean keepAlive) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(status.toString() + "\n", StandardCharsets.US_ASCII));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            inbound.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        } else {
            inbound.writeAndFlush(response);
        }
    }

    private void logAccess(HttpRequest request, int status, Route<ServiceBackend> route, BackendState backend) {
        settings.metrics().requestCompleted(route, status, System.nanoTime() - requestStartNanos);
        if (ACCESS_LOG.isDebugEnabled()) {
            ACCESS_LOG.debug("client={} method={} host={} uri={} status={} ingress={} service={} endpoint={}",
                    inbound.remoteAddress(), request.method(), request.headers().get(HttpHeaderNames.HOST),
                    request.uri(), status, route == null ? "" : route.ingress(),
                    route == null ? "" : route.backend(), backend == null ? "" : backend.endpoint());
        }
    }
}
