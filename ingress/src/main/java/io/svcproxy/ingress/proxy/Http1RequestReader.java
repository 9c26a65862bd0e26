package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.ingress.routing.RequestPath;

/**
 * Reads the decoded parts of an HTTP/1.1 client connection's request, one request at a time
 * ({@link IngressFrontendHandler}): a head is refused ({@link Http1Requests#refusal}), answered by the proxy
 * ({@link RequestRouting}) or rewritten for the endpoint ({@link ProxyHeaders}) and started as an {@link Exchange};
 * body parts go to that exchange or are dropped; a WebSocket upgrade request's end takes the request decoder out.
 * Static helpers on the handler's fields: nothing is made per request beyond what the exchange needs. Called on the
 * client connection's event loop.
 */
final class Http1RequestReader {
    private Http1RequestReader() {
    }

    /** Takes one decoded message (a request head, a body part, or both); anything else is released. */
    static void read(IngressFrontendHandler h, Object msg) {
        if (msg instanceof FullHttpRequest full) {
            // a request the h2c upgrade handler aggregated and did not upgrade: the head, then its end as a part
            HttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(),
                    full.headers());
            head.setDecoderResult(full.decoderResult());
            onRequest(h, head);
            onContent(h, new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
            return;
        }
        if (msg instanceof HttpRequest request) {
            onRequest(h, request);
        }
        if (msg instanceof HttpContent content) {
            onContent(h, content);
        } else if (!(msg instanceof HttpRequest)) {
            ReferenceCountUtil.release(msg);
        }
    }

    private static void onRequest(IngressFrontendHandler h, HttpRequest request) {
        if (h.timeouts != null) {
            h.timeouts.requestHeadRead();
        }
        h.requestStartNanos = System.nanoTime();
        h.http10 = HttpVersion.HTTP_1_0.equals(request.protocolVersion());
        if (h.plainOnTlsPort) {
            h.logAccess(request, HttpResponseStatus.BAD_REQUEST.code(), null, null);
            h.discarding = Http1Requests.bodyFollows(request);
            Http1Answers.writeStatus(h, HttpResponseStatus.BAD_REQUEST, false, null, PlainHttpOnTlsPort.ANSWER);
            return;
        }
        HttpResponseStatus invalid = Http1Requests.refusal(request, h.settings.options());
        // routed by its normal form (RequestPath), forwarded as received
        String path = invalid == null ? RequestPath.of(request.uri()) : null;
        if (path == null) {
            HttpResponseStatus status = invalid == null ? HttpResponseStatus.BAD_REQUEST : invalid;
            h.logAccess(request, status.code(), null, null);
            h.discarding = Http1Requests.bodyFollows(request);
            Http1Answers.writeStatus(h, status, false);
            return;
        }
        RequestRouting.Decision routed = RequestRouting.route(h.settings,
                request.headers().get(HttpHeaderNames.HOST), path, request.uri(), h);
        if (routed.status() != null) {
            Http1Answers.respond(h, request, routed.route(), routed.status(), routed.location());
            return;
        }
        boolean upgrade = ProxyHeaders.isWebSocketUpgrade(request);
        // forwarded with its own headers, rewritten in place once the exchange has read its Connection and Expect
        // fields (the access log reads only its method, target and Host afterwards)
        HttpRequest forwarded = Http1Requests.forwarded(request);
        Exchange ex = new Exchange(h, h.settings, request, forwarded, routed.route(), routed.target(),
                routed.pickContext(), upgrade, h.requestStartNanos);
        ProxyHeaders.removeHopByHop(forwarded.headers(), upgrade);
        ProxyHeaders.addForwarded(forwarded.headers(), h.clientAddress(), h.settings.proto());
        if (h.draining) {
            ex.closeAfterResponse();
        }
        h.exchange = ex;
        ex.start(routed.backend());
    }

    private static void onContent(IngressFrontendHandler h, HttpContent content) {
        if (content.decoderResult().isFailure()) {
            content.release();
            Http1Answers.malformedBody(h);
            return;
        }
        boolean last = content instanceof LastHttpContent;
        Exchange ex = h.exchange;
        if (h.discarding || ex == null || ex.requestEnded) {
            content.release();
            if (last && h.discarding) {
                // the request answered early ends here: from now on, bytes are the next request's
                h.discarding = false;
                if (h.draining) {
                    LingeringClose.close(h); // the listener shuts down: that request was the connection's last
                } else {
                    h.requestOver();
                }
            }
            return;
        }
        boolean more = ex.send(content);
        if (last ? ex.upgrade : !more) {
            h.inbound.config().setAutoRead(false);
        }
        if (last && ex.upgrade) {
            // what the client sent after its upgrade request (its first frames, if it did not wait for the 101)
            // comes raw from now on, queued for the tunnel or decoded again if the endpoint refuses
            h.rawAfterUpgrade = true;
            RequestDecoding.stop(h.inbound.pipeline());
        }
    }
}
