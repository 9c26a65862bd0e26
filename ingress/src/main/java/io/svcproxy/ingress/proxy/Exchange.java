package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
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
import java.util.ArrayDeque;

/**
 * One request proxied to an endpoint: the endpoint picked by the backend Service port's scheduler, the request's
 * parts sent as they are read (held only while connecting), the response timer, and the endpoint connection's end
 * (back to the pool, closed, cut). The connection is got by {@link EndpointConnect} (a kept-alive one from the event
 * loop's {@link EndpointPool} or a new one, another endpoint when a connect fails, 502 when all failed, a resend on a
 * fresh connection); the response is relayed by the outbound connection's {@link IngressBackendHandler}.
 *
 * <p>Runs on the client connection's event loop, which also owns the outbound connection: plain fields.
 */
final class Exchange implements ResponseDeadlines.Expiring {
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
    final BackendLookup.Preamble preamble;
    /** Where the endpoint connects are reported (metrics, the endpoint's health). */
    final BackendLookup.Outcomes outcomes;
    /** An endpoint connection of this request may come from the pool and go back to it (no tunnel, no preamble). */
    final boolean pooled;
    /** The client connection goes on after the response; see {@link #closeAfterResponse}. */
    boolean keepAlive;
    /** {@code Upgrade: websocket}: a fresh connection, never pooled; a 101 turns both into a {@link Tunnel}. */
    final boolean upgrade;
    final long startNanos;
    final ListenerSettings settings;
    /** {@link #forwarded}, until it is written to an outbound connection. */
    HttpRequest unsentHead;
    /** The request's body parts read before the outbound connection was ready; made only when there are some. */
    ArrayDeque<HttpObject> pending;
    /** The scheduler's view (failed endpoints avoided) and the connects made ({@link EndpointConnect}). */
    PickContext pickContext;
    int connectAttempts;
    BackendState backend;
    Lease lease;
    Channel outbound;
    /** {@link #outbound}'s handler, last in its pipeline. */
    IngressBackendHandler outboundHandler;
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
    boolean reused;
    boolean bodyBytesSeen;
    /** Parts were written to {@link #outbound} since its last flush. */
    boolean unflushed;
    /** Writing the head to a reused connection failed: the endpoint did not receive it. */
    boolean headWriteFailed;
    /** A chunked request's trailers when it had no body bytes (kept for a resend); else null. */
    HttpHeaders trailers;
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
        EndpointConnect.connect(this, first, !upgrade, false);
    }

    /** See {@link EndpointConnect#resendOnFreshConnection}: {@code false} when it does not apply (then 502). */
    boolean resendOnFreshConnection() {
        return EndpointConnect.resendOnFreshConnection(this);
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

    void startResponseTimer() {
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

    ArrayDeque<HttpObject> pending() {
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

    void cancelTimer() {
        if (responseTimer != null) {
            settings.responseDeadlines().get().disarm(responseTimer);
            responseTimer = null;
        }
    }
}
