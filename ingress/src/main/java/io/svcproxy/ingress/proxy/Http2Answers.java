package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.charset.StandardCharsets;

/**
 * The proxy's own answers on an HTTP/2 stream (a refusal's 400, 414, 431 or 501, a 404 or 503 of routing, a
 * redirect, a failed exchange's 502 or 504): the status with its text as the body, ending the stream, never the
 * connection. The HTTP/2 counterpart of {@link Http1Answers}. Static; called on the client connection's event loop.
 */
final class Http2Answers {
    private Http2Answers() {
    }

    /**
     * Writes the answer's HEADERS (and DATA) on stream {@code streamId}; the caller flushes. {@code location}: a
     * redirect's target, else {@code null}; {@code request}: {@code null} when the stream's head never became one.
     */
    static ChannelFuture write(Http2IngressHandler connection, int streamId, HttpResponseStatus status,
                               String location, HttpRequest request) {
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
            return connection.encoder().writeHeaders(ctx, streamId, headers, 0, true, ctx.newPromise());
        }
        connection.encoder().writeHeaders(ctx, streamId, headers, 0, false, ctx.newPromise());
        return connection.encoder().writeData(ctx, streamId, body, 0, true, ctx.newPromise());
    }
}
