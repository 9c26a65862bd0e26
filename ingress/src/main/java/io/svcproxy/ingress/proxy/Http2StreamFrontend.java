package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.RequestPath;
import io.svcproxy.ingress.routing.Route;
import java.nio.charset.StandardCharsets;

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
 * <p>Runs on the connection's event loop: plain fields.
 */
final class Http2StreamFrontend implements Frontend {
    private final Http2IngressHandler connection;
    private final Http2Stream stream;
    /** The request as forwarded (X-Forwarded-* added); its method, Host and path are the access log's. */
    private HttpRequest request;
    /** The request being proxied; {@code null} before it starts and once it is answered or given up. */
    private Exchange exchange;
    private long startNanos;
    /** Request body bytes read but not yet given back to the client's window: the endpoint did not take them yet. */
    private int held;
    /**
     * Request body bytes read while the endpoint's connection took no more (over its high water mark, or not
     * connected yet), copied into one buffer; {@code null} when there are none. Sent when it takes more again.
     */
    private ByteBuf queued;
    /** The request is answered (or given up): body parts still arriving are dropped. */
    private boolean discarding;
    /** The response's last part was written: the endpoint's read reports the end, even if the stream closes first. */
    private boolean responseWritten;
    /** The write of the response's last frame, which a reset after an early response must follow. */
    private ChannelFuture lastWrite;
    private boolean closed;

    Http2StreamFrontend(Http2IngressHandler connection, Http2Stream stream) {
        this.connection = connection;
        this.stream = stream;
    }

    /** The request's HEADERS: refused, answered by the proxy, or relayed to the picked endpoint. */
    void onRequestHeaders(Http2Headers headers, boolean endOfStream) {
        startNanos = System.nanoTime();
        ListenerSettings settings = connection.settings();
        HttpRequest req;
        if (headers.method() == null || headers.path() == null || headers.scheme() == null) {
            // RFC 9113 8.3.1: every request but CONNECT has all three (CONNECT is a 501 below, once converted);
            // Netty's conversion would throw a NullPointerException, which failed the whole connection
            if (headers.method() == null || !HttpMethod.CONNECT.asciiName().contentEquals(headers.method())) {
                answer(HttpResponseStatus.BAD_REQUEST);
                return;
            }
        }
        try {
            // a request without a body goes as one message, its end included (see Exchange.send)
            req = endOfStream
                    ? HttpConversionUtil.toFullHttpRequest(stream.id(), headers, Unpooled.EMPTY_BUFFER, false)
                    : HttpConversionUtil.toHttpRequest(stream.id(), headers, false);
        } catch (Http2Exception | IllegalArgumentException e) {
            // not a request (a method that is not a token is Netty's IllegalArgumentException): this stream's 400
            answer(HttpResponseStatus.BAD_REQUEST);
            return;
        }
        HttpHeaders h = req.headers();
        // Netty's x-http2-* fields of the conversion: neither counted against the limit nor forwarded
        h.remove(HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text());
        h.remove(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text());
        request = req;
        if (h.size() > settings.options().maxHeaders()) {
            answer(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE);
            return;
        }
        if (req.method().name().length() + req.uri().length() + " HTTP/1.1".length() + 1
                > settings.options().maxInitialLine()) {
            // the request line it becomes towards the endpoint: held to HTTP/1.1's limit (414), not to the whole
            // header list's
            answer(HttpResponseStatus.REQUEST_URI_TOO_LONG);
            return;
        }
        if (!ProxyHeaders.hasValidFraming(req)) {
            answer(HttpResponseStatus.BAD_REQUEST);
            return;
        }
        if (HttpMethod.CONNECT.equals(req.method())) {
            // as on HTTP/1.1 (IngressFrontendHandler): a tunnel is no request an Ingress routes
            answer(HttpResponseStatus.NOT_IMPLEMENTED);
            return;
        }
        if (!req.uri().startsWith("/") && !(HttpMethod.OPTIONS.equals(req.method()) && req.uri().equals("*"))) {
            // :path in origin form (RFC 9113 8.3.1): the host is :authority's, never a URI's in :path
            answer(HttpResponseStatus.BAD_REQUEST);
            return;
        }
        String path = RequestPath.of(req.uri()); // routed by its normal form, forwarded as received
        if (path == null) {
            answer(HttpResponseStatus.BAD_REQUEST);
            return;
        }
        RequestRouting.Decision routed = RequestRouting.route(settings, h.get(HttpHeaderNames.HOST), path,
                req.uri(), connection);
        if (routed.status() != null) {
            // a redirect of h2c on the plain-HTTP listener: sent to HTTPS as HTTP/1.1 is
            logAccess(routed.status().code(), routed.route(), null);
            writeStatus(routed.status(), routed.location());
            return;
        }
        // "te: trailers" (the one TE an HTTP/2 client may send, gRPC's): the proxy relays trailers, so it says so
        // on its own hop too, as a connection option (RFC 9110 10.1.4)
        boolean trailers = h.containsValue(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS, true);
        ProxyHeaders.removeHopByHop(h, false);
        if (trailers) {
            h.set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderNames.TE);
        }
        if (!endOfStream && !HttpUtil.isContentLengthSet(req)) {
            // a body of unknown length: HTTP/1.1 frames it by chunks (as Http2StreamFrameToHttpObjectCodec does)
            HttpUtil.setTransferEncodingChunked(req, true);
        }
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

