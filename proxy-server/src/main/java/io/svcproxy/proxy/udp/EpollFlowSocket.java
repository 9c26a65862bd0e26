package io.svcproxy.proxy.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelException;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A flow's socket on the epoll transport without a Netty channel: a bare non-blocking datagram socket of the
 * endpoint's address family, connected to the endpoint and registered with the listener's event loop as an {@link
 * EpollIoHandle}. A flow costs the system calls it needs and no more: {@code socket}, {@code connect}, {@code
 * epoll_ctl} to add and watch it, {@code epoll_ctl} to remove it, {@code close}; a Netty datagram channel adds an
 * IPv6 dual-stack option, a multicast option, {@code getsockname} twice, {@code getpeername} and two more {@code
 * epoll_ctl} per flow, and a pipeline, a promise and a connect task (docs/performance.md, the UDP row). Datagrams
 * to the endpoint are sent at once ({@code send}), never queued: a full socket buffer drops the datagram, as the
 * kernel would.
 *
 * <p>The socket is watched level-triggered, and each readiness reads one datagram: a request and its answer (DNS)
 * cost one {@code recv}, with no second one to find the socket empty; a flow with several datagrams waiting is read
 * one per event-loop turn. A datagram of zero bytes from the endpoint is relayed as any other: Netty's {@code recv}
 * returns -1 for it, and 0 for an empty socket (EAGAIN). Owned by the listener's event loop.
 */
final class EpollFlowSocket implements FlowSocket, EpollIoHandle {
    private static final Logger log = LoggerFactory.getLogger(EpollFlowSocket.class);

    private final UdpFlow flow;
    private final Events events;
    private final Socket socket;
    private final ByteBuf receiveBuffer;
    private final ByteBufAllocator alloc;
    private IoRegistration registration;
    private boolean closed;

    private EpollFlowSocket(UdpFlow flow, Events events, Socket socket, ByteBuf receiveBuffer, ByteBufAllocator alloc) {
        this.flow = flow;
        this.events = events;
        this.socket = socket;
        this.receiveBuffer = receiveBuffer;
        this.alloc = alloc;
    }

    /** Returns whether flows on {@code loop} can use this socket (an epoll event loop), rather than a channel. */
    static boolean supported(IoEventLoop loop) {
        return loop.isCompatible(EpollFlowSocket.class);
    }

    /**
     * Returns a socket connected to {@code endpoint}, being registered with {@code loop}.
     *
     * @param receiveBuffer a direct buffer the endpoint's datagrams are read into, shared by the listener's flows
     *                      (one loop) and large enough for the largest datagram
     * @throws IOException the socket cannot be made or connected (nothing is left open)
     */
    static EpollFlowSocket connect(UdpFlow flow, Events events, IoEventLoop loop, InetSocketAddress endpoint,
                                   ByteBuf receiveBuffer, ByteBufAllocator alloc) throws IOException {
        Socket socket;
        try {
            socket = Dgram.open(endpoint.getAddress() instanceof Inet6Address);
        } catch (ChannelException e) {
            // socket(2) failed (EMFILE, ENFILE, ENOBUFS): Netty wraps the IOException; the flow is not started
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
        try {
            socket.connect(endpoint);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
        EpollFlowSocket s = new EpollFlowSocket(flow, events, socket, receiveBuffer, alloc);
        Future<IoRegistration> registered = loop.register(s);
        if (registered.isDone()) {
            s.registered(registered);
        } else {
            registered.addListener(f -> s.registered(registered));
        }
        return s;
    }

    private void registered(Future<IoRegistration> f) {
        if (!f.isSuccess()) {
            if (!closed) {
                events.failed(flow, f.cause());
            }
            return;
        }
        registration = f.getNow();
        if (closed) {
            registration.cancel();
            return;
        }
        registration.submit(EpollIoOps.EPOLLIN); // level-triggered: see the class comment
    }

    @Override
    public Sent send(ByteBuf datagram) {
        try {
            int n;
            int index = datagram.readerIndex();
            int length = datagram.readableBytes();
            if (datagram.hasMemoryAddress()) {
                n = socket.sendAddress(datagram.memoryAddress(), index, index + length);
            } else if (datagram.isDirect() && datagram.nioBufferCount() == 1) {
                java.nio.ByteBuffer b = datagram.internalNioBuffer(index, length);
                n = socket.send(b, b.position(), b.limit());
            } else {
                ByteBuf direct = alloc.directBuffer(length);
                try {
                    direct.writeBytes(datagram, index, length);
                    java.nio.ByteBuffer b = direct.internalNioBuffer(0, length);
                    n = socket.send(b, b.position(), b.limit());
                } finally {
                    direct.release();
                }
            }
            // 0: EAGAIN, the socket's buffer is full (an empty datagram sends 0 bytes and is counted as sent)
            return n > 0 || length == 0 ? Sent.YES : Sent.FULL;
        } catch (IOException e) {
            events.failed(flow, e);
            return Sent.FAILED;
        } finally {
            datagram.release();
        }
    }

    @Override
    public FileDescriptor fd() {
        return socket;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        if (closed) {
            return;
        }
        int n;
        try {
            if (receiveBuffer.hasMemoryAddress()) {
                n = socket.recvAddress(receiveBuffer.memoryAddress(), 0, receiveBuffer.capacity());
            } else {
                java.nio.ByteBuffer b = receiveBuffer.internalNioBuffer(0, receiveBuffer.capacity());
                n = socket.recv(b, b.position(), b.limit());
            }
        } catch (IOException e) { // the endpoint refused (ICMP port unreachable) or another error
            events.failed(flow, e);
            return;
        }
        if (n == 0) {
            return; // EAGAIN: nothing waiting
        }
        if (n < 0) { // a datagram of 0 bytes
            events.received(flow, Unpooled.EMPTY_BUFFER);
        } else {
            ByteBuf datagram = alloc.directBuffer(n, n);
            try {
                datagram.writeBytes(receiveBuffer, 0, n);
                events.received(flow, datagram);
            } finally {
                datagram.release();
            }
        }
        events.readComplete();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Closed before the registration is cancelled: the kernel drops a closed socket from the epoll set by
        // itself, and Netty leaves out the EPOLL_CTL_DEL of an fd it sees closed (one system call less per flow,
        // 5% of the UDP row's CPU in its profile). Both run here, on the loop that owns the registration, so no
        // other socket of this loop can take the fd's number in between.
        try {
            socket.close();
        } catch (IOException e) { // nothing is lost with a datagram socket, but a failing close is a bug to see
            log.warn("Flow socket close failed client={} endpoint={} error={}", flow.client, flow.backend.endpoint(),
                    e.toString());
        }
        if (registration != null) {
            registration.cancel();
        }
    }

    /** Opens datagram sockets of a given address family ({@link Socket}'s factory for that is protected). */
    private static final class Dgram extends Socket {
        private Dgram(int fd) {
            super(fd);
        }

        static Socket open(boolean ipv6) {
            return new Dgram(newSocketDgram0(ipv6 ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET));
        }
    }
}
