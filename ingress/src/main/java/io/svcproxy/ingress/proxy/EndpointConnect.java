package io.svcproxy.ingress.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.svcproxy.balancer.BackendState;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.Set;

/**
 * How an {@link Exchange}'s request gets onto an endpoint connection: a kept-alive one from the event loop's
 * {@link EndpointPool} or a new one (the PROXY protocol preamble first, when the Service port has one), another
 * endpoint when a connect fails (at most {@link IngressOptions#connectAttempts}, then 502), the head and the body
 * parts read meanwhile sent once it is open ({@link #attach}), and the resend on a fresh connection of a request whose
 * pooled connection the endpoint had closed ({@link #resendOnFreshConnection}). Static helpers on the exchange's
 * fields, as {@link Http1RequestReader} on its handler's: nothing more is made per request. Runs on the client
 * connection's event loop, which owns the endpoint connection too.
 */
final class EndpointConnect {
    /** RFC 9110 9.2.2: the idempotent methods, the only ones resent when the endpoint may have received them. */
    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
            HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);

    private EndpointConnect() {
    }

    /**
     * Sends {@code ex}'s request to {@code picked}.
     *
     * @param reuse    an idle pooled connection may serve it
     * @param flushNow not called from the client's read loop: a pooled connection is flushed at once
     */
    static void connect(Exchange ex, BackendState picked, boolean reuse, boolean flushNow) {
        ex.connectAttempts++;
        ex.backend = picked;
        ex.lease = picked.counters().lease();
        ListenerSettings settings = ex.settings;
        EndpointPool pool = settings.pools().get();
        InetSocketAddress address = picked.socketAddress();
        Channel idle = reuse && ex.pooled ? pool.acquire(address) : null;
        if (idle != null) {
            ex.reused = true;
            attach(ex, idle, flushNow);
            return;
        }
        Channel connection = ex.frontend.connection();
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
                connectDone(ex, f, picked, connectStart);
            } else {
                // a socket Bootstrap could not open (ChannelException: EMFILE, ENOBUFS) fails the connect with a
                // future of GlobalEventExecutor, whose thread runs this listener: back to the connection's loop
                loop.execute(() -> connectDone(ex, f, picked, connectStart));
            }
        });
    }

    /** The connect to {@code picked} ended: the request goes on it, or to the next endpoint, or is answered 502. */
    private static void connectDone(Exchange ex, ChannelFuture f, BackendState picked, long connectStart) {
        Frontend frontend = ex.frontend;
        boolean current = frontend.isCurrent(ex) && frontend.isActive();
        if (f.isSuccess()) {
            ex.outcomes.connected(picked, System.nanoTime() - connectStart);
        } else if (!f.isCancelled() && !(f.cause() instanceof ClosedChannelException)) {
            // not a connect the proxy closed; the outcomes classify the rest (the proxy-server's ConnectErrors, as
            // the TCP relay's): a socket the proxy could not open or bind (EMFILE, EADDRNOTAVAIL) is its own
            // failure, counted as reason "local" and not against the endpoint
            ex.outcomes.connectFailed(picked, f.cause());
        }
        if (!current) {
            ex.lease.release();
            if (f.channel().isRegistered()) {
                // not Bootstrap's channel of a socket never opened (ChannelException), which has no event loop:
                // its close throws IllegalStateException
                f.channel().close();
            }
            return;
        }
        if (!f.isSuccess()) {
            ex.lease.release();
            AccessLog.LOG.debug("Endpoint connect failed endpoint={} cause={}",
                    picked.endpoint(), f.cause().toString());
            ex.pickContext = ex.pickContext.withAvoided(picked);
            BackendState next = ex.set.pick(ex.pickContext);
            if (next == null || next == picked || ex.connectAttempts >= Math.min(
                    ex.settings.options().connectAttempts(), ex.set.backends().size())) {
                frontend.failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
            } else {
                connect(ex, next, !ex.upgrade, true);
            }
            return;
        }
        if (ex.preamble != null) {
            try {
                ex.preamble.write(f.channel(), frontend.connection()); // flushed with the head, by attach
            } catch (RuntimeException e) {
                // a header the encoder refuses: the request cannot go; never left hanging in this listener
                ex.lease.release();
                f.channel().close();
                AccessLog.LOG.debug("Endpoint preamble failed endpoint={} cause={}",
                        picked.endpoint(), e.toString());
                frontend.failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
                return;
            }
        }
        attach(ex, f.channel(), true);
    }

    /**
     * Binds an open outbound connection to the request and sends what was read of it.
     *
     * @param flushNow outside the client's read loop (a connect completed): flush now, not in
     *                 {@link Exchange#flush}
     */
    private static void attach(Exchange ex, Channel ch, boolean flushNow) {
        ex.lease.established();
        ex.outbound = ch;
        ex.endpoint = (InetSocketAddress) ch.remoteAddress();
        // last in the pipeline it was made with (a pooled connection is never a tunnel): no lookup by name
        IngressBackendHandler handler = (IngressBackendHandler) ch.pipeline().last();
        ex.outboundHandler = handler;
        handler.bind(ex);
        // read even if the client takes no more: a response's head is not flow-controlled on HTTP/2, and its timeout
        // runs until it is read (IngressBackendHandler pauses the reads behind the first part the client does not take)
        HttpRequest head = ex.unsentHead;
        if (head != null) {
            ex.unsentHead = null;
            if (ex.preamble != null && !ex.upgrade) {
                // a connection of this request's own (it carries its client's identity): the endpoint is told it
                // ends with the response, so that it closes first (its side keeps the TIME_WAIT, not the proxy's)
                head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            if (ex.reused && !IDEMPOTENT.contains(ex.forwarded.method())) {
                // whether the endpoint can have received the head decides a resend of a non-idempotent request
                // (see resendOnFreshConnection; an idempotent one goes again either way, so its head needs no
                // future); a failed write is reported before the connection's channelInactive
                ch.write(head).addListener((ChannelFuture f) -> {
                    if (!f.isSuccess() && ex.outbound == f.channel()) {
                        ex.headWriteFailed = true;
                    }
                });
            } else {
                ch.write(head, ch.voidPromise());
            }
        }
        ArrayDeque<HttpObject> parts = ex.pending;
        if (parts != null) {
            HttpObject o;
            while ((o = parts.poll()) != null) {
                ch.write(o, ch.voidPromise());
            }
        }
        ex.unflushed = true;
        if (flushNow) {
            ex.flush();
        }
        if (ex.requestEnded) {
            ex.startResponseTimer();
        } else if (ch.isWritable()) {
            ex.frontend.readRequestBody(); // a body paused while connecting goes on
        }
    }

    /**
     * The endpoint closed before any byte of the response. A kept-alive connection the endpoint closed while we
     * reused it (the race of every HTTP/1.1 pool) is no failure of the request: one without body bytes is sent
     * again, once, on a fresh connection to the same endpoint, if its method is idempotent or its head was never
     * written. That includes a request whose body has not ended but none of whose bytes came yet (a PUT waiting for
     * its {@code 100 Continue}): its body goes to the fresh connection as it comes. Returns {@code false} when that
     * does not apply (then 502).
     */
    static boolean resendOnFreshConnection(Exchange ex) {
        if (!ex.reused || ex.bodyBytesSeen || ex.responseStarted) {
            return false;
        }
        // RFC 9110 9.2.2: a non-idempotent request the endpoint may have received is not retried automatically.
        // A failed write of the head is different: a kept-alive connection taken from the pool has an empty send
        // buffer, and a head (far below the socket buffer) goes to the kernel in one write, which takes all of it
        // or fails with none of it sent (EPIPE/ECONNRESET on a reset connection, or a closed channel): nothing
        // reached the endpoint, so any method may go again. A head larger than one write could be partly sent
        // before a later write fails; that is accepted as the rare case (no body bytes were sent in any case).
        if (!ex.headWriteFailed && !IDEMPOTENT.contains(ex.forwarded.method())) {
            return false;
        }
        ex.cancelTimer();
        ex.lease.release();
        ex.outbound = null;
        ex.outboundHandler = null;
        ex.reused = false;
        ex.unsentHead = ex.forwarded;
        ex.headWriteFailed = false;
        if (ex.requestEnded && !(ex.forwarded instanceof FullHttpRequest)) {
            HttpHeaders t = ex.trailers;
            if (t == null) {
                ex.pending().add(LastHttpContent.EMPTY_LAST_CONTENT);
            } else {
                // a chunked request with trailers and no body bytes: the trailers go again too
                LastHttpContent end = new DefaultLastHttpContent();
                end.trailingHeaders().set(t);
                ex.pending().add(end);
            }
        }
        connect(ex, ex.backend, false, true);
        return true;
    }
}
