package io.svcproxy.ingress.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The client side of an {@link Exchange}: an HTTP/1.1 connection ({@link IngressFrontendHandler}) or one HTTP/2
 * stream. The exchange and its {@link IngressBackendHandler} reach the client only through it, so a stream needs
 * no channel of its own. Called on the client connection's event loop only.
 */
interface Frontend {
    /** The client's TCP connection: its event loop, transport class and addresses serve the endpoint connection. */
    Channel connection();

    /** Whether the client can still be answered (connection open; on HTTP/2 also the stream). */
    boolean isActive();

    /** Whether the client takes more of the response now (socket below its high water mark, stream window open). */
    boolean isWritable();

    /**
     * Writes a part of the response, HTTP/1.1 style: an {@link HttpResponse} head (a full one for a 1xx), then its
     * content, the last part ending the response. Flushed by {@link #flush}.
     */
    ChannelFuture write(HttpObject part);

    /** Sends what {@link #write} wrote. */
    void flush();

    /**
     * Whether a response's head may be held back until the end of the endpoint's read, so that a response read whole
     * is written as one {@link io.netty.handler.codec.http.FullHttpResponse} (one buffer from the HTTP/1.1
     * encoder); otherwise the head is written as soon as it is read.
     */
    default boolean takesWholeResponse() {
        return false;
    }

    /**
     * Whether {@link #responseEnded} may follow the response's last part at the end of the endpoint's read, once it
     * is flushed, instead of through the last write's future when the write completed (the default). A frontend that
     * says so writes without futures (a failed write is its connection's {@code exceptionCaught}), and closes its
     * connection behind the writes before the close.
     */
    default boolean endsResponseAtFlush() {
        return false;
    }

    /** Reads the request body on (reading was paused while the endpoint connection was being made). */
    void readRequestBody();

    /** Whether {@code ex} is still the request in flight (not failed or answered meanwhile). */
    boolean isCurrent(Exchange ex);

    /** The response's last part was written to the client. */
    void responseEnded(Exchange ex, int status);

    /** The endpoint failed: a status of the proxy's own if the response has not started, else the client is closed. */
    void failExchange(Exchange ex, HttpResponseStatus status);

    /** The endpoint closed before any byte of the response: sent again on a fresh connection, or 502. */
    void endpointClosedBeforeResponse(Exchange ex);

    /** The endpoint's connection can take more of the request body, or cannot. */
    void outboundWritable(Exchange ex, boolean writable);

    /** The endpoint answered 101 to a WebSocket upgrade (HTTP/1.1 only): the connection becomes a byte relay. */
    void upgraded(Exchange ex, HttpResponse switching);
}
