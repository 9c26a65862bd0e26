package io.svcproxy.proxy.udp;

import io.netty.buffer.ByteBuf;

/**
 * The socket of one flow toward its endpoint: sends the client's datagrams there and hands the endpoint's back to
 * the listener through {@link Events}. Two kinds: {@link EpollFlowSocket} (a bare socket on the epoll event loop,
 * the fewest system calls per flow) and {@link ChannelFlowSocket} (a Netty channel, any transport). Owned by the
 * listener's event loop; every method is called there.
 */
interface FlowSocket {
    /** What became of a datagram handed to {@link #send}. */
    enum Sent {
        /** Sent, or queued to be sent as soon as the socket can take it (its buffer was full, or it connects). */
        YES,
        /** Dropped: the socket's buffer is full (UDP is never queued without bound). */
        FULL,
        /** The socket failed: {@link Events#failed} was told, and the flow is ending. */
        FAILED
    }

    /** What a flow socket reports to its listener, on the listener's event loop. */
    interface Events {
        /** The endpoint sent {@code datagram} (released by the caller afterwards). */
        void received(UdpFlow flow, ByteBuf datagram);

        /** A batch of {@link #received} calls ended: what was written to clients may be flushed. */
        void readComplete();

        /** The socket failed (the endpoint refused, or another error): the flow ends. */
        void failed(UdpFlow flow, Throwable cause);
    }

    /** Sends {@code datagram} to the endpoint, taking ownership of it (it is released in every case). */
    Sent send(ByteBuf datagram);

    /** Closes the socket; nothing is reported for it afterwards. */
    void close();
}
