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

    /**
     * Returns the allocator of read buffers: sized to what the connection sends (64 B to 64 KiB), and one buffer
     * per read, so that one read can add at most 64 KiB to the other side's outbound buffer before writability is
     * checked again.
     */
    static RecvByteBufAllocator recvAllocator() {
        return new AdaptiveRecvByteBufAllocator(64, 2048, 64 * 1024).maxMessagesPerRead(1);
    }
}
