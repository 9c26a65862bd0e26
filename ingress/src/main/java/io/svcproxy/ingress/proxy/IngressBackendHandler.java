package io.svcproxy.ingress.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;

/**
 * An outbound connection to an endpoint: relays the response of the request it is bound to back to the client,
 * stopping reads while the client's socket (or HTTP/2 stream window) is full. The endpoint closing before the
 * response's headers is a 502 (or a resend, see {@link Exchange#resendOnFreshConnection}). Between requests the
 * connection waits in its event loop's {@link EndpointPool}, unbound; the endpoint sending anything then, or
 * closing, takes it out of the pool.
 */
final class IngressBackendHandler extends ChannelInboundHandlerAdapter {
    /** Its name in the outbound pipeline. */
    static final String NAME = "proxy";

    private final EndpointPool pool;
    private final InetSocketAddress endpoint;
    private Exchange exchange;
    private int status;
    private boolean ended;
    private boolean reusable;
    /** An interim (1xx) response was read: the codec's empty last part that follows it belongs to it. */
    private boolean interim;
    /** The client connection written to in this read loop and not flushed yet: flushed once, at its end. */
    private Frontend unflushed;
    /**
     * The response's head, decoded in this read loop and not written yet: sent with its last part as one message
     * when the whole response is in the read, else before the first part of its body or at the read's end.
     * Never held across reads; its client connection is {@link #unflushed}.
     */
    private HttpResponse head;
    /**
     * The request whose response's last part was written in this read loop, towards a frontend that
     * {@linkplain Frontend#endsResponseAtFlush ends it at the flush}: told so after the read's flush.
     */
    private Exchange answered;
    private int answeredStatus;
    /**
     * An exception closed the connection ({@link #exceptionCaught}): the parts decoded behind it in the same read are
     * dropped, not relayed (a response's part without its head would break the client's encoder), and
     * {@link #channelInactive} answers the request.
     */
    private boolean failed;
    /** The connection's codec, added before this handler: whether its decoder holds bytes ({@link #reusable}). */
    private EndpointCodec codec;

    IngressBackendHandler(EndpointPool pool, InetSocketAddress endpoint) {
        this.pool = pool;
        this.endpoint = endpoint;
    }

    /** Binds the connection to a request. */
    void bind(Exchange exchange) {
        this.exchange = exchange;
        this.status = 0;
        this.ended = false;
        this.reusable = false;
        this.interim = false;
        this.head = null;
    }

    /**
     * Whether the response ended and both sides keep the connection: then it may serve the next request. Not when
     * the decoder holds bytes after the response (part of a line it could not finish: an extra body without its
     * line end), which would be read as the start of the next response.
     */
    boolean reusable() {
        if (!ended || !reusable) {
            return false;
        }
        return codec == null || codec.holdsNothing();
    }

    /** The request the connection serves, or {@code null} between requests. */
    Exchange exchange() {
        return exchange;
    }

