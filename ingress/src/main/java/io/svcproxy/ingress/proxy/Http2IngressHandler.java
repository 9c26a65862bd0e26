package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpScheme;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.svcproxy.balancer.Backends;
import io.svcproxy.balancer.PickContext;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * An HTTP/2 client connection whose streams are handled on the connection itself, as Netty's own HTTP/2 server
 * examples do: no child channel, pipeline or HTTP/1.1 object conversion per stream. Each stream's HEADERS start an
 * {@link Http2StreamFrontend} (stored on the stream), which routes the request, picks its endpoint and relays it as
 * HTTP/1.1 over the event loop's kept-alive endpoint connections; DATA frames stream on under HTTP/2 flow control
 * (a stream's window is given back only as the endpoint's connection takes the bytes); the response goes back
 * through this connection's encoder, whose flow controller tells each stream when the client takes more.
 *
 * <p>Runs on the connection's event loop, which also owns the endpoint connections: plain fields.
 */
final class Http2IngressHandler extends Http2ConnectionHandler
        implements java.util.function.Supplier<io.svcproxy.balancer.PickContext> {
    private final ListenerSettings settings;
    private final Http2Connection.PropertyKey frontendKey;
    private ChannelHandlerContext ctx;
    /** The scheduler's context of this connection's requests: the client's address and the local address. */
    private PickContext pickContext;
    private String clientAddress;
    /** Exchanges with parts written to their endpoint in this read loop: flushed once, at its end. */
    private final List<Exchange> unflushed = new ArrayList<>();
    /** The connection window to open once the preface is out (HTTP/2 starts every connection at 65,535). */
    private final int connectionWindow;
    private boolean windowOpened;
    private final RapidResets rapidResets = new RapidResets();
    /** The connection's timeouts, whose ticks date each stream's last activity; {@code null} without them. */
    private ClientTimeouts timeouts;

    private Http2IngressHandler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                                Http2Settings initialSettings, ListenerSettings settings, int connectionWindow) {
        super(decoder, encoder, initialSettings);
        this.settings = settings;
        this.connectionWindow = connectionWindow;
        this.frontendKey = connection().newKey();
        connection().addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamClosed(Http2Stream stream) {
                Http2StreamFrontend f = stream.removeProperty(frontendKey);
                if (f != null) {
                    f.streamClosed();
                }
            }
        });
        encoder.flowController().listener(new Http2RemoteFlowController.Listener() {
            @Override
            public void writabilityChanged(Http2Stream stream) {
                Http2StreamFrontend f = stream.getProperty(frontendKey);
                if (f != null) {
                    f.writabilityChanged();
                }
            }
        });
    }

    /**
     * A handler for one client connection of the listener.
     *
     * @param connectionWindow the connection-level receive window, opened by a WINDOW_UPDATE after the preface
     */
    static Http2IngressHandler create(ListenerSettings settings, Http2Settings initialSettings, int connectionWindow) {
        return new Builder(settings, initialSettings, connectionWindow).build();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        this.timeouts = ctx.pipeline().get(ClientTimeouts.class);
        super.handlerAdded(ctx); // sends the preface if the connection is active (h2c upgrade, ALPN)
        if (ctx.channel().isActive()) {
            openConnectionWindow();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        super.channelActive(ctx); // sends the preface
        openConnectionWindow();
    }

    /** Widens the connection window from HTTP/2's initial 65,535 bytes, after the SETTINGS of the preface. */
    private void openConnectionWindow() throws Http2Exception {
        if (windowOpened) {
            return;
        }
        windowOpened = true;
        int delta = connectionWindow - Http2CodecUtil.DEFAULT_WINDOW_SIZE;
        if (delta > 0) {
            connection().local().flowController().incrementWindowSize(connection().connectionStream(), delta);
            ctx.flush();
        }
    }

    ChannelHandlerContext context() {
        return ctx;
    }

    /** The connection's timeout tick now ({@link ClientTimeouts#tick}): a stream's activity is dated by it. */
    long tick() {
        ClientTimeouts t = timeouts;
        return t == null ? 0 : t.tick();
    }

    /**
     * Ends each stream that saw no DATA either way since a tick for which {@code idle} holds, unless it waits for its
     * response's head (the response timeout governs that): a request body that stalls, or a response the client
     * stopped taking, ends on its own as its HTTP/1.1 connection would, whatever the connection's other streams and
     * PINGs do (as nginx's {@code client_body_timeout} and {@code send_timeout} count per stream). On the event loop.
     */
    void endIdleStreams(java.util.function.LongPredicate idle) {
        List<Http2StreamFrontend> ended = new ArrayList<>(0);
        try {
            connection().forEachActiveStream(stream -> {
                Http2StreamFrontend f = stream.getProperty(frontendKey);
                if (f != null && f.exchange != null && idle.test(f.lastActivity)
                        && (stream.state() != Http2Stream.State.HALF_CLOSED_REMOTE || stream.isHeadersSent())) {
                    ended.add(f); // ended after the visit, which a stream closing meanwhile would disturb
                }
                return true;
            });
        } catch (Http2Exception e) {
            throw new IllegalStateException("a visit that throws nothing threw", e); // Netty passes on the visitor's
        }
        for (Http2StreamFrontend f : ended) {
            f.idleTimedOut();
        }
    }

    ListenerSettings settings() {
        return settings;
    }

    /** The client's address as X-Forwarded-For gives it: IPv6 in its canonical text ({@code ::1}), as nginx's. */
    String clientAddress() {
        String a = clientAddress;
        if (a == null) {
            clientAddress = a = Backends.formatIp(((InetSocketAddress) ctx.channel().remoteAddress()).getAddress());
        }
        return a;
    }

    /** {@link #pickContext()}, for {@link RequestRouting#route} (the connection itself: nothing made per request). */
    @Override
    public PickContext get() {
        return pickContext();
    }

    PickContext pickContext() {
        PickContext p = pickContext;
        if (p == null) {
            InetSocketAddress client = (InetSocketAddress) ctx.channel().remoteAddress();
            InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
            pickContext = p = PickContext.of(client.getAddress(), client.getPort(), local.getAddress());
        }
        return p;
    }

    /** Whether the client takes more of {@code stream}'s response now (its window and the socket). */
    boolean isWritable(Http2Stream stream) {
        return encoder().flowController().isWritable(stream);
    }

    /** Gives {@code bytes} of {@code stream}'s request body back to the client's window (and the connection's). */
    void consume(Http2Stream stream, int bytes) {
        try {
            if (connection().local().flowController().consumeBytes(stream, bytes)) {
                flushSoon();
            }
        } catch (Http2Exception e) {
            onError(ctx, false, e);
        }
    }

    /**
     * What the connection's streams hold of their request bodies: bytes read and not yet written to an endpoint,
     * and what the endpoint connections have not sent yet (Netty's count, which adds its per-write overhead).
     * Bounded by the streams' windows, whatever the size of the client's DATA frames. For tests; on the event loop.
     */
    long requestBytesHeld() throws Http2Exception {
        long[] sum = new long[1];
        connection().forEachActiveStream(stream -> {
            Http2StreamFrontend f = stream.getProperty(frontendKey);
            if (f != null) {
                sum[0] += f.requestBytesHeld();
            }
            return true;
        });
        return sum[0];
    }

    /**
     * Flushes the connection once the event loop has handled every channel ready in this turn ({@link TurnFlush}):
     * the responses that many endpoint connections of the loop relayed in one turn go to the client with one
     * pass of the flow controller ({@code writePendingBytes}, run by this handler's {@code flush}) and one write,
     * not one per stream.
     */
    void flushSoon() {
        TurnFlush.flushLater(ctx.channel());
    }

    /** Flushes {@code ex}'s endpoint connection at the end of this connection's read loop. */
    void flushAtReadComplete(Exchange ex) {
        unflushed.add(ex);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        // the endpoints first: their requests are on the way before the client's frames (window updates) are
        flushUnflushed();
        super.channelReadComplete(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof HttpServerUpgradeHandler.UpgradeEvent upgrade) {
            // the request that carried "Upgrade: h2c" is stream 1, half-closed by the client (it has no body)
            // an upgrade happens on the plain listener only: the scheme is http
            upgrade.upgradeRequest().headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(),
                    HttpScheme.HTTP.name());
            Http2Headers headers;
            try {
                headers = HttpConversionUtil.toHttp2Headers(upgrade.upgradeRequest(), true);
            } catch (IllegalArgumentException e) {
                // a head Netty cannot convert ("Host: a@"): the client's malformed request, answered on its stream
                headers = null;
                refuseUpgradeRequest(upgrade.upgradeRequest(), e);
            }
            if (headers != null) {
                decoder().frameListener().onHeadersRead(ctx, Http2CodecUtil.HTTP_UPGRADE_STREAM_ID, headers, 0, true);
                flushUnflushed();
            }
        }
        super.userEventTriggered(ctx, evt);
    }

    /** Answers stream 1, the upgrade's request, with a counted and logged 400. */
    private void refuseUpgradeRequest(HttpRequest request, IllegalArgumentException cause) {
        AccessLog.LOG.debug("Upgrade request not converted client={} cause={}", ctx.channel().remoteAddress(),
                cause.toString());
        AccessLog.answered(settings, ctx.channel().remoteAddress(), "h2", request,
                HttpResponseStatus.BAD_REQUEST.code(), null, null, System.nanoTime());
        Http2Answers.write(this, Http2CodecUtil.HTTP_UPGRADE_STREAM_ID, HttpResponseStatus.BAD_REQUEST, null, request);
        ctx.flush();
    }

    private void flushUnflushed() {
        for (int i = 0, n = unflushed.size(); i < n; i++) {
            unflushed.get(i).flush();
        }
        unflushed.clear();
    }

    /**
     * A request's header block past the advertised {@code SETTINGS_MAX_HEADER_LIST_SIZE}, which Netty's decoder
     * refuses before the stream's HEADERS reach the {@link Listener}: answered 431, counted and logged like the 431 of
     * a block below it (Http2Requests.refusal). The answer goes out before the stream's reset that follows.
     */
    @Override
    protected void handleServerHeaderDecodeSizeError(ChannelHandlerContext ctx, Http2Stream stream) {
        if (stream.getProperty(frontendKey) != null) {
            super.handleServerHeaderDecodeSizeError(ctx, stream); // trailers: the stream's close accounts for it
            return;
        }
        AccessLog.answered(settings, ctx.channel().remoteAddress(), "h2", null,
                HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE.code(), null, null, System.nanoTime());
        Http2Answers.write(this, stream.id(), HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, null, null);
        flush(ctx);
    }

    /**
     * Frames of a stream already closed are ignored (below), and so are those of a stream refused, which Netty never
     * created ({@link IngressHttp2Connection}). A stream Netty's decoder resets for the client's
     * malformed frames (PROTOCOL_ERROR: a body shorter or longer
     * than its content-length, RFC 9113 8.1.1) is a malformed request, counted and logged as 400 when it closes, as
     * nginx logs it; not a 499, as if the client had given up.
     */
    @Override
    protected void onStreamError(ChannelHandlerContext ctx, boolean outbound, Throwable cause,
                                 Http2Exception.StreamException streamException) {
        int id = streamException.streamId();
        if (!outbound && streamException.error() == Http2Error.REFUSED_STREAM) {
            ((IngressHttp2Connection) connection()).refused(id); // its frames still on the way are ignored
        }
        if (!outbound && streamException.error() == Http2Error.STREAM_CLOSED && connection().stream(id) == null
                && connection().streamMayHaveExisted(id)) {
            // frames of a stream already closed, such as the DATA still in flight behind the proxy's early answer
            // (its RST_STREAM NO_ERROR): ignored, as RFC 9113 5.1 says and nginx does (the decoder gave their
            // flow-control bytes back). A RST_STREAM for each would count against Netty's limit of resets sent,
            // which ends the client's whole connection (ENHANCE_YOUR_CALM) after a dozen refused uploads
            return;
        }
        if (!outbound && streamException.error() == Http2Error.PROTOCOL_ERROR) {
            Http2Stream stream = connection().stream(streamException.streamId());
            Http2StreamFrontend f = stream == null ? null : stream.getProperty(frontendKey);
            if (f != null) {
                f.malformed = true;
            }
        }
        super.onStreamError(ctx, outbound, cause, streamException);
    }

    /**
     * A reset by the peer, a broken socket or the client's TLS failing (a record that does not decrypt:
     * {@link ClientFailures}) is the client's business: debug, then the connection closes.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        if (ClientFailures.includes(cause)) {
            AccessLog.LOG.debug("Client connection failed client={} cause={}",
                    ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
            return;
        }
        super.exceptionCaught(ctx, cause);
    }

    /** The frames of the client's streams, in the decoder's order. */
    private final class Listener extends Http2FrameAdapter {
        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                  boolean endOfStream) {
            Http2Stream stream = connection().stream(streamId);
            if (stream == null) {
                return; // closed meanwhile (reset)
            }
            Http2StreamFrontend f = stream.getProperty(frontendKey);
            if (f == null) {
                f = new Http2StreamFrontend(Http2IngressHandler.this, stream);
                stream.setProperty(frontendKey, f);
                f.onRequestHeaders(headers, endOfStream);
            } else {
                f.onTrailers(headers);
            }
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
                                  short weight, boolean exclusive, int padding, boolean endOfStream) {
            onHeadersRead(ctx, streamId, headers, padding, endOfStream);
        }

        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                              boolean endOfStream) {
            Http2Stream stream = connection().stream(streamId);
            Http2StreamFrontend f = stream == null ? null : stream.getProperty(frontendKey);
            if (f == null) {
                return data.readableBytes() + padding;
            }
            return f.onData(data, padding, endOfStream);
        }

        @Override
        public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            Http2Stream stream = connection().stream(streamId);
            Http2StreamFrontend f = stream == null ? null : stream.getProperty(frontendKey);
            if (f != null) {
                f.reset(errorCode);
            }
            if (stream != null && !stream.isHeadersSent() && rapidResets.tooMany(System.nanoTime())
                    && !connection().goAwaySent()) {
                AccessLog.LOG.debug("Client reset too many streams before their answer, going away client={} "
                        + "resets={} seconds={}", ctx.channel().remoteAddress(), RapidResets.LIMIT,
                        RapidResets.WINDOW_SECONDS);
                ctx.channel().close(); // from the tail: GOAWAY NO_ERROR, the streams taken are finished
            }
        }
    }

    private static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<Http2IngressHandler, Builder> {
        private final ListenerSettings settings;
        private final int connectionWindow;

        Builder(ListenerSettings settings, Http2Settings initialSettings, int connectionWindow) {
            this.settings = settings;
            this.connectionWindow = connectionWindow;
            connection(new IngressHttp2Connection()); // the frames that follow a refused stream's HEADERS ignored
            initialSettings(initialSettings);
            // Netty's rapid-reset guard counts the cancels of streams being answered too: RapidResets instead
            decoderEnforceMaxRstFramesPerWindow(0, 0);
        }

        @Override
        protected Http2IngressHandler build() {
            return super.build();
        }

        @Override
        protected Http2IngressHandler build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                                            Http2Settings initialSettings) {
            Http2IngressHandler handler = new Http2IngressHandler(decoder, encoder, initialSettings, settings,
                    connectionWindow);
            frameListener(handler.new Listener());
            return handler;
        }
    }
}
