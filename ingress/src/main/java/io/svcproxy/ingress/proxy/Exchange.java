package io.svcproxy.ingress.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Lease;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.Set;

/**
 * One request proxied to an endpoint: the endpoint picked by the backend Service port's scheduler, a kept-alive
 * connection from the event loop's {@link EndpointPool} or a new one (another endpoint when a connect fails, 502
 * when all failed), the request's parts sent as they are read (held only while connecting), and the response
 * timer. The response itself is relayed by the outbound connection's {@link IngressBackendHandler}.
 *
 * <p>Runs on the client connection's event loop, which also owns the outbound connection: plain fields.
 */
final class Exchange implements ResponseDeadlines.Expiring {
    /** RFC 9110 9.2.2: the idempotent methods, the only ones resent when the endpoint may have received them. */
    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
            HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);
    /** The client side: an HTTP/1.1 connection or an HTTP/2 stream. */
    final Frontend frontend;
    /**
     * The request as received (for the access log) and as sent (HTTP/1.1, hop-by-hop fields removed, X-Forwarded-*
     * added): the same object with the same headers, rewritten in place, unless the client spoke HTTP/1.0.
     */
    final HttpRequest request;
    final HttpRequest forwarded;
    final Route<ServiceBackend> route;
    final BackendSet set;
    /**
     * What each endpoint connection sends first for this client (the PROXY protocol header), or {@code null}. Such a
     * connection is made for this request and closed after it, never pooled: it carries one client's identity.
     */
    private final BackendLookup.Preamble preamble;
    /** Where the endpoint connects are reported (metrics, the endpoint's health). */
    private final BackendLookup.Outcomes outcomes;
    /** An endpoint connection of this request may come from the pool and go back to it (no tunnel, no preamble). */
    private final boolean pooled;
    /** The client connection goes on after the response; see {@link #closeAfterResponse}. */
    boolean keepAlive;
    /** {@code Upgrade: websocket}: a fresh connection, never pooled; a 101 turns both into a {@link Tunnel}. */
    final boolean upgrade;
    final long startNanos;
    private final ListenerSettings settings;
    /** {@link #forwarded}, until it is written to an outbound connection. */
    private HttpRequest unsentHead;
    /** The request's body parts read before the outbound connection was ready; made only when there are some. */
    private ArrayDeque<HttpObject> pending;
    private PickContext pickContext;
    private int connectAttempts;
    BackendState backend;
    Lease lease;
    Channel outbound;
    /** {@link #outbound}'s handler, last in its pipeline. */
    private IngressBackendHandler outboundHandler;
    InetSocketAddress endpoint;
    boolean requestEnded;
    boolean responseStarted;
    /** The status of the response relayed to the client, once it started (for the access log of a failure after). */
    int responseStatus;
    /** The endpoint's {@code 100 Continue} was relayed to the client. */
    boolean continueRelayed;

    /**
     * The code a request is counted and logged with when its client goes away (closes its connection, resets its
     * stream) before the response started: 499, "client closed request", as nginx and ingress-nginx log it. One whose
     * response started is counted with the status the client got.
     */
    static final int CLIENT_CLOSED_REQUEST = 499;

    /**
     * The code to count and log this exchange with when its client went away before its end: the status the client
     * got, else 408 when the proxy's idle timeout ended it (its body stalled, as nginx's {@code client_body_timeout}),
     * else {@link #CLIENT_CLOSED_REQUEST}.
     */
    int clientGoneStatus(boolean idleTimedOut) {
        return responseStarted ? responseStatus
                : idleTimedOut ? HttpResponseStatus.REQUEST_TIMEOUT.code() : CLIENT_CLOSED_REQUEST;
    }
    /** The outbound connection came from the pool (it may have been closed by the endpoint meanwhile). */
    private boolean reused;
    private boolean bodyBytesSeen;
    /** Parts were written to {@link #outbound} since its last flush. */
    private boolean unflushed;
    /** Writing the head to a reused connection failed: the endpoint did not receive it. */
    private boolean headWriteFailed;
    /** A chunked request's trailers when it had no body bytes (kept for a resend); else null. */
    private HttpHeaders trailers;
    /** The response timeout, while it runs (see {@link ResponseDeadlines}). */
    private ResponseDeadlines.Waiting responseTimer;

    Exchange(Frontend frontend, ListenerSettings settings, HttpRequest request, HttpRequest forwarded,
             Route<ServiceBackend> route, BackendLookup.Target target, PickContext pickContext, boolean upgrade,
             long startNanos) {
        this.frontend = frontend;
        this.settings = settings;
        this.request = request;
        this.forwarded = forwarded;
        this.route = route;
        this.set = target.set();
        this.preamble = target.preamble();
        this.outcomes = target.outcomes();
        this.pooled = !upgrade && preamble == null;
        this.pickContext = pickContext;
        this.keepAlive = HttpUtil.isKeepAlive(request);
        this.upgrade = upgrade;
        this.startNanos = startNanos;
        this.unsentHead = forwarded;
    }

    /** Sends the request to {@code first}, the scheduler's pick; called in the client's read loop (or readNext). */
    void start(BackendState first) {
        connect(first, !upgrade, false);
    }

    /**
     * @param reuse    an idle pooled connection may serve it
     * @param flushNow not called from the client's read loop: a pooled connection is flushed at once
     */
    private void connect(BackendState picked, boolean reuse, boolean flushNow) {
        connectAttempts++;
        backend = picked;
        lease = picked.counters().lease();
        EndpointPool pool = settings.pools().get();
        InetSocketAddress address = picked.socketAddress();
        Channel idle = reuse && pooled ? pool.acquire(address) : null;
        if (idle != null) {
            reused = true;
            attach(idle, flushNow);
            return;
        }
        Channel connection = frontend.connection();
        Bootstrap b = new Bootstrap()
                .group(connection.eventLoop())
                .channel(connection.getClass().asSubclass(Channel.class))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.options().connectTimeout().toMillis())
                .option(ChannelOption.AUTO_READ, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        settings.endpoints().add(ch);
                        IngressOptions o = settings.options();
                        ch.pipeline().addLast("codec", Http1Codecs.client(o));
                        ch.pipeline().addLast(IngressBackendHandler.NAME, new IngressBackendHandler(pool, address));
                    }
                });
        long connectStart = System.nanoTime();
        b.connect(address).addListener((ChannelFuture f) -> {
            EventLoop loop = connection.eventLoop();
            if (loop.inEventLoop()) {
                connectDone(f, picked, connectStart);
            } else {
                // a socket Bootstrap could not open (ChannelException: EMFILE, ENOBUFS) fails the connect with a
                // future of GlobalEventExecutor, whose thread runs this listener: back to the connection's loop
                loop.execute(() -> connectDone(f, picked, connectStart));
            }
        });
    }

    /** The connect to {@code picked} ended: the request goes on it, or to the next endpoint, or is answered 502. */
    private void connectDone(ChannelFuture f, BackendState picked, long connectStart) {
        boolean current = frontend.isCurrent(this) && frontend.isActive();
        if (f.isSuccess()) {
            outcomes.connected(picked, System.nanoTime() - connectStart);
        } else if (!f.isCancelled() && !(f.cause() instanceof ClosedChannelException)) {
            // not a connect the proxy closed; the outcomes classify the rest (the proxy-server's ConnectErrors, as
            // the TCP relay's): a socket the proxy could not open or bind (EMFILE, EADDRNOTAVAIL) is its own
            // failure, counted as reason "local" and not against the endpoint
            outcomes.connectFailed(picked, f.cause());
        }
        if (!current) {
            lease.release();
            f.channel().close();
            return;
        }
        if (!f.isSuccess()) {
            lease.release();
            AccessLog.LOG.debug("Endpoint connect failed endpoint={} cause={}",
                    picked.endpoint(), f.cause().toString());
            pickContext = pickContext.withAvoided(picked);
            BackendState next = set.pick(pickContext);
            if (next == null || next == picked || connectAttempts >= Math.min(settings.options().connectAttempts(),
                    set.backends().size())) {
                frontend.failExchange(this, HttpResponseStatus.BAD_GATEWAY);
            } else {
                connect(next, !upgrade, true);
            }
            return;
        }
        if (preamble != null) {
            try {
                preamble.write(f.channel(), frontend.connection()); // flushed with the head, by attach
            } catch (RuntimeException e) {
                // a header the encoder refuses: the request cannot go; never left hanging in this listener
                lease.release();
                f.channel().close();
                AccessLog.LOG.debug("Endpoint preamble failed endpoint={} cause={}",
                        picked.endpoint(), e.toString());
                frontend.failExchange(this, HttpResponseStatus.BAD_GATEWAY);
                return;
            }
        }
        attach(f.channel(), true);
    }

    /**
     * Binds an open outbound connection to the request and sends what was read of it.
     *
     * @param flushNow outside the client's read loop (a connect completed): flush now, not in {@link #flush}
     */
    private void attach(Channel ch, boolean flushNow) {
        lease.established();
        outbound = ch;
        endpoint = (InetSocketAddress) ch.remoteAddress();
        // last in the pipeline it was made with (a pooled connection is never a tunnel): no lookup by name
        outboundHandler = (IngressBackendHandler) ch.pipeline().last();
        outboundHandler.bind(this);
        // read even if the client takes no more: a response's head is not flow-controlled on HTTP/2, and its timeout
        // runs until it is read (IngressBackendHandler pauses the reads behind the first part the client does not take)
        HttpRequest head = unsentHead;
        if (head != null) {
            unsentHead = null;
            if (preamble != null && !upgrade) {
                // a connection of this request's own (it carries its client's identity): the endpoint is told it
                // ends with the response, so that it closes first (its side keeps the TIME_WAIT, not the proxy's)
                head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            if (reused && !IDEMPOTENT.contains(forwarded.method())) {
                // whether the endpoint can have received the head decides a resend of a non-idempotent request
                // (see resendOnFreshConnection; an idempotent one goes again either way, so its head needs no
                // future); a failed write is reported before the connection's channelInactive
                ch.write(head).addListener((ChannelFuture f) -> {
                    if (!f.isSuccess() && outbound == f.channel()) {
                        headWriteFailed = true;
                    }
                });
            } else {
                ch.write(head, ch.voidPromise());
            }
        }
        ArrayDeque<HttpObject> parts = pending;
        if (parts != null) {
            HttpObject o;
            while ((o = parts.poll()) != null) {
                ch.write(o, ch.voidPromise());
            }
        }
        unflushed = true;
        if (flushNow) {
            flush();
        }
        if (requestEnded) {
            startResponseTimer();
        } else if (ch.isWritable()) {
            frontend.readRequestBody(); // a body paused while connecting goes on
        }
    }

    /** Flushes the parts written to the endpoint since the last flush. */
    void flush() {
        if (unflushed && outbound != null) {
            unflushed = false;
            TurnFlush.flushLater(outbound);
        }
    }

    /** Sends (or holds, while connecting) a part of the request body; {@code true} if more may be read now. */
    boolean send(HttpContent content) {
        if (content.content().isReadable()) {
            bodyBytesSeen = true;
        }
        boolean last = content instanceof LastHttpContent;
        if (last) {
            requestEnded = true;
            if (forwarded instanceof FullHttpRequest) {
                // a bodyless request went as one message, its end included: the decoder's empty end is not sent
                content.release();
                if (outbound != null) {
                    startResponseTimer();
                }
                return false;
            }
        }
        if (outbound == null) {
            pending().add(content);
            return false;
        }
        if (last && !bodyBytesSeen && !((LastHttpContent) content).trailingHeaders().isEmpty()) {
            // for a resend (the part is released once written)
            trailers = ((LastHttpContent) content).trailingHeaders().copy();
        }
        outbound.write(content, outbound.voidPromise());
        unflushed = true;
        if (last) {
            // the request has ended: the response timeout runs from here, flushed or not (SPEC: from the request
            // sent until the response headers). Started before the writability check: an endpoint that takes the
            // request's end slowly and then never answers is a 504, not a client left waiting for good.
            startResponseTimer();
        }
        if (!outbound.isWritable()) {
            // over the high water mark: flush now; if the socket took it all, writability came back already
            flush();
            if (!outbound.isWritable()) {
                return false;
            }
        }
        return !last && outbound.isWritable();
    }

    private void startResponseTimer() {
        if (responseTimer == null && !responseStarted) {
            responseTimer = settings.responseDeadlines().get().arm(this, frontend.connection().eventLoop());
        }
    }

    /** No response headers within the response timeout: 504 (called by {@link ResponseDeadlines}). */
    @Override
    public void responseTimedOut() {
        responseTimer = null;
        if (frontend.isCurrent(this) && !responseStarted) {
            frontend.failExchange(this, HttpResponseStatus.GATEWAY_TIMEOUT);
        }
    }

    /** The response's end is delimited by closing the client connection. */
    void closeAfterResponse() {
        keepAlive = false;
    }

    /** The response's headers arrived, with status {@code code}: the timer stops. */
    void responseStarted(int code) {
        responseStarted = true;
        responseStatus = code;
        cancelTimer();
    }

    /**
     * The response's head was read but is not relayed (its body failed in the same read): the proxy may still
     * answer with a status of its own. The response timer stays stopped; the exchange is failed next.
     */
    void responseNotRelayed() {
        responseStarted = false;
    }

    /**
     * Whether an HTTP/1.1 client may still be waiting for a {@code 100 Continue} before it sends its body
     * ({@code Expect: 100-continue}): the body has not ended, none of its bytes came, and no 100 was relayed. Given a
     * final status instead, such a client may skip its body (RFC 9110 10.1.1) and send its next request on the same
     * connection. On HTTP/2 it resets the stream instead: never.
     */
    boolean awaitsContinue() {
        return !requestEnded && !bodyBytesSeen && !continueRelayed && frontend instanceof IngressFrontendHandler
                && HttpUtil.is100ContinueExpected(request);
    }

    /**
     * Whether a final response relayed now comes before the HTTP/1.1 request's body ended (with or without
     * {@code Expect}): the client connection closes after it, the rest of the body dropped while lingering. On HTTP/2
     * the stream ends on its own: never.
     */
    boolean answersEarly() {
        return !requestEnded && frontend instanceof IngressFrontendHandler;
    }

    /** Whether the request waits for its response headers (the response timer runs). */
    boolean awaitingResponse() {
        return requestEnded && !responseStarted;
    }

    /**
     * The endpoint closed before any byte of the response. A kept-alive connection the endpoint closed while we
     * reused it (the race of every HTTP/1.1 pool) is no failure of the request: one without body bytes is sent
     * again, once, on a fresh connection to the same endpoint, if its method is idempotent or its head was never
     * written. That includes a request whose body has not ended but none of whose bytes came yet (a PUT waiting for
     * its {@code 100 Continue}): its body goes to the fresh connection as it comes. Returns {@code false} when that
     * does not apply (then 502).
     */
    boolean resendOnFreshConnection() {
        if (!reused || bodyBytesSeen || responseStarted) {
            return false;
        }
        // RFC 9110 9.2.2: a non-idempotent request the endpoint may have received is not retried automatically.
        // A failed write of the head is different: a kept-alive connection taken from the pool has an empty send
        // buffer, and a head (far below the socket buffer) goes to the kernel in one write, which takes all of it
        // or fails with none of it sent (EPIPE/ECONNRESET on a reset connection, or a closed channel): nothing
        // reached the endpoint, so any method may go again. A head larger than one write could be partly sent
        // before a later write fails; that is accepted as the rare case (no body bytes were sent in any case).
        if (!headWriteFailed && !IDEMPOTENT.contains(forwarded.method())) {
            return false;
        }
        cancelTimer();
        lease.release();
        outbound = null;
        outboundHandler = null;
        reused = false;
        unsentHead = forwarded;
        headWriteFailed = false;
        if (requestEnded && !(forwarded instanceof FullHttpRequest)) {
            HttpHeaders t = trailers;
            if (t == null) {
                pending().add(LastHttpContent.EMPTY_LAST_CONTENT);
            } else {
                // a chunked request with trailers and no body bytes: the trailers go again too
                LastHttpContent end = new DefaultLastHttpContent();
                end.trailingHeaders().set(t);
                pending().add(end);
            }
        }
        connect(backend, false, true);
        return true;
    }

    private ArrayDeque<HttpObject> pending() {
        ArrayDeque<HttpObject> p = pending;
        if (p == null) {
            pending = p = new ArrayDeque<>(4);
        }
        return p;
    }

    /** The response ended: the outbound connection goes back to the pool when both sides keep it, else closes. */
    void complete() {
        lease.release();
        IngressBackendHandler handler = outboundHandler;
        if (requestEnded && handler.reusable() && pooled) {
            handler.unbind();
            outbound.config().setAutoRead(true); // an idle connection's close is seen (if it was paused)
            settings.pools().get().release(endpoint, outbound);
        } else {
            outbound.close();
        }
    }

    /**
     * The endpoint left its Service port and its drain outlived {@code drainTimeout} ({@link EndpointConnections#cut}):
     * its connection is reset, and the client gets the proxy's 502, or, when the response had started, a response cut
     * short (its connection reset, or its HTTP/2 stream), as the relay resets its connections then.
     */
    void cut() {
        Channel out = outbound;
        AccessLog.LOG.debug("Drain timeout: request cut endpoint={}", backend.endpoint());
        Resets.onClose(out);
        frontend.failExchange(this, HttpResponseStatus.BAD_GATEWAY);
        out.close(); // closed by the failure already, unless the client had gone meanwhile
    }

    /** Gives everything up: timer, claim, outbound connection, parts not sent. */
    void abort() {
        cancelTimer();
        if (lease != null) {
            lease.release();
        }
        if (outbound != null) {
            outbound.close();
        }
        if (unsentHead != null) {
            ReferenceCountUtil.release(unsentHead);
            unsentHead = null;
        }
        ArrayDeque<HttpObject> parts = pending;
        if (parts != null) {
            HttpObject o;
            while ((o = parts.poll()) != null) {
                ReferenceCountUtil.release(o);
            }
        }
    }

    private void cancelTimer() {
        if (responseTimer != null) {
            settings.responseDeadlines().get().disarm(responseTimer);
            responseTimer = null;
        }
    }
}
