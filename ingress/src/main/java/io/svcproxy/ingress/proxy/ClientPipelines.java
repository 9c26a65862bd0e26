package io.svcproxy.ingress.proxy;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.Future;
import io.svcproxy.ingress.TlsHandshakeFailure;

/**
 * The handlers of a client connection, by protocol: HTTP/1.1, HTTP/1.1 with h2c (prior knowledge and
 * {@code Upgrade: h2c}), TLS with SNI and ALPN, and HTTP/2, whose streams are handled on the connection by
 * {@link Http2IngressHandler}: one request per stream, picked and proxied like an HTTP/1.1 request, its body under
 * HTTP/2 flow control (a stream's window is given back only as the endpoint takes the bytes).
 */
final class ClientPipelines {
    /** The aggregation limit of the upgrade handler; only bodyless requests are upgraded (see below). */
    private static final int MAX_UPGRADE_BODY = 8192;
    /** The HTTP/2 stream window: how much of a request body one stream may have in flight towards the proxy. */
    private static final int STREAM_WINDOW = 256 * 1024;
    /** SETTINGS_MAX_CONCURRENT_STREAMS: a stream beyond it is refused (REFUSED_STREAM); nginx's default. */
    static final long MAX_CONCURRENT_STREAMS = 128;
    /**
     * The HTTP/2 connection window: every stream's window at once (32 MiB), as HAProxy and nginx open theirs wide.
     * A stream's bytes go back to the windows only once its endpoint takes them, so with a connection window
     * smaller than that, streams whose endpoints read slowly would hold it and stall every other upload of the
     * connection; the stream windows alone bound what a connection holds.
     */
    private static final int CONNECTION_WINDOW = (int) MAX_CONCURRENT_STREAMS * STREAM_WINDOW;

    private ClientPipelines() {
    }

