package io.svcproxy.ingress.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Collection;
import java.util.List;

/**
 * The request decoder of an HTTP/1.1 client connection, taken out at the end of a WebSocket upgrade request and put
 * back if the endpoint refuses it. A client may send its first frames right behind the upgrade request (RFC 6455 asks
 * it to wait for the 101, and nginx relays them when it does not): left in, the decoder would read them as the next
 * request, and what it does not keep of them (control characters it skips, a line it refuses) would be lost. Taken
 * out, the bytes it holds and all that follows reach the frontend as they came: the tunnel's first bytes after a
 * 101, or a fresh decoder's input after any other answer, so pipelined requests are answered as before. Between
 * requests it tells whether the decoder holds the start of the next one ({@link #holdsBytes}: the request timeout
 * runs from there).
 */
final class RequestDecoding {
    /** {@code HttpServerCodec}'s request decoder: {@code CombinedChannelDuplexHandler.inboundHandler()}. */
    private static final MethodHandle DECODER;
    /** The bytes a decoder holds undecoded: {@code ByteToMessageDecoder.actualReadableBytes()}. */
    private static final MethodHandle UNDECODED;

    static {
        // both protected, and HttpServerCodec is final: looked up once (a Netty upgrade that moves them fails here,
        // at the first connection, and in the tests)
        try {
            DECODER = MethodHandles.privateLookupIn(CombinedChannelDuplexHandler.class, MethodHandles.lookup())
                    .findVirtual(CombinedChannelDuplexHandler.class, "inboundHandler",
                            MethodType.methodType(ChannelInboundHandler.class));
            UNDECODED = MethodHandles.privateLookupIn(ByteToMessageDecoder.class, MethodHandles.lookup())
                    .findVirtual(ByteToMessageDecoder.class, "actualReadableBytes", MethodType.methodType(int.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private RequestDecoding() {
    }

    /**
     * Whether the request decoder holds bytes it has not decoded: the start of a request whose head is not complete
     * (called between requests, or while the decoder passes on a request from the middle of a read: then also the
     * bytes behind it in that read).
     */
    static boolean holdsBytes(ChannelPipeline pipeline) {
        HttpServerCodec codec = pipeline.get(HttpServerCodec.class);
        if (codec == null) {
            return false;
        }
        try {
            return (int) UNDECODED.invoke((ByteToMessageDecoder) DECODER.invoke(codec)) > 0;
        } catch (Throwable e) { // neither throws: protected getters
            throw new IllegalStateException(e);
        }
    }

    /**
     * Takes the request decoder out; the bytes it holds go on down the pipeline as they are, before this returns.
     * Called from inside the decoder's own read (the upgrade request's end), which stops there (Netty's decoders
     * check for their removal after each message they pass on).
     */
    static void stop(ChannelPipeline pipeline) {
        pipeline.get(HttpServerCodec.class).removeInboundHandler();
    }

    /**
     * Puts a fresh codec (the listener's limits) in place of the one without a decoder, and decodes {@code held},
     * the bytes read since {@link #stop}, through it (and the timeouts, behind which it sits) as a read of its own. HTTP/2's cleartext upgrade is no longer
     * offered on this connection: its handler would take out the codec it was made with, not this one.
     */
    static void resume(ChannelPipeline pipeline, IngressOptions options, Collection<Object> held) {
        HttpServerCodec old = pipeline.get(HttpServerCodec.class);
        String name = pipeline.context(old).name();
        if (pipeline.get(HttpServerUpgradeHandler.class) != null) {
            pipeline.remove(HttpServerUpgradeHandler.class);
        }
        pipeline.replace(old, name, Http1Codecs.server(options));
        if (held.isEmpty()) {
            return;
        }
        // passed on as if they were read now: by the handler before the timeouts' (which note a request's first
        // bytes), or before the codec without them
        ClientTimeouts timeouts = pipeline.get(ClientTimeouts.class);
        List<String> names = pipeline.names();
        int at = names.indexOf(timeouts != null ? pipeline.context(timeouts).name() : name);
        ChannelHandlerContext before = at > 0 ? pipeline.context(names.get(at - 1)) : null;
        for (Object bytes : held) {
            if (before == null) {
                pipeline.fireChannelRead(bytes);
            } else {
                before.fireChannelRead(bytes);
            }
        }
        if (before == null) {
            pipeline.fireChannelReadComplete();
        } else {
            before.fireChannelReadComplete();
        }
    }
}
