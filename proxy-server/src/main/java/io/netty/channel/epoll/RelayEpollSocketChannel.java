package io.netty.channel.epoll;

import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.unix.RelaySocketStates;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.Executor;

/**
 * The TCP relay's epoll socket channel: Netty 4.2.18's {@link EpollSocketChannel} less the system calls a relayed
 * connection does not need (issue 15, docs/performance.md "TCP new connections, round 10"). Netty's class is final
 * and its config is tied to it, so this one extends the same {@link AbstractEpollStreamChannel} (read, write,
 * half-closure and splice are Netty's) with a config of its own ({@link RelayEpollSocketChannelConfig}):
 * <ul>
 *   <li>an accepted channel does not set {@code TCP_NODELAY}: its listener ({@link RelayEpollServerSocketChannel})
 *       has it, and Linux copies it to every socket it accepts;</li>
 *   <li>no {@code getsockopt(SO_SNDBUF)} per channel: Netty reads it to seed the cap of one gathering write
 *       (twice the send buffer, adapted to what the socket takes as writes go); a new socket's is the same for all
 *       (the sysctl's default) and is read once per process, an accepted socket's once per listener;</li>
 *   <li>no {@code getsockopt(SO_LINGER)} per close: the config remembers what was set (the relay sets 0 only, for
 *       a reset), and only a positive linger hands the close to another thread, as in Netty;</li>
 *   <li>no {@code shutdown(SHUT_RD)} after the peer's FIN was read with half-closure on: nothing more can arrive,
 *       so the socket's input is only marked shut down (Netty marks it, then calls; the call changes nothing on the
 *       wire, and on a socket whose FINs were both exchanged it fails with ENOTCONN, for which Netty builds a
 *       {@code NotYetConnectedException} with its stack trace on every such connection); and EPOLLIN leaves the
 *       interest set with EPOLLRDHUP in that same turn (one {@code epoll_ctl}), not on an event of its own
 *       later;</li>
 *   <li>a connect that completed within its system call (on loopback, or to a pod on this node) is complete at
 *       once: Netty waits for EPOLLOUT, then reads SO_ERROR and the peer's address; here one {@code getpeername}
 *       right after {@code connect} tells (it fails until the handshake is done);</li>
 *   <li>no {@code epoll_ctl(EPOLL_CTL_DEL)} per close: the fd is closed first, and the kernel drops a closed fd
 *       from the epoll set itself; Netty's deregistration, on the same event loop right after, sees the fd closed
 *       and skips the call (as it does for a lingering close, which closes before it deregisters).</li>
 * </ul>
 * Everything else (the socket options the relay sets, reads, writes, FINs, resets) is Netty's.
 */
public final class RelayEpollSocketChannel extends AbstractEpollStreamChannel implements SocketChannel {
    /**
     * The SO_SNDBUF of a new socket before it connects ({@code net.ipv4.tcp_wmem}'s default), read from the first
     * one: Netty reads it from every socket to seed the cap of one gathering write; 0 until read.
     */
    private static volatile int newSocketSendBuffer;

    private final RelayEpollSocketChannelConfig config;
    /** The listener of an accepted channel; {@code null} for a connecting one. */
    private final ServerSocketChannel parent;
    /**
     * The peer: given at accept, or the address connected to when the connect completed at once; else Netty's
     * (read after a connect completes). Plain writes before registration, read on the event loop.
     */
    private volatile SocketAddress remote;
    /** The local address: given at accept, else read on first use once the channel is active (no getsockname
     * per connect: nothing reads an endpoint channel's local address on the relay's path). */
    private volatile SocketAddress local;

    /** A connecting channel of IPv6 where available, else IPv4 (as Netty's; for a {@code Bootstrap}). */
    public RelayEpollSocketChannel() {
        this(null);
    }

    /** A connecting channel: a new socket of {@code family} ({@code null}: IPv6 where available, as Netty's). */
    public RelayEpollSocketChannel(SocketProtocolFamily family) {
        super(LinuxSocket.newSocketStream(family), false);
        int sendBuffer = newSocketSendBuffer;
        if (sendBuffer == 0) {
            newSocketSendBuffer = sendBuffer = sendBuffer(socket);
        }
        config = new RelayEpollSocketChannelConfig(this, sendBuffer);
        config.setTcpNoDelay(true);
        parent = null;
    }

    /**
     * An accepted channel; {@code TCP_NODELAY} comes from the listening socket, and {@code sendBuffer} is the
     * SO_SNDBUF its listener read from its first accepted socket (for the cap of one gathering write). Netty's
     * constructors for an accepted channel read its local address ({@code getsockname}); this one is given it:
     * {@code localAddress} is the listener's own when it is bound to one address (every socket it accepts has that
     * local address), or {@code null} for a wildcard listener, whose sockets' addresses are read on first use.
     */
    RelayEpollSocketChannel(ServerSocketChannel parent, LinuxSocket fd, InetSocketAddress remoteAddress,
                            InetSocketAddress localAddress, int sendBuffer) {
        super(fd, false); // the constructor that reads no address; parent, addresses and activity set here
        this.parent = parent;
        this.remote = remoteAddress;
        this.local = localAddress;
        this.active = true;
        config = new RelayEpollSocketChannelConfig(this, sendBuffer);
    }

