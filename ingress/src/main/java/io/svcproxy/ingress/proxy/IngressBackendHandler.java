package io.svcproxy.ingress.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;

/**
 * An outbound connection to an endpoint: relays the response of the request it is bound to back to the client,
 * stopping reads while the client's socket is full. The endpoint closing before the response's headers is a 502.
 * Between requests the connection waits in its event loop's {@link EndpointPool}, unbound; the endpoint sending
 * anything then, or closing, takes it out of the pool.
 */
final class IngressBackendHandler extends ChannelInboundHandlerAdapter {
    private final EndpointPool pool;
    private final InetSocketAddress endpoint;
    private IngressFrontendHandler frontend;
    private IngressFrontendHandler.Exchange exchange;
    private int status;
    private boolean ended;
    private boolean reusable;

    IngressBackendHandler(EndpointPool pool, InetSocketAddress endpoint) {
        this.pool = pool;
        this.endpoint = endpoint;
    }

    /** Binds the connection to a request. */
    void bind(IngressFrontendHandler frontend, IngressFrontendHandler.Exchange exchange) {
        this.frontend = frontend;
        this.exchange = exchange;
        this.status = 0;
        this.ended = false;
        this.reusable = false;
    }

    /** Whether the response ended and both sides keep the connection: then it may serve the next request. */
    boolean reusable() {
        return ended && reusable;
    }

    /** Unbinds the connection from its request, before it goes to the pool. */
    void unbind() {
        frontend = null;
        exchange = null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (exchange == null) {
            ReferenceCountUtil.release(msg); // an idle connection speaking out of turn is not reused
            ctx.close();
            return;
        }
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
            reusable = HttpUtil.isKeepAlive(response);
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
                IngressFrontendHandler f = frontend;
                IngressFrontendHandler.Exchange ex = exchange;
                f.inbound().writeAndFlush(content).addListener(w -> f.responseEnded(ex, status));
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
        if (exchange != null) {
            frontend.outboundWritable(exchange, ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (exchange == null) {
            pool.remove(endpoint, ctx.channel());
            return;
        }
        if (!ended) {
            ended = true;
            if (status == 0) {
                frontend.endpointClosedBeforeResponse(exchange);
            } else {
                frontend.failExchange(exchange, HttpResponseStatus.BAD_GATEWAY);
            }
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
