package io.svcproxy.ingress.proxy;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import java.nio.charset.StandardCharsets;

/**
 * The proxy's own answers on an HTTP/1.1 client connection ({@link IngressFrontendHandler}): a refusal's 400, 414,
 * 431 or 501, routing's 404 or 503, a redirect, a failed exchange's 502 or 504, each the status with its text as the
 * body; and the end of a connection whose request cannot be answered with a status any more. Static helpers on the
 * handler's fields: nothing is made here but the answer itself. Called on the client connection's event loop.
 */
final class Http1Answers {
    private Http1Answers() {
    }

    /** Answers with a status of the proxy's own; {@code location}: a redirect's target, else {@code null}. */
    static void respond(IngressFrontendHandler h, HttpRequest request, Route<ServiceBackend> route,
                        HttpResponseStatus status, String location) {
        boolean keepAlive = !h.draining && HttpUtil.isKeepAlive(request);
        h.discarding = Http1Requests.bodyFollows(request);
        h.logAccess(request, status.code(), route, null);
        if (keepAlive && h.discarding && HttpUtil.is100ContinueExpected(request)) {
            writeContinue(h);
        }
        writeStatus(h, status, keepAlive, location);
        if (!h.discarding) {
            // a body still coming is no next request: the request ends at its end (Http1RequestReader)
            h.requestOver();
        }
    }

    /**
     * The decoder failed inside a request's body (a malformed chunk; it decodes nothing more of this connection).
     * The request is not completed towards the endpoint (its connection closes), the client gets a 400 if no
     * response to it started, and its connection closes, lingering: the rest of the body may still be coming.
     */
    static void malformedBody(IngressFrontendHandler h) {
        Exchange ex = h.exchange;
        h.exchange = null;
        h.discarding = true;
        if (ex == null) {
            // the proxy answered the request itself already: closed behind that answer
            LingeringClose.close(h);
            return;
        }
        ex.abort();
        if (closeMidResponse(h, ex)) {
            return;
        }
        h.logAccess(ex.request, HttpResponseStatus.BAD_REQUEST.code(), ex.route, ex.backend);
        writeStatus(h, HttpResponseStatus.BAD_REQUEST, false);
    }

    /**
     * Ends the client's connection when the response to {@code ex} had started (its status and part of its body went
     * out, so no status can follow): counted and logged as answered, with the status the client got. Returns whether
     * it did. The connection is reset, as HAProxy ends a response its server failed: a FIN (or TLS's close_notify)
     * would let the client read a close-delimited body cut short as complete.
     */
    static boolean closeMidResponse(IngressFrontendHandler h, Exchange ex) {
        if (!ex.responseStarted) {
            return false;
        }
        h.logAccess(ex.request, ex.responseStatus, ex.route, ex.backend);
        Resets.now(h.inbound);
        return true;
    }

    /**
     * A {@code 100 Continue} ahead of the proxy's own final status to a request that waits for it ({@code Expect:
     * 100-continue}, HTTP/1.1) on a connection kept alive: the proxy reads the body after its answer and drops it
     * (the next request starts behind it), so it asks for it, as nginx does ({@code ngx_http_discard_request_body}
     * sends the 100 before the error page). Without it the client may skip the body (RFC 9110 10.1.1: it got a
     * final status without its 100) and send its next request, which the proxy would take as that body. A status
     * that closes the connection needs none: the body is not waited for.
     */
    static void writeContinue(IngressFrontendHandler h) {
        h.inbound.write(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                Unpooled.EMPTY_BUFFER), h.inbound.voidPromise());
    }

    static void writeStatus(IngressFrontendHandler h, HttpResponseStatus status, boolean keepAlive) {
        writeStatus(h, status, keepAlive, null);
    }

    static void writeStatus(IngressFrontendHandler h, HttpResponseStatus status, boolean keepAlive,
                            String location) {
        writeStatus(h, status, keepAlive, location, status.toString());
    }

    /** Answers {@code status} with {@code text} (and a newline) as the body. */
    static void writeStatus(IngressFrontendHandler h, HttpResponseStatus status, boolean keepAlive,
                            String location, String text) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(text + "\n", StandardCharsets.US_ASCII));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        // the proxy answers as an origin server here: it dates its answer (RFC 9110 6.6.1), as nginx does
        response.headers().set(HttpHeaderNames.DATE, DateFormatter.format(new java.util.Date()));
        if (location != null) {
            response.headers().set(HttpHeaderNames.LOCATION, location);
        }
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            h.inbound.write(response);
            LingeringClose.close(h); // lingers while the request's body is still coming (h.discarding)
        } else {
            if (h.http10) {
                // an HTTP/1.0 client closes unless told the connection persists (RFC 9112 9.3, C.2.2)
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            h.inbound.writeAndFlush(response);
        }
    }
}
