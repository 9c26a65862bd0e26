package io.svcproxy.proxy.admin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;

/**
 * Netty's aggregator, whose own refusals are the admin server's answers: a body over the limit ({@code 413}) and
 * an expectation it does not know ({@code 417}) are answered as {@link AdminHandler} answers (text/plain with a
 * body, no-store, nosniff, the Content-Security-Policy, ...), not with Netty's bare {@code content-length: 0}. A
 * request that waits for its {@code 100 Continue} and is refused instead is answered with {@code Connection: close}
 * and the connection closes: the client may skip its body then (RFC 9110 10.1.1), so what it sends next could be
 * either the body or its next request (Apache and Go's server close there too). A body over the limit that is
 * being sent anyway is dropped and the connection kept alive when the client asked, as Netty does, unless part of
 * it was read already (a chunked body past the limit): then it closes.
 */
final class AdminAggregator extends HttpObjectAggregator {
    AdminAggregator(int maxContentLength) {
        super(maxContentLength, true); // closeOnExpectationFailed: a refused 100-continue closes
    }

    @Override
    protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
        Object netty = super.newContinueResponse(start, maxContentLength, pipeline);
        if (!(netty instanceof HttpResponse refusal) || refusal.status().codeClass() != HttpStatusClass.CLIENT_ERROR) {
            return netty; // a 100 Continue, or nothing to answer
        }
        HttpResponseStatus status = refusal.status();
        ReferenceCountUtil.release(netty);
        // closed after it (closeAfterContinueResponse, for a client error): said so
        return answer(start, status, false);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
        if (!(oversized instanceof HttpRequest)) {
            super.handleOversizedMessage(ctx, oversized);
            return;
        }
        // part of the body was read (chunked, past the limit), or the client does not keep the connection: closed;
        // else the body is dropped as it comes and the connection goes on (Netty's choice)
        boolean keepAlive = !(oversized instanceof FullHttpMessage) && HttpUtil.isKeepAlive(oversized);
        ctx.writeAndFlush(answer(oversized, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, keepAlive))
                .addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
    }

    private static FullHttpResponse answer(HttpMessage request, HttpResponseStatus status, boolean keepAlive) {
        String text = status.code() == HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE.code()
                ? "request body too large: at most " + AdminServer.MAX_CONTENT_LENGTH + " bytes\n"
                : "expectation failed: only 100-continue is known\n";
        ByteBuf body = Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
        FullHttpResponse response = AdminHandler.response(status, AdminHandler.TEXT, body);
        response.setProtocolVersion(request.protocolVersion());
        HttpUtil.setContentLength(response, body.readableBytes());
        HttpUtil.setKeepAlive(response, keepAlive);
        return response;
    }
}
