package io.svcproxy.ingress.proxy;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.ReferenceCountUtil;

/**
 * An endpoint's response, HTTP/1.1 style parts, as one HTTP/2 stream's frames ({@link Http2StreamFrontend#write}):
 * a head as HEADERS ({@link Http2ResponseHeaders}), content as DATA, trailers as a last HEADERS, the last frame
 * ending the stream. Static; called on the client connection's event loop.
 */
final class Http2ResponseFrames {
    private Http2ResponseFrames() {
    }

    /**
     * Writes {@code part} to {@code f}'s stream through its connection's encoder; marks the response written (and
     * keeps the last frame's write) once its last part is.
     */
    static ChannelFuture write(Http2StreamFrontend f, HttpObject part) {
        ChannelHandlerContext ctx = f.connection.context();
        Http2ConnectionEncoder encoder = f.connection.encoder();
        Http2Stream stream = f.stream;
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
                f.responseWritten = true;
                whole.release();
                return f.lastWrite = encoder.writeHeaders(ctx, stream.id(), headers, 0, true, ctx.newPromise());
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
        f.responseWritten = true;
        if (last.trailingHeaders().isEmpty()) {
            return f.lastWrite = encoder.writeData(ctx, stream.id(), content.content(), 0, true, ctx.newPromise());
        }
        if (content.content().isReadable()) {
            encoder.writeData(ctx, stream.id(), content.content(), 0, false, ctx.newPromise());
        } else {
            content.release();
        }
        Http2Headers trailers = new DefaultHttp2Headers();
        Http2ResponseHeaders.trailers(last.trailingHeaders(), trailers);
        return f.lastWrite = encoder.writeHeaders(ctx, stream.id(), trailers, 0, true, ctx.newPromise());
    }
}
