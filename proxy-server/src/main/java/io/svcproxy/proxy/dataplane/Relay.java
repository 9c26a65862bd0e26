package io.svcproxy.proxy.dataplane;

import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;

/** The buffer sizes of the relay, shared by the client and endpoint channels. */
final class Relay {
    /**
     * Writability thresholds of a channel's outbound buffer: above the high mark the other side is no longer
     * read; below the low mark it is read again.
     */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

    private Relay() {
    }

    /** The allocator of read buffers: sized to what the connection sends, 64 B to 64 KiB; shared (stateless). */
    private static final RecvByteBufAllocator RECV_ALLOCATOR = new AdaptiveRecvByteBufAllocator(64, 2048, 64 * 1024);

    /**
     * Returns the allocator of read buffers. A read loop reads up to 16 buffers, but the relay turns
     * {@code AUTO_READ} off as soon as the other side is over its high water mark, which ends the loop: one read
     * adds at most 64 KiB beyond the mark.
     */
    static RecvByteBufAllocator recvAllocator() {
        return RECV_ALLOCATOR;
    }
}
