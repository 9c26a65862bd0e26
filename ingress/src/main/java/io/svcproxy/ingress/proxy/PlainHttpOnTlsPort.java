package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.svcproxy.ingress.TlsHandshakeFailure;

/**
 * The first handler of an HTTPS connection: when the client's first byte starts an HTTP request instead of a TLS
 * record (a handshake record starts with 22, an SSLv2 hello with its top bit set; a request line with its method's
 * capital letter), the connection gets the HTTP/1.1 pipeline in place of TLS, and its requests are answered 400 "The
 * plain HTTP request was sent to HTTPS port", as nginx answers them (ingress-nginx's users know that page; a
 * handshake failure would only close), and counted as a failed handshake ({@code plain_http}). It leaves the
 * pipeline after the first read either way.
 */
final class PlainHttpOnTlsPort extends ChannelInboundHandlerAdapter {
    /** The body of the answer, as nginx words it. */
    static final String ANSWER = "400 The plain HTTP request was sent to HTTPS port";

    private final ListenerSettings settings;

    PlainHttpOnTlsPort(ListenerSettings settings) {
        this.settings = settings;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ChannelPipeline p = ctx.pipeline();
        if (msg instanceof ByteBuf buf && buf.isReadable()) {
            byte first = buf.getByte(buf.readerIndex());
            if (first >= 'A' && first <= 'Z') {
                // a failed handshake of its own reason (its 400 is counted as a request too, with the malformed)
                settings.metrics().tlsHandshakeFailed(TlsHandshakeFailure.PLAIN_HTTP);
                AccessLog.LOG.debug("Plain HTTP on the HTTPS listener client={} reason={}",
                        ctx.channel().remoteAddress(), TlsHandshakeFailure.PLAIN_HTTP.label());
                p.remove("handshake-alerts");
                p.remove("sni");
                p.remove("alpn");
                p.addLast("codec", Http1Codecs.server(settings.options()));
                p.addLast("proxy", new IngressFrontendHandler(settings, true));
            }
        }
        p.remove(this);
        ctx.fireChannelRead(msg);
    }
}
