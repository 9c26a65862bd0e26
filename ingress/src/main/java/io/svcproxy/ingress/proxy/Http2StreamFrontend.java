package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.RequestPath;
import io.svcproxy.ingress.routing.Route;

/**
 * One HTTP/2 stream's request, handled on its connection's {@link Http2IngressHandler}: its HEADERS become an
 * HTTP/1.1 request (Netty's {@link HttpConversionUtil}), routed and relayed by an {@link Exchange} to an endpoint
 * the Service port's scheduler picks for this stream; its DATA frames follow as the request body, and their bytes go
 * back to the client's flow-control window only once the endpoint's connection takes them (so a stream holds at
 * most its window, never a whole body). While that connection takes no more, the frames' bytes are copied into one
 * buffer, so what a stream holds is counted in bytes, whatever the size of the client's frames. The response is
 * written back as HEADERS and DATA frames; the endpoint's connection is read only while the stream's window and the
 * client's socket take more. The proxy's own statuses
 * (400, 404, 431, 502, 503, 504) end the stream, never the connection; a client's RST_STREAM gives the endpoint
 * connection up.
 *
 * <p>The request's head is taken by {@link Http2Requests}, its body by {@link Http2RequestBody}, the response's
 * frames are written by {@link Http2ResponseFrames} and the proxy's own answers by {@link Http2Answers}: static
 * helpers on this stream's fields, so that a stream is still one object.
 *
 * <p>Runs on the connection's event loop: plain fields.
 */
final class Http2StreamFrontend implements Frontend {
    final Http2IngressHandler connection;
    final Http2Stream stream;
    /** The request as forwarded (X-Forwarded-* added); its method, Host and path are the access log's. */
    private HttpRequest request;
    /** The request being proxied; {@code null} before it starts and once it is answered or given up. */
    Exchange exchange;
    private long startNanos;
    /** Request body bytes read but not yet given back to the client's window: the endpoint did not take them yet. */
    int held;
    /**
     * Request body bytes read while the endpoint's connection took no more (over its high water mark, or not
     * connected yet), copied into one buffer; {@code null} when there are none. Sent when it takes more again.
     */
    ByteBuf queued;
    /** The request is answered (or given up): body parts still arriving are dropped. */
    boolean discarding;
    /** The response's last part was written: the endpoint's read reports the end, even if the stream closes first. */
    boolean responseWritten;
    /** The write of the response's last frame, which a reset after an early response must follow. */
    ChannelFuture lastWrite;
    boolean closed;
    /** Netty's decoder reset the stream for a malformed frame (a body not of its content-length): a 400, not a 499. */
    boolean malformed;
    /** The connection's timeout tick of the stream's last DATA either way, or of its request's head. */
    long lastActivity;

    Http2StreamFrontend(Http2IngressHandler connection, Http2Stream stream) {
        this.connection = connection;
        this.stream = stream;
    }

    /** The request's HEADERS: refused, answered by the proxy, or relayed to the picked endpoint. */
    void onRequestHeaders(Http2Headers headers, boolean endOfStream) {
        startNanos = System.nanoTime();
        lastActivity = connection.tick();
        ListenerSettings settings = connection.settings();
        HttpRequest req = Http2Requests.toHttp1(stream.id(), headers, endOfStream);
        if (req == null) {
            answer(HttpResponseStatus.BAD_REQUEST);
            return;
        }
        request = req;
        HttpResponseStatus refused = Http2Requests.refusal(req, settings.options());
        if (refused != null) {
            answer(refused);
            return;
        }
        String path = RequestPath.of(req.uri()); // routed by its normal form, forwarded as received
        if (path == null) {
            answer(HttpResponseStatus.BAD_REQUEST);
            return;
        }
        HttpHeaders h = req.headers();
        RequestRouting.Decision routed = RequestRouting.route(settings, h.get(HttpHeaderNames.HOST), path,
                req.uri(), connection);
        if (routed.status() != null) {
            // a redirect of h2c on the plain-HTTP listener: sent to HTTPS as HTTP/1.1 is
            logAccess(routed.status().code(), routed.route(), null);
            writeStatus(routed.status(), routed.location());
            return;
        }
        Http2Requests.toEndpointHop(req, endOfStream);
        ProxyHeaders.addForwarded(h, connection.clientAddress(), settings.proto());
        Exchange ex = new Exchange(this, settings, req, req, routed.route(), routed.target(), routed.pickContext(),
                false, startNanos);
        exchange = ex;
        ex.start(routed.backend());
        if (endOfStream && exchange == ex) {
            ex.send(LastHttpContent.EMPTY_LAST_CONTENT);
        }
        connection.flushAtReadComplete(ex);
    }