    /**
     * Plain HTTP/1.1 with h2c: the HTTP listener. h2c is offered by prior knowledge (the connection's first bytes)
     * and by {@code Upgrade: h2c} on the connection's first request only: after that request the upgrade handler
     * leaves the pipeline, and an {@code Upgrade: h2c} on a later request of the kept-alive connection is ignored
     * as RFC 9110 7.8 lets a server do: it is answered over HTTP/1.1, its {@code Upgrade} and {@code Connection}
     * fields removed as hop-by-hop (nginx and HAProxy ignore {@code Upgrade: h2c} on every request; clients offer it
     * on their first). A WebSocket upgrade is a proxied request and works on any request.
     */
    static void cleartext(ChannelPipeline p, ListenerSettings settings) {
        IngressOptions o = settings.options();
        HttpServerCodec codec = Http1Codecs.server(o);
        // removeAfterFirstRequest: the upgrade handler (an aggregator that looks at every message) leaves the
        // pipeline after the connection's first request, upgraded or not; see the javadoc of this method
        HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(codec, protocol ->
                AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol)
                        ? new Http2ServerUpgradeCodec(http2Handler(settings)) : null, MAX_UPGRADE_BODY,
                DefaultHttpHeadersFactory.headersFactory(), DefaultHttpHeadersFactory.trailersFactory(), true) {
            /**
             * Upgrades bodyless requests only: the upgrade handler holds the request whole (it becomes stream 1)
             * and answers 413 past its limit, so a request with a body stays on HTTP/1.1, streamed, as RFC 9113
             * 3.2 lets a server ignore the offer (curl --http2 offers it on a POST too).
             */
            @Override
            protected boolean shouldHandleUpgradeRequest(HttpRequest req) {
                // nor one with an Expect field: Netty's aggregator behind the upgrade would answer an expectation it
                // does not know with its own bare 417, unlogged, where the proxy answers the request itself
                // nor one with two Host fields (or none): it becomes stream 1 with one :authority, the first, where
                // HTTP/1.1 refuses it (Http1Requests.refusal); left there, it gets that 400
                return super.shouldHandleUpgradeRequest(req) && !HttpUtil.isTransferEncodingChunked(req)
                        && HttpUtil.getContentLength(req, 0L) == 0 && !req.headers().contains(HttpHeaderNames.EXPECT)
                        && ProxyHeaders.hasValidHost(req);
            }
        };
        ChannelHandler priorKnowledge = new ChannelInitializer<>() {
            @Override
            protected void initChannel(io.netty.channel.Channel ch) {
                ChannelPipeline pipeline = ch.pipeline();
                String self = pipeline.context(this).name();
                pipeline.addAfter(self, "h2", http2Handler(settings));
            }
        };
        p.addLast("timeouts", new ClientTimeouts(o));
        p.addLast("h2c", new CleartextHttp2ServerUpgradeHandler(codec, upgrade, priorKnowledge));
        p.addLast("proxy", new IngressFrontendHandler(settings));
    }

    /**
     * Closes {@code ch}, unserved, when its client left before it was set up, and says so: io_uring's accept learns
     * the connection's addresses afterwards ({@code getpeername}), which fails once the peer has reset, while the
     * kernel still hands over the request it sent (the TCP relay closes such a connection too).
     */
    static boolean closedIfGone(io.netty.channel.Channel ch) {
        if (ch.remoteAddress() != null && ch.localAddress() != null) {
            return false;
        }
        AccessLog.LOG.debug("Client gone before serving listener={}",
                ch.parent() == null ? "" : ch.parent().localAddress());
        ch.close();
        return true;
    }

    /** TLS: the certificate by SNI, then HTTP/2 or HTTP/1.1 by ALPN. */
    static void tls(ChannelPipeline p, ListenerSettings settings, TlsCertificates certificates) {
        // the timeouts behind TLS: they see the plain bytes, and a 408 they write is encrypted (the handshake has
        // its own 10 s timeout)
        p.addLast("plain-http", new PlainHttpOnTlsPort(settings));
        HandshakeAlerts alerts = new HandshakeAlerts();
        p.addLast("handshake-alerts", alerts);
        p.addLast("sni", new SniHandler(certificates::select, 16 * 1024, 10_000) {
            /** No certificate at all (no Ingress has a tls entry yet): a refused handshake, not a null context. */
            @Override
            protected Future<SslContext> lookup(ChannelHandlerContext ctx, String hostname) {
                SslContext context = certificates.select(hostname);
                return context != null ? ctx.executor().newSucceededFuture(context)
                        : ctx.executor().newFailedFuture(new HandshakeFailures.NoCertificate(hostname));
            }
        });
        p.addLast("timeouts", new ClientTimeouts(settings.options()));
        p.addLast("alpn", new Negotiation(settings, alerts));
    }

    /** HTTP/1.1 after TLS chose it. */
    static void http1(ChannelPipeline p, ListenerSettings settings) {
        IngressOptions o = settings.options();
        p.addBefore("timeouts", "tls-read-flush", new TlsReadFlush());
        p.addLast("codec", Http1Codecs.server(o));
        p.addLast("proxy", new IngressFrontendHandler(settings));
    }

    /** HTTP/2 after TLS chose it. */
    static void http2(ChannelPipeline p, ListenerSettings settings) {
        p.addLast("h2", http2Handler(settings));
    }

    private static Http2IngressHandler http2Handler(ListenerSettings settings) {
        return Http2IngressHandler.create(settings, Http2Settings.defaultSettings()
                // the limit's 431 is the stream's (Http2Requests.listSize): Netty's own check, at this size, would
                // end the whole connection for a block that passes 1.25 times it as sent
                .maxHeaderListSize((long) settings.options().maxHeaderSize() * Http2Requests.ADVERTISED_LIST_SIZE_FACTOR)
                .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
                .initialWindowSize(STREAM_WINDOW), CONNECTION_WINDOW);
    }

    /**
     * Chooses the protocol ALPN agreed on (a client without ALPN speaks HTTP/1.1); until then, counts the handshake's
     * failure, once per connection, by its reason ({@link HandshakeFailures}): a failure reaches it as an event (the
     * {@code SslHandshakeCompletionEvent}, or the SNI handler's {@code SniCompletionEvent} for its timeout, an
     * oversized hello or a missing certificate) and then, most often, as the exception too, or only as the
     * connection's end (a client that closes before its ClientHello, which no TLS handler reports). It leaves the
     * pipeline once the handshake is done, so nothing after it is counted.
     */
    private static final class Negotiation extends ApplicationProtocolNegotiationHandler {
        private final ListenerSettings settings;
        private final HandshakeAlerts alerts;
        /** The handshake succeeded, or its failure was counted. The connection's event loop: a plain field. */
        private boolean ended;

        Negotiation(ListenerSettings settings, HandshakeAlerts alerts) {
            super(ApplicationProtocolNames.HTTP_1_1);
            this.settings = settings;
            this.alerts = alerts;
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                http2(ctx.pipeline(), settings);
            } else if (ApplicationProtocolNames.HTTP_1_1.equals(protocol)) {
                http1(ctx.pipeline(), settings);
            } else {
                throw new IllegalStateException("ALPN protocol: " + protocol + " (expected: h2, http/1.1)");
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof SslHandshakeCompletionEvent handshake) {
                if (handshake.isSuccess()) {
                    ended = true;
                    ctx.pipeline().remove(alerts);
                } else {
                    failed(ctx, handshake.cause());
                }
            } else if (evt instanceof SniCompletionEvent sni && !sni.isSuccess()) {
                failed(ctx, sni.cause());
            }
            super.userEventTriggered(ctx, evt);
        }

        /**
         * A failed handshake is the client's business (wrong CA, aborted, no shared version): counted and logged at
         * DEBUG. Netty calls it from {@code exceptionCaught}, which this handler overrides, but whichever way it
         * comes it counts once.
         */
        @Override
        protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            failed(ctx, cause);
        }

        /**
         * Before ALPN (this handler leaves the pipeline once the handshake is done), every exception comes from the
         * SNI and TLS handlers reading the client's bytes: a network or TLS failure ({@link ClientFailures}), or
         * any {@link DecoderException}, such as the SNI handler's {@code TooLongFrameException} for a ClientHello
         * past its 16 KiB: a failed handshake, the client's business. Anything else goes on to be logged.
         */
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof DecoderException || ClientFailures.includes(cause)) {
                failed(ctx, cause);
                return;
            }
            ctx.fireExceptionCaught(cause);
        }

        /** Closed with no failure reported: before its ClientHello was whole, or before the SNI lookup ended. */
        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            count(ctx, null);
            super.channelInactive(ctx);
        }

        /** Counts the handshake's failure and closes the connection. */
        private void failed(ChannelHandlerContext ctx, Throwable cause) {
            count(ctx, cause);
            ctx.close();
        }

        /** Counts the handshake's failure unless it succeeded or was counted already. */
        private void count(ChannelHandlerContext ctx, Throwable cause) {
            if (ended) {
                return;
            }
            ended = true;
            int alert = alerts.alert();
            TlsHandshakeFailure reason = HandshakeFailures.reasonOf(cause, alert);
            settings.metrics().tlsHandshakeFailed(reason);
            AccessLog.LOG.debug("TLS handshake failed client={} reason={} cause={}{}", ctx.channel().remoteAddress(),
                    reason.label(), cause, alert < 0 ? "" : " clientPlaintextAlert=" + alert);
        }
    }
}
