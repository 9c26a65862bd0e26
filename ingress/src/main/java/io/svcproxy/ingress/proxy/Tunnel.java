package io.svcproxy.ingress.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.balancer.ConnectionCounters;
import java.util.Collection;

/**
 * One direction of an upgraded (WebSocket) connection: after the endpoint's 101 both channels drop their HTTP
 * codecs and relay bytes as they come, as the L4 relay does, with backpressure by readability toggling. Either side
 * closing closes the other once its writes are flushed. The endpoint's claim ({@code Lease}) lasts until then.
 *
 * <p>Both channels are on one event loop: plain fields.
 */
final class Tunnel extends ChannelInboundHandlerAdapter {
    private final Channel peer;
    /** The endpoint's counters the tunnel holds a claim on (the endpoint side's; {@code null} on the client's). */
    private final ConnectionCounters counters;

    private Tunnel(Channel peer, ConnectionCounters counters) {
        this.peer = peer;
        this.counters = counters;
    }

    /** Whether this is the endpoint side of a tunnel that holds a claim on {@code endpoint}. */
    boolean claims(ConnectionCounters endpoint) {
        return counters == endpoint;
    }

    /**
     * The endpoint left and its drain outlived {@code drainTimeout}: both connections are reset, as the relay's are
     * ({@code endpoint} is this side's channel).
     */
    void cut(Channel endpoint) {
        AccessLog.LOG.debug("Drain timeout: tunnel cut client={} endpoint={}", peer.remoteAddress(),
                endpoint.remoteAddress());
        Resets.now(peer);
        Resets.now(endpoint);
    }

    /**
     * Sends the endpoint's 101 to the client, then turns both connections into a byte relay. The codecs' encoders
     * go first (the 101 is encoded by then), then relays are in place before the decoders leave, so bytes a decoder
     * still holds reach the relay and the other side raw. {@code early}: what the client sent after its request and
     * before the 101 ({@link RequestDecoding}), the endpoint's first bytes.
     */
    static void open(Exchange ex, Channel inbound, HttpResponse switching, Collection<Object> early) {
        Channel outbound = ex.outbound;
        HttpResponse relayed = new DefaultHttpResponse(HttpVersion.HTTP_1_1, switching.status(),
                switching.headers().copy());
        inbound.writeAndFlush(relayed);
        ChannelPipeline in = inbound.pipeline();
        ChannelPipeline out = outbound.pipeline();
        HttpServerCodec serverCodec = in.get(HttpServerCodec.class);
        EndpointCodec clientCodec = out.get(EndpointCodec.class);
        serverCodec.removeOutboundHandler();
        clientCodec.removeOutboundHandler();
        if (in.get(CleartextHttp2ServerUpgradeHandler.class) != null) {
            in.remove(CleartextHttp2ServerUpgradeHandler.class);
        }
        if (in.get(HttpServerUpgradeHandler.class) != null) {
            in.remove(HttpServerUpgradeHandler.class);
        }
        ClientTimeouts timeouts = in.get(ClientTimeouts.class);
        if (timeouts != null) {
            timeouts.tunnel();
        }
        in.replace(IngressFrontendHandler.class, "tunnel", new Tunnel(outbound, null));
        out.replace(IngressBackendHandler.class, "tunnel", new Tunnel(inbound, ex.backend.counters()));
        in.remove(serverCodec);
        out.remove(clientCodec);
        outbound.closeFuture().addListener(f -> ex.lease.release());
        if (!early.stream().allMatch(ByteBuf.class::isInstance)) {
            // decoded as HTTP before the upgrade request was read (it was pipelined behind another request): the
            // bytes as sent are gone, so the tunnel cannot start with them; both sides close
            early.forEach(ReferenceCountUtil::release);
            AccessLog.LOG.debug("Upgrade with pipelined bytes decoded as HTTP, closing client={}",
                    inbound.remoteAddress());
            inbound.close();
            return;
        }
        for (Object bytes : early) {
            outbound.write(bytes).addListener(f -> {
                if (!f.isSuccess()) {
                    inbound.close(); // as a failed relay write: the client's side closes, the endpoint's with it
                }
            });
        }
        if (!early.isEmpty()) {
            outbound.flush();
        }
        inbound.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false); // either side's FIN ends both
        inbound.config().setAutoRead(outbound.isWritable());
        outbound.config().setAutoRead(inbound.isWritable());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpContent content) {
            // the client codec's empty end of the 101, decoded in the same read before it left: not relay data
            msg = content.content();
        }
        if (!(msg instanceof ByteBuf buf) || !buf.isReadable()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        peer.writeAndFlush(msg).addListener(f -> {
            if (!f.isSuccess()) {
                ctx.close();
            }
        });
        if (!peer.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        peer.config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (peer.isActive()) {
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // the relay cannot go on after any failure: the connection closes (and the peer with it, channelInactive),
        // and an exception that is not the network's or the client's TLS (ClientFailures) goes on to be logged
        ctx.close();
        if (ClientFailures.includes(cause)) {
            AccessLog.LOG.debug("Tunnel connection failed remote={} cause={}",
                    ctx.channel().remoteAddress(), cause.toString());
            return;
        }
        ctx.fireExceptionCaught(cause);
    }
}