    /** {@code socket}'s SO_SNDBUF, or 0 if it cannot be read (the cap then stays Netty's default, none). */
    static int sendBuffer(LinuxSocket socket) {
        try {
            return socket.getSendBufferSize();
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    /**
     * Fills {@code info} with the socket's {@code TCP_INFO}, as {@link EpollSocketChannel#tcpInfo(EpollTcpInfo)} does:
     * the relay's idle check asks it of a connection that looks idle, for bytes the kernel still moves.
     */
    public EpollTcpInfo tcpInfo(EpollTcpInfo info) {
        try {
            socket.getTcpInfo(info);
            return info;
        } catch (IOException e) {
            throw new io.netty.channel.ChannelException(e);
        }
    }

    /**
     * Whether the peer of this connected channel is gone: it reset (or the socket is closed), so that {@code
     * getpeername} fails, as io_uring's accept learns (one system call). A peer that only sent its FIN is still
     * there (half-closed: it may wait for an answer).
     */
    public boolean peerGone() {
        return !socket.isOpen() || socket.remoteAddress() == null;
    }

    @Override
    public RelayEpollSocketChannelConfig config() {
        return config;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public ServerSocketChannel parent() {
        return parent;
    }

    @Override
    protected SocketAddress localAddress0() {
        SocketAddress l = local;
        if (l == null) {
            l = super.localAddress0(); // Netty's: after a bind
            if (l == null && active && socket.isOpen()) {
                try {
                    local = l = socket.localAddress();
                } catch (RuntimeException e) {
                    return null; // as Netty's address caches, which hold null when the call fails
                }
            }
        }
        return l;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        SocketAddress r = remote;
        return r != null ? r : super.remoteAddress0();
    }

    /**
     * Netty's connect without its {@code getsockname} for the local address afterwards (read on first use instead,
     * {@link #localAddress0}), and complete at once when the handshake finished within the {@code connect} call (one
     * {@code getpeername} instead of an EPOLLOUT event, {@code getsockopt(SO_ERROR)}, {@code getpeername}, the
     * connect timeout's timer and an {@code epoll_ctl}); a bind to a local address first, or an address that is not
     * an IP one, takes Netty's own path.
     */
    @Override
    protected boolean doConnect(SocketAddress remoteAddress, SocketAddress localAddress) throws Exception {
        if (localAddress != null || !(remoteAddress instanceof InetSocketAddress to)) {
            return super.doConnect(remoteAddress, localAddress);
        }
        checkResolvable(to);
        if (remoteAddress0() != null) {
            // as Netty: a connect that started earlier may have finished meanwhile (EISCONN is not reported)
            throw new java.nio.channels.AlreadyConnectedException();
        }
        boolean connected = doConnect0(to);
        if (!connected && socket.remoteAddress() != null) {
            // EINPROGRESS, yet the socket has a peer: the handshake completed within the call (loopback, a veth
            // to a pod on this node: the SYN and SYN-ACK are processed before connect returns), so it is connected
            // now; Netty would wait for EPOLLOUT, then ask SO_ERROR and getpeername. In SYN_SENT getpeername fails
            // (ENOTCONN), and a refused connect is in CLOSE: those wait for EPOLLOUT (or EPOLLERR) as in Netty.
            clearFlag(Native.EPOLLOUT);
            connected = true;
        }
        if (connected) {
            remote = to;
        }
        return connected;
    }

    /**
     * Holds back the bytes written but not yet sent until the FIN that follows them (TCP_CORK), so that the last of
     * them and the FIN leave in one segment; does nothing when nothing waits to be sent. For a caller that shuts the
     * output down (or closes) as soon as those bytes are flushed: the cork is never taken out, the FIN pushes what
     * it holds (full segments go out meanwhile, and Linux sends a corked remainder after 200 ms in any case).
     */
    public void corkUntilFin() throws IOException {
        ChannelOutboundBuffer out = unsafe().outboundBuffer();
        if (out != null && out.totalPendingWriteBytes() > 0) {
            socket.setTcpCork(true);
        }
    }

    @Override
    protected AbstractEpollUnsafe newUnsafe() {
        return new RelayUnsafe();
    }

    /**
     * Closes the fd before Netty's close deregisters it: the kernel removes a closed fd from the epoll set, and
     * Netty's {@code cancel} (run synchronously by {@code doDeregister} on this event loop, inside super's
     * {@code doClose}) only calls {@code EPOLL_CTL_DEL} for an fd that is still open. An fd number another event loop's
     * accept is given again meanwhile is registered on this loop by a task, after this one (Netty's map of
     * registrations by fd is already cleared of this channel by then), or in that loop's own epoll set and map.
     */
    @Override
    protected void doClose() throws Exception {
        if (isRegistered() && eventLoop().inEventLoop()) {
            socket.close();
        }
        super.doClose();
    }

    private final class RelayUnsafe extends EpollStreamUnsafe {
        @Override
        protected Executor prepareToClose() {
            if (config.soLingerSet() > 0 && isOpen()) {
                // as Netty's EpollSocketChannel: a lingering close blocks, so it runs on another thread
                // (https://github.com/netty/netty/issues/4449)
                registration().cancel();
                return GlobalEventExecutor.INSTANCE;
            }
            return super.prepareToClose();
        }

        @Override
        void shutdownInput(boolean allDataRead) {
            if (allDataRead && recvBufAllocHandle().lastBytesRead() < 0 && config.isAllowHalfClosure()
                    && RelaySocketStates.markInputShutdown(socket)) {
                // the peer's FIN was read: Netty's half-closure without its shutdown(SHUT_RD), and EPOLLIN out of the
                // interest set at once: nothing more can be read, and Netty's epoll is level-triggered, so with
                // AUTO_READ on its own leaves EPOLLIN in and the next wait reports the end of stream again (Netty
                // takes EPOLLIN out only on that event: one more event and epoll_ctl, and a wait that cannot sleep)
                clearEpollIn0();
                pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            }
            // the input is marked shut down now: Netty's own goes on to ChannelInputShutdownReadComplete only
            super.shutdownInput(allDataRead);
        }
    }
}