    /**
     * A DATA frame of the request body; returns the bytes given back to the client's window now. A frame goes to
     * the endpoint's connection as it is only while that connection takes more; otherwise its bytes are copied into
     * {@link #queued}, so what the stream holds is its window's bytes, never one object per frame (a client could
     * send a whole window as 1-byte frames, each costing hundreds of bytes as a message of its own).
     */
    int onData(ByteBuf data, int padding, boolean endOfStream) {
        int bytes = data.readableBytes() + padding;
        Exchange ex = exchange;
        if (discarding || ex == null || ex.requestEnded) {
            return bytes;
        }
        if (queued == null && ex.outbound != null && ex.outbound.isWritable()) {
            HttpContent part = endOfStream ? new DefaultLastHttpContent(data.retain())
                    : new DefaultHttpContent(data.retain());
            boolean more = ex.send(part);
            connection.flushAtReadComplete(ex);
            if (more || endOfStream) {
                return bytes;
            }
            held += bytes; // given back in readRequestBody or outboundWritable
            return 0;
        }
        if (data.isReadable()) {
            ByteBuf q = queued;
            if (q == null) {
                queued = q = connection.context().alloc().buffer(Math.max(data.readableBytes(), 1024));
            }
            q.writeBytes(data);
        }
        if (endOfStream) {
            // the request's end goes to the exchange now, behind the held bytes (bounded by the stream's window),
            // so that its response timeout starts: an endpoint that reads no more then gets a 504, not a wait
            sendQueued(ex, LastHttpContent.EMPTY_LAST_CONTENT);
            return bytes; // the stream's last frame: its window no longer matters
        }
        held += bytes;
        return 0;
    }

    /** Trailers end the request body (behind the body bytes still held, if any). */
    void onTrailers(Http2Headers headers) {
        Exchange ex = exchange;
        if (discarding || ex == null || ex.requestEnded) {
            return;
        }
        LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        try {
            HttpConversionUtil.addHttp2ToHttpHeaders(stream.id(), headers, last.trailingHeaders(),
                    HttpVersion.HTTP_1_1, true, true);
        } catch (Http2Exception e) {
            failExchange(ex, HttpResponseStatus.BAD_REQUEST);
            return;
        }
        if (queued != null) {
            sendQueued(ex, last); // as the end of a DATA frame in onData
            return;
        }
        ex.send(last);
        connection.flushAtReadComplete(ex);
    }

    /** The client reset the stream; the stream's close that follows gives the exchange up. */
    void reset(long errorCode) {
        discarding = true;
        if (exchange != null) {
            AccessLog.LOG.debug("Stream reset by the client client={} stream={} error={}",
                    connection().remoteAddress(), stream.id(), errorCode);
        }
    }

    /** The stream closed (both sides ended, a reset, or the connection's end). */
    void streamClosed() {
        closed = true;
        discarding = true;
        held = 0; // the flow controller gives a closed stream's bytes back itself
        dropQueued();
        Exchange ex = exchange;
        if (ex != null && !responseWritten) {
            // the client reset the stream or its connection ended before the response did: still a request
            exchange = null;
            ex.abort();
            // (no idle close on HTTP/2 while a stream is open: never a 408 here)
            logAccess(ex.clientGoneStatus(false), ex.route, ex.backend);
        }
    }

