package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;

/**
 * An HTTP/2 stream's request body on its way to the endpoint, under HTTP/2 flow control: DATA frames and trailers
 * go to the stream's {@link Exchange}, and their bytes go back to the client's window only once the endpoint's
 * connection takes them. Its state is the stream's ({@link Http2StreamFrontend#held}, {@link
 * Http2StreamFrontend#queued}); static, so that a stream makes nothing more than before. Called on the client
 * connection's event loop.
 */
final class Http2RequestBody {
    private Http2RequestBody() {
    }

    /**
     * A DATA frame of the request body; returns the bytes given back to the client's window now. A frame goes to
     * the endpoint's connection as it is only while that connection takes more; otherwise its bytes are copied into
     * {@link Http2StreamFrontend#queued}, so what the stream holds is its window's bytes, never one object per frame
     * (a client could send a whole window as 1-byte frames, each costing hundreds of bytes as a message of its own).
     */
    static int onData(Http2StreamFrontend f, ByteBuf data, int padding, boolean endOfStream) {
        int bytes = data.readableBytes() + padding;
        Exchange ex = f.exchange;
        if (f.discarding || ex == null || ex.requestEnded) {
            return bytes;
        }
        if (f.queued == null && ex.outbound != null && ex.outbound.isWritable()) {
            HttpContent part = endOfStream ? new DefaultLastHttpContent(data.retain())
                    : new DefaultHttpContent(data.retain());
            boolean more = ex.send(part);
            f.connection.flushAtReadComplete(ex);
            if (more || endOfStream) {
                return bytes;
            }
            f.held += bytes; // given back in readRequestBody or outboundWritable
            return 0;
        }
        if (data.isReadable()) {
            ByteBuf q = f.queued;
            if (q == null) {
                f.queued = q = f.connection.context().alloc().buffer(Math.max(data.readableBytes(), 1024));
            }
            q.writeBytes(data);
        }
        if (endOfStream) {
            // the request's end goes to the exchange now, behind the held bytes (bounded by the stream's window),
            // so that its response timeout starts: an endpoint that reads no more then gets a 504, not a wait
            sendQueued(f, ex, LastHttpContent.EMPTY_LAST_CONTENT);
            return bytes; // the stream's last frame: its window no longer matters
        }
        f.held += bytes;
        return 0;
    }

    /** Trailers end the request body (behind the body bytes still held, if any). */
    static void onTrailers(Http2StreamFrontend f, Http2Headers headers) {
        Exchange ex = f.exchange;
        if (f.discarding || ex == null || ex.requestEnded) {
            return;
        }
        LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        try {
            HttpConversionUtil.addHttp2ToHttpHeaders(f.stream.id(), headers, last.trailingHeaders(),
                    HttpVersion.HTTP_1_1, true, true);
        } catch (Http2Exception e) {
            f.failExchange(ex, HttpResponseStatus.BAD_REQUEST);
            return;
        }
        if (f.queued != null) {
            sendQueued(f, ex, last); // as the end of a DATA frame in onData
            return;
        }
        ex.send(last);
        f.connection.flushAtReadComplete(ex);
    }

    /**
     * Sends the body bytes held in {@link Http2StreamFrontend#queued} and then the request's {@code end}, if given,
     * to the endpoint's connection (which takes more now, or the request ended) and flushes them; returns whether it
     * still takes more or the request ended (then the held window goes back).
     */
    static boolean sendQueued(Http2StreamFrontend f, Exchange ex, LastHttpContent end) {
        ByteBuf q = f.queued;
        if (q == null && end == null) {
            return true;
        }
        f.queued = null;
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

    static void dropQueued(Http2StreamFrontend f) {
        ByteBuf q = f.queued;
        if (q != null) {
            f.queued = null;
            q.release();
        }
    }

    /** The request body bytes the endpoint took go back to the client's window. */
    static void giveBackHeld(Http2StreamFrontend f) {
        int n = f.held;
        if (n > 0 && !f.closed) {
            f.held = 0;
            f.connection.consume(f.stream, n);
        }
    }

    /** See {@link Http2IngressHandler#requestBytesHeld}. */
    static long bytesHeld(Http2StreamFrontend f) {
        long n = f.queued == null ? 0 : f.queued.capacity();
        Exchange ex = f.exchange;
        if (ex != null && ex.outbound != null) {
            ChannelOutboundBuffer pending = ex.outbound.unsafe().outboundBuffer();
            if (pending != null) {
                n += pending.totalPendingWriteBytes();
            }
        }
        return n;
    }
}