    /** Unbinds the connection from its request, before it goes to the pool. */
    void unbind() {
        exchange = null;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        codec = ctx.pipeline().get(EndpointCodec.class); // looked up once, not per response
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Exchange ex = exchange;
        if (ex == null) {
            ReferenceCountUtil.release(msg); // an idle connection speaking out of turn is not reused
            ctx.close();
            return;
        }
        if (ended || failed) {
            // bytes after the response's end (a body to HEAD, 204 or 304, more than its Content-Length): the
            // decoder is off the message boundaries now, so the connection is not reused (as nginx keeps none
            // that sent more than it said)
            ReferenceCountUtil.release(msg);
            reusable = false;
            return;
        }
        if (msg instanceof HttpResponse response) {
            if (response.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                ended = true;
                ex.frontend.failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
                return;
            }
            if (response.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)
                    && response.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
                // both framings (RFC 9112 6.3: "ought to be handled as an error", a sign of response splitting):
                // a 502 and the connection closes, never reused. Netty's decoder fails such a response itself when
                // its coding is chunked (and any Transfer-Encoding in HTTP/1.0); another coding it frames by the
                // length, where Transfer-Encoding should win and the body end at the close
                ReferenceCountUtil.release(msg);
                ended = true;
                AccessLog.LOG.debug("Response with Content-Length and Transfer-Encoding "
                        + "endpoint={}", endpoint);
                ex.frontend.failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
                return;
            }
            int code = response.status().code();
            if (code == 101) {
                ReferenceCountUtil.release(msg);
                ended = true;
                if (ex.upgrade) {
                    ex.responseStarted(code);
                    ex.frontend.upgraded(ex, response);
                } else {
                    // a switch the request did not offer (the proxy forwards no Upgrade but WebSocket's; RFC 9110
                    // 15.2.2): the decoder passes what follows as raw bytes, dropped above; the connection closes
                    ex.frontend.failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
                }
                return;
            }
            if (code >= 100 && code < 200) {
                interim = true;
                if (code == 100) {
                    ex.continueRelayed = true;
                }
                relayInterim(ex, response);
                return;
            }
            interim = false;
            if (ex.answersEarly()) {
                // a final status before the HTTP/1.1 request's body ended (the endpoint refuses the upload unread):
                // the proxy drops the rest of the body and closes after the response (responseEnded, LingeringClose),
                // and a client still waiting for its 100 may skip its body (RFC 9110 10.1.1). Said in the response
                // (Connection: close; RFC 9112 9.6, RFC 9110 10.1.1: the server says whether it closes), so that the
                // client sends its next request on another connection
                ex.closeAfterResponse();
            }
            ex.responseStarted(code);
            status = code;
            reusable = HttpUtil.isKeepAlive(response);
            // relayed as decoded, its headers rewritten in place (the decoder read its framing before passing it on)
            HttpResponse relayed = response;
            relayed.setProtocolVersion(HttpVersion.HTTP_1_1);
            ProxyHeaders.removeHopByHop(relayed.headers(), false);
            if (ProxyHeaders.endsAtClose(relayed, ex.request.method())) {
                // a body that ends when the endpoint closes (RFC 9112 6.3, item 8: an HTTP/1.0 endpoint, or one
                // that says Connection: close without a length): passed on the same way, so the client connection
                // closes after it, as HAProxy does; a client kept alive could not tell where the body ends
                ex.closeAfterResponse();
                reusable = false;
            }
            if (ex.request.protocolVersion().equals(HttpVersion.HTTP_1_0)
                    && HttpUtil.isTransferEncodingChunked(relayed)) {
                // an HTTP/1.0 client knows no chunked coding: the body goes raw, delimited by the close
                relayed.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
                ex.closeAfterResponse();
            }
            if (!ex.keepAlive) {
                relayed.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (ex.request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                // an HTTP/1.0 client that asked to keep the connection is told it persists (RFC 9112 9.3, C.2.2)
                relayed.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            if (ex.frontend.takesWholeResponse()) {
                // held, written with the next part or at the read's end (a Frontend that takes a whole response as
                // one message; another gets head and parts as they come)
                head = relayed;
            } else {
                ex.frontend.write(relayed);
            }
            unflushed = ex.frontend;
        }
        if (msg instanceof HttpContent content) {
            if (content.decoderResult().isFailure()) {
                content.release();
                malformedBody(ex);
                return;
            }
            if (interim) {
                content.release(); // the end of the 1xx, not of the response
                interim = false;
                return;
            }
            unflushed = ex.frontend;
            if (content instanceof LastHttpContent last) {
                ended = true;
                int code = status;
                HttpResponse h = head;
                HttpObject whole = last;
                if (h != null) {
                    // the whole response came in one read: one message, which the HTTP/1.1 encoder writes as one
                    // buffer (the body copied behind the head when small) and HTTP/2 as HEADERS and DATA
                    head = null;
                    whole = new DefaultFullHttpResponse(h.protocolVersion(), h.status(), last.content(), h.headers(),
                            last.trailingHeaders());
                }
                if (ex.frontend.endsResponseAtFlush()) {
                    ex.frontend.write(whole);
                    answered = ex;
                    answeredStatus = code;
                } else {
                    ex.frontend.write(whole).addListener(w -> ex.frontend.responseEnded(ex, code));
                }
                return;
            }
            writeHead();
            ex.frontend.write(content);
            if (!ex.frontend.isWritable()) {
                flush(); // the event of writability come back fires in it if the socket takes it all
                if (!ex.frontend.isWritable()) {
                    ctx.channel().config().setAutoRead(false);
                }
            }
        } else if (!(msg instanceof HttpResponse)) {
            // raw bytes: none should come while a request is bound (after a 101 the handler is a Tunnel or ended)
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * Relays an interim response (1xx but 101) ahead of the final one: RFC 9110 15.2, "A proxy MUST forward 1xx
     * responses unless the proxy itself requested the generation of the 1xx response" (the proxy requests none),
     * as HAProxy forwards them: a {@code 100} whether or not the client sent {@code Expect: 100-continue} (a client
     * must parse one it did not expect), a {@code 103 Early Hints} with its {@code Link} fields. An HTTP/1.0 client
     * gets none: a server must not send it a 1xx (RFC 9110 15.2). On HTTP/2 it is an interim HEADERS frame.
     */
    private static void relayInterim(Exchange ex, HttpResponse response) {
        if (ex.request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            return;
        }
        ProxyHeaders.removeHopByHop(response.headers(), false);
        // a 1xx has no content and may not say it has (RFC 9110 8.6: no Content-Length; HTTP/2 clients refuse one,
        // as nghttp2 does a 100 with the JDK server's Content-Length: 0)
        response.headers().remove(HttpHeaderNames.CONTENT_LENGTH).remove(HttpHeaderNames.TRANSFER_ENCODING);
        ex.frontend.write(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, response.status(), Unpooled.EMPTY_BUFFER,
                response.headers(), EmptyHttpHeaders.INSTANCE));
        ex.frontend.flush();
    }

    /**
     * The decoder failed inside the response's body (a malformed chunk: its last part carries the failure, and the
     * decoder reads nothing more on this connection). The connection closes, never pooled; the client's response
     * is aborted: a 502 if its head was not written yet, else the client's connection closes short of the body's
     * end (an HTTP/2 stream is reset), so that the client sees the truncation.
     */
    private void malformedBody(Exchange ex) {
        ended = true;
        reusable = false;
        AccessLog.LOG.debug("Malformed response body endpoint={}", endpoint);
        if (head != null) {
            head = null; // nothing of this response was written: the client gets the proxy's 502 instead
            ex.responseNotRelayed();
        } else {
            flush(); // the parts before the failure, then the truncation
        }
        ex.frontend.failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
    }

    /** One flush towards the client per read loop of the endpoint's connection. */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        flush();
        ctx.fireChannelReadComplete();
    }

    private void flush() {
        Frontend f = unflushed;
        if (f != null) {
            writeHead();
            unflushed = null;
            f.flush();
        }
        Exchange a = answered;
        if (a != null) {
            // after the whole read: bytes the endpoint sent behind the response were dropped as out of turn, so
            // the connection goes back to the pool (or serves the client's next request) clean
            answered = null;
            a.frontend.responseEnded(a, answeredStatus);
        }
    }

    /** Writes the response's head if it is still held (its body did not end in the same read). */
    private void writeHead() {
        HttpResponse h = head;
        if (h != null) {
            head = null;
            unflushed.write(h);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange ex = exchange;
        if (ex != null) {
            ex.frontend.outboundWritable(ex, ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        flush(); // what the last read loop relayed, before the connection's end is acted on
        Exchange ex = exchange;
        if (ex == null) {
            pool.remove(endpoint, ctx.channel());
            return;
        }
        if (!ended) {
            ended = true;
            if (status == 0) {
                ex.frontend.endpointClosedBeforeResponse(ex);
            } else {
                ex.frontend.failExchange(ex, HttpResponseStatus.BAD_GATEWAY);
            }
        }
    }

    /**
     * A failed read or write (the request's writes have no futures: their failures come here). The connection
     * closes either way, so {@link #channelInactive} answers 502 or closes the client; an exception that is not
     * the network's goes on to be logged.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failed = true;
        ctx.close();
        if (cause instanceof java.io.IOException) {
            AccessLog.LOG.debug("Endpoint connection failed endpoint={} cause={}", endpoint,
                    cause.toString());
            return;
        }
        ctx.fireExceptionCaught(cause);
    }
}
