package io.svcproxy.proxy.dataplane;

import io.netty.channel.ChannelFactory;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.RelayEpollServerSocketChannel;
import io.netty.channel.epoll.RelayEpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.svcproxy.config.TransportChoice;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Locale;
import java.util.concurrent.ThreadFactory;
import org.slf4j.LoggerFactory;

/**
 * The socket transport of the TCP data plane: native epoll or io_uring on Linux, NIO elsewhere. {@link
 * #select(TransportChoice)} turns {@code proxy.transport} into the transport to use, falling back (with a log
 * line) when the one asked for is not available. UDP Service ports stay on epoll: {@link #datagramTransport()}.
 * Epoll's TCP channels are {@link RelayEpollSocketChannel} and {@link RelayEpollServerSocketChannel}: Netty's less
 * the system calls a relayed connection does not need.
 */
public enum Transport {
    EPOLL, IO_URING, NIO;

    /**
     * The system property that overrides {@code proxy.transport}: {@code epoll}, {@code io_uring} or {@code nio}.
     * The tests use it to run the data plane on each transport; a transport forced this way that is not available
     * is an error, not a fallback.
     */
    public static final String PROPERTY = "svcproxy.transport";

    /**
     * Netty 4.2.18's io_uring with multishot POLL_ADD misses an endpoint's reset that arrives while the relay has
     * stopped reading that side (backpressure): the client then waits for ever instead of getting the reset
     * (RelayTortureTest, case 1946323318972094263, fails every time with it and passes without). One-shot polls
     * are re-armed by Netty itself, in the same io_uring_enter as the other submissions. Set before Netty's
     * {@code IoUring} class reads it, unless the operator set it.
     */
    static final String IO_URING_POLL_MULTISHOT = "io.netty.iouring.pollAddMultishotEnabled";

    static {
        if (System.getProperty(IO_URING_POLL_MULTISHOT) == null) {
            System.setProperty(IO_URING_POLL_MULTISHOT, "false");
        }
    }

    /** Returns the transport for {@code auto} (the system property, if set, wins). */
    public static Transport select() {
        return select(TransportChoice.AUTO);
    }

    /**
     * Returns the transport to use for {@code configured} ({@code proxy.transport}): the system property {@value
     * #PROPERTY} when set (and not {@code auto}), else what {@link TransportSelection} makes of the setting on this machine.
     *
     * @throws IllegalStateException if the system property names a transport that is not available here
     */
    public static Transport select(TransportChoice configured) {
        String forced = System.getProperty(PROPERTY, "").trim();
        if (!forced.isEmpty() && !forced.equalsIgnoreCase("auto")) {
            TransportChoice choice = TransportChoice.of(forced);
            if (choice == null) {
                throw new IllegalStateException(PROPERTY + "=" + forced + " (expected: auto, epoll, io_uring or nio)");
            }
            Transport transport = of(choice);
            Throwable cause = TransportSelection.NATIVE.unavailability(transport);
            if (cause != null) {
                throw new IllegalStateException(PROPERTY + "=" + forced + ", but " + transport
                        + " is not available: " + cause);
            }
            return transport;
        }
        return new TransportSelection(TransportSelection.NATIVE, LoggerFactory.getLogger(Transport.class))
                .select(configured);
    }

    /** Returns the transport named by {@code choice}, which must not be {@code auto}. */
    static Transport of(TransportChoice choice) {
        return switch (choice) {
            case EPOLL -> EPOLL;
            case IO_URING -> IO_URING;
            case NIO -> NIO;
            case AUTO -> throw new IllegalArgumentException("auto is not a transport");
        };
    }

