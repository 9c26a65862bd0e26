package io.svcproxy.proxy.dataplane;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollTcpInfo;
import io.netty.channel.epoll.RelayEpollSocketChannel;
import java.util.concurrent.TimeUnit;

/**
 * When bytes last moved either way on a relayed connection, for its idle timeout ({@link FrontendHandler#checkIdle}):
 * a read on either side or a paused side taking more again (the {@link Relay}'s directions write {@link #last}),
 * a side's peer taking bytes of what waits for it, and, on epoll, the kernel still sending to a slow reader. On the
 * connection's event loop: plain fields.
 */
final class RelayActivity {
    private final Channel inbound;
    private final Channel outbound;
    /** System.nanoTime() of the last activity seen. */
    long last = System.nanoTime();
    /** The bytes each side's outbound buffer held at the last idle check ({@link #lastActivity}). */
    private long pendingToClient;
    private long pendingToEndpoint;

    RelayActivity(Channel inbound, Channel outbound) {
        this.inbound = inbound;
        this.outbound = outbound;
    }

    /**
     * Returns System.nanoTime() of the last read, or of the last time a paused side could write again, or {@code
     * now} when a side's peer took bytes of what waits for it since the last call (its outbound buffer shrank): a
     * client reading a download slowly, while the endpoint's side is paused, moves bytes the whole time though
     * neither side is read and its buffer stays above the low water mark for longer than the idle timeout. As
     * nginx's {@code proxy_timeout} ("between two successive read or write operations") and HAProxy's timeouts count
     * writes. On the event loop, at each idle check.
     */
    long lastActivity(long now) {
        long toClient = pending(inbound);
        long toEndpoint = pending(outbound);
        if (toClient < pendingToClient || toEndpoint < pendingToEndpoint) {
            last = now;
        }
        pendingToClient = toClient;
        pendingToEndpoint = toEndpoint;
        return last;
    }

    /**
     * Whether, on epoll, the kernel sent either side's peer data within {@code idleNanos} and had an ACK from it in
     * that time: bytes still moving below svcproxy (a slow reader drains the socket's send buffer, which is refilled
     * only once a third of it is free). Both must be recent: a peer that stopped reading still acknowledges the
     * kernel's zero-window probes (which carry no data), and a dead one acknowledges nothing while the kernel
     * retransmits. Asked only of a connection that otherwise looks idle; sets its activity to {@code now} if so.
     */
    boolean kernelMovedBytes(long now, long idleNanos) {
        long millis = TimeUnit.NANOSECONDS.toMillis(idleNanos);
        if (kernelMoved(inbound, millis) || kernelMoved(outbound, millis)) {
            last = now;
            return true;
        }
        return false;
    }

    private static boolean kernelMoved(Channel channel, long millis) {
        if (!channel.isActive()) {
            return false;
        }
        EpollTcpInfo info;
        if (channel instanceof RelayEpollSocketChannel relay) {
            info = relay.tcpInfo(new EpollTcpInfo());
        } else if (channel instanceof EpollSocketChannel epoll) {
            info = epoll.tcpInfo();
        } else {
            return false; // NIO, io_uring: the outbound buffers' progress only (lastActivity)
        }
        return info.lastDataSent() < millis && info.lastAckRecv() < millis;
    }

    private static long pending(Channel channel) {
        ChannelOutboundBuffer buffer = channel.unsafe().outboundBuffer();
        return buffer == null ? 0 : buffer.totalPendingWriteBytes();
    }
}