    /** A DATA frame of the request body; returns the bytes given back to the client's window now. */
    int onData(ByteBuf data, int padding, boolean endOfStream) {
        lastActivity = connection.tick();
        return Http2RequestBody.onData(this, data, padding, endOfStream);
    }

    /** Trailers end the request body (behind the body bytes still held, if any). */
    void onTrailers(Http2Headers headers) {
        Http2RequestBody.onTrailers(this, headers);
    }

    /** The client reset the stream; the stream's close that follows gives the exchange up. */
    void reset(long errorCode) {
        discarding = true;
        if (exchange != null) {
            AccessLog.LOG.debug("Stream reset by the client client={} stream={} error={}",
                    connection().remoteAddress(), stream.id(), errorCode);
        }
    }

    /**
     * The idle timeout ends the stream ({@link Http2IngressHandler#endIdleStreams}): a request whose body stalled is
     * answered 408 (counted and logged as such, as HTTP/1.1 logs the same stall: {@link Exchange#clientGoneStatus}),
     * a response the client stopped taking is cut short with {@code RST_STREAM CANCEL} and counted with its status.
     */
    void idleTimedOut() {
        Exchange ex = exchange;
        if (ex == null || closed) {
            return;
        }
        AccessLog.LOG.debug("Stream idle, ending it client={} stream={}", connection().remoteAddress(), stream.id());
        exchange = null;
        Http2RequestBody.dropQueued(this);
        ex.abort();
        logAccess(ex.clientGoneStatus(true), ex.route, ex.backend);
        if (ex.responseStarted) {
            discarding = true;
            Http2RequestBody.giveBackHeld(this);
            connection.resetStream(connection.context(), stream.id(), Http2Error.CANCEL.code(),
                    connection.context().newPromise());
            flush();
        } else {
            writeStatus(HttpResponseStatus.REQUEST_TIMEOUT);
        }
    }

    /** The stream closed (both sides ended, a reset, or the connection's end). */
    void streamClosed() {
        closed = true;
        discarding = true;
        held = 0; // the flow controller gives a closed stream's bytes back itself
        Http2RequestBody.dropQueued(this);
        Exchange ex = exchange;
        if (ex != null && !responseWritten) {
            // the client reset the stream, sent a malformed frame or its connection ended before the response did:
            // still a request (no idle close on HTTP/2 while a stream is open: never a 408 here)
            exchange = null;
            ex.abort();
            logAccess(malformed ? HttpResponseStatus.BAD_REQUEST.code() : ex.clientGoneStatus(false), ex.route,
                    ex.backend);
        }
    }

    /**
     * The client takes more of the response now, or no more: the endpoint's connection is read accordingly, once
     * the response's head was relayed. Until then it is read anyway: HEADERS are not flow-controlled, and another
     * stream's response may hold the connection's window for good.
     */
    void writabilityChanged() {
        Exchange ex = exchange;
        if (ex != null && ex.outbound != null) {
            ex.outbound.config().setAutoRead(!ex.responseStarted || isWritable());
        }
    }

    @Override
    public Channel connection() {
        return connection.context().channel();
    }

    @Override
    public boolean isActive() {
        return !closed && connection().isActive();
    }

    @Override
    public boolean isWritable() {
        return !closed && connection.isWritable(stream);
    }

    /** The response's parts as this stream's frames ({@link Http2ResponseFrames}). */
    @Override
    public ChannelFuture write(HttpObject part) {
        lastActivity = connection.tick();
        return Http2ResponseFrames.write(this, part);
    }

    /**
     * A response read whole from the endpoint comes as one {@link io.netty.handler.codec.http.FullHttpResponse}:
     * its HEADERS and DATA go to the encoder together (one HEADERS frame alone when it has no body).
     */
    @Override
    public boolean takesWholeResponse() {
        return true;
    }

    /**
     * The response's end is reported once the endpoint's read has handed its last frame to the encoder (whose
     * flow controller owns it from there), not when the client's socket took it: the endpoint connection goes back
     * to the pool without a listener on the write.
     */
    @Override
    public boolean endsResponseAtFlush() {
        return true;
    }

