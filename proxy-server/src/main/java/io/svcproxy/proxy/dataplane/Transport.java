package io.svcproxy.proxy.dataplane;

import io.netty.channel.ChannelFactory;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Locale;
import java.util.concurrent.ThreadFactory;
import org.slf4j.LoggerFactory;

/**
 * The socket transport: native epoll on Linux, NIO elsewhere. The system property {@code svcproxy.transport}
 * ({@code epoll} or {@code nio}) forces one, which the tests use to run the data plane on both.
 */
public enum Transport {
    EPOLL, NIO;

    /** Returns the transport to use here: the forced one, else epoll where it is available, else NIO. */
    public static Transport select() {
        String forced = System.getProperty("svcproxy.transport", "").trim().toLowerCase(Locale.ROOT);
        if (forced.equals("nio")) {
            return NIO;
        }
        if (forced.equals("epoll")) {
            if (!Epoll.isAvailable()) {
                throw new IllegalStateException("svcproxy.transport=epoll, but epoll is not available: "
                        + Epoll.unavailabilityCause());
            }
            return EPOLL;
        }
        if (Epoll.isAvailable()) {
            return EPOLL;
        }
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            // On Linux this means the native library could not be loaded, e.g. /tmp mounted noexec
            LoggerFactory.getLogger(Transport.class).warn("Native epoll transport unavailable, using NIO: {} "
                    + "(Netty unpacks its native library into io.netty.native.workdir or java.io.tmpdir, which "
                    + "must allow exec)", String.valueOf(Epoll.unavailabilityCause()));
        }
        return NIO;
    }

    /** Returns a new event loop group of this transport (epoll with {@link EpollHalfCloseFix}). */
    public EventLoopGroup newGroup(int threads, ThreadFactory threadFactory) {
        IoHandlerFactory factory = this == EPOLL ? new EpollHalfCloseFix() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, threadFactory, factory);
    }

    /** Returns the listening channel class. */
    public Class<? extends ServerChannel> serverChannel() {
        return this == EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** Returns the datagram channel class (UDP listeners and flows). */
    public Class<? extends io.netty.channel.socket.DatagramChannel> datagramChannel() {
        return this == EPOLL ? io.netty.channel.epoll.EpollDatagramChannel.class
                : io.netty.channel.socket.nio.NioDatagramChannel.class;
    }

    /** Returns the connecting channel class. */
    public Class<? extends SocketChannel> socketChannel() {
        return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /**
     * Returns a new, unregistered connecting channel: a constructor call, where a {@code Bootstrap}'s channel
     * factory calls the constructor reflectively on every connect.
     */
    public SocketChannel newSocketChannel(InetAddress remote) {
        if (this == NIO) {
            return new NioSocketChannel();
        }
        // an IPv4 socket for an IPv4 endpoint: a dual-stack one costs a setsockopt(IPV6_V6ONLY) and the kernel's
        // v4-mapped address handling on every call
        return remote instanceof Inet4Address ? new EpollSocketChannel(SocketProtocolFamily.INET)
                : new EpollSocketChannel();
    }

    /** Returns a factory of listening channels for {@code local}: IPv4 ones for an IPv4 address, as above. */
    public ChannelFactory<ServerChannel> serverChannelFactory(InetAddress local) {
        if (this == EPOLL && local instanceof Inet4Address) {
            return () -> new EpollServerSocketChannel(SocketProtocolFamily.INET);
        }
        return this == EPOLL ? EpollServerSocketChannel::new : NioServerSocketChannel::new;
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
