package io.svcproxy.ingress.proxy;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;

/**
 * An HTTP/1.x request head as the Ingress takes it from a client ({@link IngressFrontendHandler}): refused when it
 * may not be forwarded, else the HTTP/1.1 message that goes to the endpoint.
 */
final class Http1Requests {
    private Http1Requests() {
    }

    /**
     * 414, 431 or 400 for a request the proxy refuses to forward (then the connection closes), 501 for
     * {@code CONNECT}, else {@code null}. An absolute-form target is rewritten to origin form here
     * ({@link ProxyHeaders#toOriginForm}); one with a control character or DEL is a 400
     * ({@link ProxyHeaders#isValidTarget}).
     */
    static HttpResponseStatus refusal(HttpRequest request, IngressOptions options) {
        if (request.decoderResult().isFailure()) {
            Throwable cause = request.decoderResult().cause();
            return cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                    : cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : HttpResponseStatus.BAD_REQUEST;
        }
        if (request.headers().size() > options.maxHeaders()) {
            return HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
        }
        if (!ProxyHeaders.hasValidFraming(request) || !ProxyHeaders.hasValidHost(request)) {
            return HttpResponseStatus.BAD_REQUEST;
        }
        if (HttpMethod.CONNECT.equals(request.method())) {
            // a tunnel to the authority it names: no host and path to route by, and no request an Ingress forwards
            return HttpResponseStatus.NOT_IMPLEMENTED;
        }
        if (!ProxyHeaders.toOriginForm(request) || !ProxyHeaders.isValidTarget(request.uri())) {
            return HttpResponseStatus.BAD_REQUEST;
        }
        // the Host as routed and forwarded (an absolute target's authority by now); HTTP/1.0 may come without one
        String host = request.headers().get(HttpHeaderNames.HOST);
        if (host != null && !ProxyHeaders.isValidHost(host)) {
            return HttpResponseStatus.BAD_REQUEST;
        }
        return null;
    }

    /**
     * Whether body bytes may follow {@code request}'s head on the connection: a chunked body, a
     * {@code Content-Length} above 0, or a head the decoder refused (what follows it is unknown). A request the h2c
     * upgrade handler aggregated came whole.
     */
    static boolean bodyFollows(HttpRequest request) {
        if (request instanceof LastHttpContent) {
            return false;
        }
        if (request.decoderResult().isFailure() || request.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            return true;
        }
        try {
            return HttpUtil.getContentLength(request, 0L) > 0;
        } catch (NumberFormatException e) {
            return true;
        }
    }

    /**
     * The message forwarded for {@code request}, sharing its headers (the caller rewrites them in place): HTTP/1.1
     * whatever the client spoke; a request without body (RFC 9112 6.3) as one message with its end, which the
     * encoder writes as one buffer.
     */
    static HttpRequest forwarded(HttpRequest request) {
        if (!HttpVersion.HTTP_1_1.equals(request.protocolVersion())
                && !request.headers().contains(HttpHeaderNames.HOST)) {
            // an HTTP/1.0 request may come without Host; the HTTP/1.1 one it becomes may not (RFC 9112 3.2: an empty
            // value where there is no authority), and endpoints such as Go's and Node's answer one without it 400
            request.headers().set(HttpHeaderNames.HOST, "");
        }
        if (!request.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
                && !request.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(),
                    Unpooled.EMPTY_BUFFER, request.headers(), EmptyHttpHeaders.INSTANCE);
        }
        if (HttpVersion.HTTP_1_1.equals(request.protocolVersion())) {
            return request;
        }
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(), request.headers());
    }
}