    /** Returns a new event loop group of this transport (epoll with {@link EpollHalfCloseFix}). */
    public EventLoopGroup newGroup(int threads, ThreadFactory threadFactory) {
        IoHandlerFactory factory = switch (this) {
            case EPOLL -> new EpollHalfCloseFix();
            case IO_URING -> IoUringIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
        return new MultiThreadIoEventLoopGroup(threads, threadFactory, factory);
    }

    /** Returns the listening channel class. */
    public Class<? extends ServerChannel> serverChannel() {
        return switch (this) {
            case EPOLL -> RelayEpollServerSocketChannel.class;
            case IO_URING -> IoUringServerSocketChannel.class;
            case NIO -> NioServerSocketChannel.class;
        };
    }

    /**
     * Returns the transport of the UDP data plane beside this one: itself, except io_uring, whose UDP Service
     * ports stay on epoll (their bare flow sockets, {@code EpollFlowSocket}), or NIO where epoll is not available.
     */
    public Transport datagramTransport() {
        if (this != IO_URING) {
            return this;
        }
        return TransportSelection.NATIVE.unavailability(EPOLL) == null ? EPOLL : NIO;
    }

    /** Returns the datagram channel class of this transport (for UDP, see {@link #datagramTransport()}). */
    public Class<? extends io.netty.channel.socket.DatagramChannel> datagramChannel() {
        return switch (this) {
            case EPOLL -> io.netty.channel.epoll.EpollDatagramChannel.class;
            case IO_URING -> io.netty.channel.uring.IoUringDatagramChannel.class;
            case NIO -> io.netty.channel.socket.nio.NioDatagramChannel.class;
        };
    }

    /** Returns the connecting channel class. */
    public Class<? extends SocketChannel> socketChannel() {
        return switch (this) {
            case EPOLL -> RelayEpollSocketChannel.class;
            case IO_URING -> IoUringSocketChannel.class;
            case NIO -> NioSocketChannel.class;
        };
    }

    /**
     * Returns a new, unregistered connecting channel: a constructor call, where a {@code Bootstrap}'s channel
     * factory calls the constructor reflectively on every connect.
     */
    public SocketChannel newSocketChannel(InetAddress remote) {
        return switch (this) {
            // an IPv4 socket for an IPv4 endpoint: a dual-stack one costs a setsockopt(IPV6_V6ONLY) and the
            // kernel's v4-mapped address handling on every call
            case EPOLL -> new RelayEpollSocketChannel(remote instanceof Inet4Address ? SocketProtocolFamily.INET : null);
            // Netty 4.2.18's io_uring channels have no constructor taking the address family
            case IO_URING -> new IoUringSocketChannel();
            case NIO -> new NioSocketChannel();
        };
    }

    /** Returns a factory of listening channels for {@code local}: IPv4 ones for an IPv4 address, as above. */
    public ChannelFactory<ServerChannel> serverChannelFactory(InetAddress local) {
        return switch (this) {
            case EPOLL -> local instanceof Inet4Address ? () -> new RelayEpollServerSocketChannel(SocketProtocolFamily.INET)
                    : RelayEpollServerSocketChannel::new;
            case IO_URING -> IoUringServerSocketChannel::new;
            case NIO -> NioServerSocketChannel::new;
        };
    }

    /**
     * This transport's SO_REUSEPORT option of a listening socket, which {@link PortSharing} sets where svcproxy's own
     * listener on every address shares its port with Service listeners.
     */
    public io.netty.channel.ChannelOption<Boolean> reusePort() {
        return switch (this) {
            case EPOLL -> io.netty.channel.epoll.EpollChannelOption.SO_REUSEPORT;
            case IO_URING -> io.netty.channel.uring.IoUringChannelOption.SO_REUSEPORT;
            case NIO -> NIO_REUSE_PORT;
        };
    }

    /** NIO's SO_REUSEPORT option: one instance, as options are told apart by identity. */
    private static final io.netty.channel.ChannelOption<Boolean> NIO_REUSE_PORT =
            io.netty.channel.socket.nio.NioChannelOption.of(java.net.StandardSocketOptions.SO_REUSEPORT);

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
