package io.svcproxy.ingress.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * The outbound connection of one request: relays the endpoint's response to the client, stopping reads while the
 * client's socket is full. The endpoint closing before the response's headers is a 502.
 */
final class IngressBackendHandler extends ChannelInboundHandlerAdapter {
    private final IngressFrontendHandler frontend;
    private final IngressFrontendHandler.Exchange exchange;
    private int status;
    private boolean ended;

    IngressBackendHandler(IngressFrontendHandler frontend, IngressFrontendHandler.Exchange exchange) {
        this.frontend = frontend;
        this.exchange = exchange;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (ended) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpResponse response) {
            if (response.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                ended = true;
                frontend.failExchange(exchange, HttpResponseStatus.BAD_GATEWAY);
                return;
            }
            if (response.status().code() == 100) {
                return; // 100 Continue: the final response follows; the client's Expect was removed
            }
            frontend.responseStarted(exchange);
            status = response.status().code();
            HttpResponse relayed = new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(),
                    response.headers().copy());
            ProxyHeaders.removeHopByHop(relayed.headers());
            if (!exchange.keepAlive) {
                relayed.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            frontend.inbound().write(relayed);
        }
        if (msg instanceof HttpContent content) {
            boolean last = content instanceof LastHttpContent;
            if (last) {
                ended = true;
                frontend.inbound().writeAndFlush(content).addListener(f -> frontend.responseEnded(exchange, status));
                return;
            }
            frontend.inbound().writeAndFlush(content);
            if (!frontend.inbound().isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        frontend.outboundWritable(exchange, ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!ended) {
            ended = true;
            frontend.failExchange(exchange, HttpResponseStatus.BAD_GATEWAY);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof java.io.IOException) {
            ctx.close(); // channelInactive answers 502 or closes the client
            return;
        }
        ctx.fireExceptionCaught(cause);
    }
}