    @Override
    public void flush() {
        connection.flushSoon();
    }

    @Override
    public void readRequestBody() {
        Exchange ex = exchange;
        if (ex != null && Http2RequestBody.sendQueued(this, ex, null)) {
            Http2RequestBody.giveBackHeld(this);
        }
    }

    @Override
    public boolean isCurrent(Exchange ex) {
        return exchange == ex;
    }

    @Override
    public void responseEnded(Exchange ex, int status) {
        if (exchange != ex) {
            return;
        }
        exchange = null;
        Http2RequestBody.dropQueued(this);
        ex.complete();
        logAccess(status, ex.route, ex.backend);
        if (!ex.requestEnded && !closed) {
            // a complete response before the request's end: the client may stop sending (RFC 9113 8.1). The reset
            // goes once the response's last frame is written: the flow controller may still hold it, and a reset
            // closes the stream, which drops what it holds
            discarding = true;
            resetBehind(lastWrite);
        }
        lastWrite = null;
        Http2RequestBody.giveBackHeld(this);
    }

    /** Resets the stream with NO_ERROR once {@code last}, the response's last write, is done ({@code null}: now). */
    private void resetBehind(ChannelFuture last) {
        if (last == null || last.isDone()) {
            resetAfterResponse();
        } else {
            last.addListener(f -> resetAfterResponse());
        }
    }

    private void resetAfterResponse() {
        if (!closed) {
            connection.resetStream(connection.context(), stream.id(), Http2Error.NO_ERROR.code(),
                    connection.context().newPromise());
            flush();
        }
    }

    @Override
    public void failExchange(Exchange ex, HttpResponseStatus status) {
        if (exchange != ex) {
            return;
        }
        exchange = null;
        Http2RequestBody.dropQueued(this);
        ex.abort();
        if (ex.responseStarted) {
            // the endpoint failed mid-response: still an answered request, counted with the status the client got;
            // the client learns of the failure from the reset, the connection goes on
            logAccess(ex.responseStatus, ex.route, ex.backend);
            if (!closed) {
                connection.resetStream(connection.context(), stream.id(), Http2Error.INTERNAL_ERROR.code(),
                        connection.context().newPromise());
                flush();
            }
            return;
        }
        logAccess(status.code(), ex.route, ex.backend);
        writeStatus(status);
    }

    @Override
    public void endpointClosedBeforeResponse(Exchange ex) {
        if (exchange == ex && !ex.resendOnFreshConnection()) {
            failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
        }
    }

    @Override
    public void outboundWritable(Exchange ex, boolean writable) {
        if (exchange == ex && writable && Http2RequestBody.sendQueued(this, ex, null)) {
            Http2RequestBody.giveBackHeld(this);
        }
    }

    @Override
    public void upgraded(Exchange ex, HttpResponse switching) {
        throw new IllegalStateException("101 on an HTTP/2 stream: only HTTP/1.1 requests are upgraded");
    }

    /** See {@link Http2IngressHandler#requestBytesHeld}. */
    long requestBytesHeld() {
        return Http2RequestBody.bytesHeld(this);
    }

    /** Refuses the request, before any rule, with a status of the proxy's own; a body still arriving is dropped. */
    private void answer(HttpResponseStatus status) {
        logAccess(status.code(), null, null);
        writeStatus(status);
    }

    private void writeStatus(HttpResponseStatus status) {
        writeStatus(status, null);
    }

    /** {@code location}: a redirect's target, else {@code null}. */
    private void writeStatus(HttpResponseStatus status, String location) {
        discarding = true;
        Http2RequestBody.dropQueued(this);
        Http2RequestBody.giveBackHeld(this);
        if (closed) {
            return;
        }
        ChannelFuture answered = Http2Answers.write(connection, stream.id(), status, location, request);
        flush();
        if (stream.state().remoteSideOpen()) {
            // the request's body still comes: the client may stop sending (RFC 9113 8.1), as after an endpoint's
            // early answer
            resetBehind(answered);
        }
    }

    private void logAccess(int status, Route<ServiceBackend> route, BackendState backend) {
        AccessLog.answered(connection.settings(), connection().remoteAddress(), "h2", request, status, route, backend,
                startNanos);
    }
}