    /** The client takes more of the response now, or no more: the endpoint's connection is read accordingly. */
    void writabilityChanged() {
        Exchange ex = exchange;
        if (ex != null && ex.outbound != null) {
            ex.outbound.config().setAutoRead(isWritable());
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

    @Override
    public ChannelFuture write(HttpObject part) {
        ChannelHandlerContext ctx = connection.context();
        Http2ConnectionEncoder encoder = connection.encoder();
        if (part instanceof HttpResponse response) {
            Http2Headers headers = Http2ResponseHeaders.of(response);
            if (!(part instanceof LastHttpContent) || response.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
                // a response head, or a whole interim (1xx) response: no body follows on its HEADERS
                ReferenceCountUtil.release(part);
                return encoder.writeHeaders(ctx, stream.id(), headers, 0, false, ctx.newPromise());
            }
            LastHttpContent whole = (LastHttpContent) part;
            if (!whole.content().isReadable() && whole.trailingHeaders().isEmpty()) {
                // a whole response without body or trailers: one HEADERS frame that ends the stream
                responseWritten = true;
                whole.release();
                return lastWrite = encoder.writeHeaders(ctx, stream.id(), headers, 0, true, ctx.newPromise());
            }
            // a whole response (read in one go, see takesWholeResponse): HEADERS, then its body and trailers below,
            // all in the same flush
            encoder.writeHeaders(ctx, stream.id(), headers, 0, false, ctx.newPromise());
        }
        HttpContent content = (HttpContent) part;
        if (!(content instanceof LastHttpContent last)) {
            if (!content.content().isReadable()) {
                content.release();
                return ctx.newSucceededFuture();
            }
            return encoder.writeData(ctx, stream.id(), content.content(), 0, false, ctx.newPromise());
        }
        responseWritten = true;
        if (last.trailingHeaders().isEmpty()) {
            return lastWrite = encoder.writeData(ctx, stream.id(), content.content(), 0, true, ctx.newPromise());
        }
        if (content.content().isReadable()) {
            encoder.writeData(ctx, stream.id(), content.content(), 0, false, ctx.newPromise());
        } else {
            content.release();
        }
        Http2Headers trailers = new DefaultHttp2Headers();
        Http2ResponseHeaders.trailers(last.trailingHeaders(), trailers);
        return lastWrite = encoder.writeHeaders(ctx, stream.id(), trailers, 0, true, ctx.newPromise());
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
        if (ex != null && sendQueued(ex, null)) {
            giveBackHeld();
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
        dropQueued();
        ex.complete();
        logAccess(status, ex.route, ex.backend);
        if (!ex.requestEnded && !closed) {
            // a complete response before the request's end: the client may stop sending (RFC 9113 8.1). The reset
            // goes once the response's last frame is written: the flow controller may still hold it, and a reset
            // closes the stream, which drops what it holds
            discarding = true;
            ChannelFuture w = lastWrite;
            if (w == null || w.isDone()) {
                resetAfterResponse();
            } else {
                w.addListener(f -> resetAfterResponse());
            }
        }
        lastWrite = null;
        giveBackHeld();
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
        dropQueued();
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
        if (exchange == ex && writable && sendQueued(ex, null)) {
            giveBackHeld();
        }
    }

    /**
     * Sends the body bytes held in {@link #queued} and then the request's {@code end}, if given, to the endpoint's
     * connection (which takes more now, or the request ended) and flushes them; returns whether it still takes more
     * or the request ended (then the held window goes back).
     */
    private boolean sendQueued(Exchange ex, LastHttpContent end) {
        ByteBuf q = queued;
        if (q == null && end == null) {
            return true;
        }
        queued = null;
        boolean more;
        if (end == null) {
            more = ex.send(new DefaultHttpContent(q));
        } else if (q == null) {
            more = ex.send(end);
        } else if (end.trailingHeaders().isEmpty()) {
            more = ex.send(new DefaultLastHttpContent(q));
        } else {
            more = ex.send(new DefaultLastHttpContent(q, end.trailingHeaders()));
        }
        ex.flush();
        return more || end != null;
    }

    private void dropQueued() {
        ByteBuf q = queued;
        if (q != null) {
            queued = null;
            q.release();
        }
    }

    @Override
    public void upgraded(Exchange ex, HttpResponse switching) {
        throw new IllegalStateException("101 on an HTTP/2 stream: only HTTP/1.1 requests are upgraded");
    }

    /** See {@link Http2IngressHandler#requestBytesHeld}. */
    long requestBytesHeld() {
        long n = queued == null ? 0 : queued.capacity();
        Exchange ex = exchange;
        if (ex != null && ex.outbound != null) {
            ChannelOutboundBuffer pending = ex.outbound.unsafe().outboundBuffer();
            if (pending != null) {
                n += pending.totalPendingWriteBytes();
            }
        }
        return n;
    }

    /** The request body bytes the endpoint took go back to the client's window. */
    private void giveBackHeld() {
        int n = held;
        if (n > 0 && !closed) {
            held = 0;
            connection.consume(stream, n);
        }
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
        dropQueued();
        giveBackHeld();
        if (closed) {
            return;
        }
        ChannelHandlerContext ctx = connection.context();
        ByteBuf body = Unpooled.copiedBuffer(status + "\n", StandardCharsets.US_ASCII);
        Http2Headers headers = new DefaultHttp2Headers().status(status.codeAsText())
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(HttpHeaderNames.DATE, DateFormatter.format(new java.util.Date())); // as on HTTP/1.1
        if (location != null) {
            headers.set(HttpHeaderNames.LOCATION, location);
        }
        if (request != null && HttpMethod.HEAD.equals(request.method())) {
            // the answer to HEAD has no body (RFC 9110 9.3.2): a DATA frame on it is a stream error to the client
            body.release();
            connection.encoder().writeHeaders(ctx, stream.id(), headers, 0, true, ctx.newPromise());
        } else {
            connection.encoder().writeHeaders(ctx, stream.id(), headers, 0, false, ctx.newPromise());
            connection.encoder().writeData(ctx, stream.id(), body, 0, true, ctx.newPromise());
        }
        flush();
    }

    private void logAccess(int status, Route<ServiceBackend> route, BackendState backend) {
        AccessLog.answered(connection.settings(), connection().remoteAddress(), "h2", request, status, route, backend,
                startNanos);
    }
}
