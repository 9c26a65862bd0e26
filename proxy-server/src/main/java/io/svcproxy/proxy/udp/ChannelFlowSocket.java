package io.svcproxy.proxy.udp;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A flow's socket as a Netty datagram channel of the data plane's transport, connected to the endpoint: the NIO
 * data plane's flow sockets. Datagrams sent while it connects are held (at most {@value #MAX_PENDING}) and sent
 * once it is connected; each datagram is written and flushed at its send (NIO sends one per system call anyway), so
 * that a send that meets the endpoint's refusal reports it for that datagram.
 */
final class ChannelFlowSocket implements FlowSocket {
    /** Datagrams a flow may hold while its socket connects (it usually connects at once). */
    private static final int MAX_PENDING = 16;
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(256 * 1024, 1024 * 1024);

    private final UdpFlow flow;
    private final Events events;
    private final Channel channel;
    /** Datagrams held while the channel connects; {@code null} once connected. Plain: the loop's thread only. */
    private List<ByteBuf> pending;
    private boolean closed;

    private ChannelFlowSocket(UdpFlow flow, Events events, EventLoop loop, Transport transport,
                              InetSocketAddress endpoint) throws IOException {
        this.flow = flow;
        this.events = events;
        ChannelFuture connect = new Bootstrap().group(loop).channel(transport.datagramChannel())
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(64 * 1024))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .handler(new EndpointHandler())
                .connect(endpoint);
        this.channel = connect.channel();
        if (connect.isDone() && !connect.isSuccess() && !channel.isRegistered()) {
            // no socket (EMFILE, ENFILE): Netty's stand-in channel, which was never registered and cannot be closed;
            // the caller drops the datagram as an error and releases what the flow took
            throw new IOException("flow socket: " + connect.cause(), connect.cause());
        }
        if (!connect.isDone()) {
            pending = new ArrayList<>(2);
            connect.addListener((ChannelFutureListener) this::connected);
        } else {
            connected(connect);
        }
    }

    /**
     * Returns a channel connecting to {@code endpoint} on {@code loop}; a failure is reported to {@code events}.
     *
     * @throws IOException if no socket could be opened (the descriptor limit)
     */
    static ChannelFlowSocket connect(UdpFlow flow, Events events, EventLoop loop, Transport transport,
                                     InetSocketAddress endpoint) throws IOException {
        return new ChannelFlowSocket(flow, events, loop, transport, endpoint);
    }

    private void connected(ChannelFuture f) {
        List<ByteBuf> held = pending;
        pending = null;
        if (!f.isSuccess() || closed) {
            if (held != null) {
                held.forEach(ReferenceCountUtil::release);
            }
            f.channel().close();
            if (!closed) {
                events.failed(flow, f.cause());
            }
            return;
        }
        if (held != null && !held.isEmpty()) {
            for (ByteBuf msg : held) {
                channel.write(msg, channel.voidPromise());
            }
            channel.flush();
        }
    }

    @Override
    public Sent send(ByteBuf datagram) {
        if (channel.isActive()) {
            if (!channel.isWritable()) {
                datagram.release();
                return Sent.FULL;
            }
            // written at once (on the loop, a datagram channel's flush sends it now), so that an error the kernel
            // reports at this send (the ICMP port unreachable of an earlier datagram) is this datagram's, which the
            // listener then schedules again (SPEC); queued to the listener's flush, it was lost with its flow
            ChannelFuture sent = channel.writeAndFlush(datagram);
            if (sent.isDone() && !sent.isSuccess()) {
                if (!closed) {
                    events.failed(flow, sent.cause());
                }
                return Sent.FAILED;
            }
            if (!sent.isDone()) { // the socket's buffer was full: sent when it drains, or failed then
                sent.addListener(f -> {
                    if (!f.isSuccess() && !closed) {
                        events.failed(flow, f.cause());
                    }
                });
            }
            return Sent.YES;
        }
        if (pending != null && pending.size() < MAX_PENDING) {
            pending.add(datagram);
            return Sent.YES;
        }
        datagram.release();
        return Sent.FULL;
    }

    @Override
    public void close() {
        closed = true;
        if (pending != null) {
            pending.forEach(ReferenceCountUtil::release);
            pending = null;
        }
        channel.close();
    }

    /** The channel's handler: the endpoint's datagrams. */
    private final class EndpointHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (closed) {
                    return;
                }
                if (msg instanceof DatagramPacket packet) {
                    events.received(flow, packet.content());
                } else if (msg instanceof ByteBuf buf) {
                    events.received(flow, buf); // a connected epoll datagram channel may read plain buffers
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            events.readComplete();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!closed) {
                events.failed(flow, cause);
            }
        }
    }
}
