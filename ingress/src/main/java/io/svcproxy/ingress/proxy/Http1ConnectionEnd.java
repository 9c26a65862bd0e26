package io.svcproxy.ingress.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.util.ReferenceCountUtil;

/**
 * How an HTTP/1.1 client connection ({@link IngressFrontendHandler}) stops serving requests: it becomes HTTP/2 (h2c
 * upgrade or prior knowledge), the client half-closes it, the client goes away, or a read or write fails. The
 * listener's drain and the idle timeout reach the handler itself ({@link IngressFrontendHandler#closeAfterResponse},
 * {@link IngressFrontendHandler#idleTimedOut}) and are honoured here. Static helpers on the handler's fields, for its
 * Netty events; called on the client connection's event loop.
 */
final class Http1ConnectionEnd {
    private Http1ConnectionEnd() {
    }

    static void userEventTriggered(IngressFrontendHandler h, ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof HttpServerUpgradeHandler.UpgradeEvent
                || evt instanceof CleartextHttp2ServerUpgradeHandler.PriorKnowledgeUpgradeEvent) {
            // the connection speaks HTTP/2 now: each stream has its own handler, and a client's FIN ends it
            h.inbound.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
            ctx.pipeline().remove(h);
            if (h.draining && h.timeouts != null) {
                // a drain came while the preface or the upgrade request was read: drained again, now as HTTP/2
                ctx.fireUserEventTriggered(evt);
                h.timeouts.drain();
                return;
            }
        } else if (evt instanceof ChannelInputShutdownEvent) {
            h.inputShutdown = true;
            if (h.queued.isEmpty()) {
                closeWhenAnswered(h);
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * After the client's half-close: closes now if no request is in flight (or one whose body can no longer
     * arrive whole), else after its response.
     */
    static void closeWhenAnswered(IngressFrontendHandler h) {
        Exchange ex = h.exchange;
        if (ex == null) {
            h.inbound.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else if (!ex.requestEnded) {
            h.inbound.close();
        } else {
            ex.closeAfterResponse();
        }
    }

    static void channelInactive(IngressFrontendHandler h, ChannelHandlerContext ctx) {
        Exchange ex = h.exchange;
        h.exchange = null;
        if (ex != null) {
            // the client went away (or went idle) with its request unanswered or its response unfinished: still a
            // request
            ex.abort();
            h.logAccess(ex.request, ex.clientGoneStatus(h.idleTimedOut), ex.route, ex.backend);
        }
        Object msg;
        while ((msg = h.queued.poll()) != null) {
            ReferenceCountUtil.release(msg);
        }
        ctx.fireChannelInactive();
    }

    static void exceptionCaught(IngressFrontendHandler h, ChannelHandlerContext ctx, Throwable cause) {
        // a failed read or write (the responses' writes have no futures: their failures come here) leaves the
        // connection in no state to go on: it closes either way, and an exception that is not the network's or the
        // client's TLS (ClientFailures: a record that does not decrypt) goes on to be logged
        ctx.close();
        if (ClientFailures.includes(cause)) {
            AccessLog.LOG.debug("Client connection failed client={} cause={}", h.inbound.remoteAddress(),
                    cause.toString());
            return;
        }
        ctx.fireExceptionCaught(cause);
    }
}
