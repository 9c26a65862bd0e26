package io.netty.channel.epoll;

import io.netty.channel.Channel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.unix.NativeInetAddress;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * The TCP relay's listening channel: Netty 4.2.18's {@link EpollServerSocketChannel} (whose children are final
 * {@link EpollSocketChannel}s) making {@link RelayEpollSocketChannel}s instead. Its socket has {@code TCP_NODELAY},
 * which Linux copies to every socket it accepts, so the children need not set it (one system call less per
 * connection). Netty's {@link EpollServerChannelConfig}: backlog, SO_REUSEADDR, SO_RCVBUF, TCP fast open; and
 * SO_REUSEADDR on from the start, as Netty's (and java.nio's) listening sockets have it: a proxy closes connections
 * first, so their TIME_WAIT holds its listening port, and without it a restarted proxy could not bind again.
 * SO_REUSEPORT when asked ({@code EpollChannelOption.SO_REUSEPORT}).
 */
public final class RelayEpollServerSocketChannel extends AbstractEpollServerChannel implements ServerSocketChannel {
    private final EpollServerChannelConfig config;
    /** The local address of every accepted socket: the bound one, unless it is a wildcard ({@code null}). */
    private volatile InetSocketAddress acceptedLocal;
    /** The SO_SNDBUF of the first socket accepted (read once, not per connection); 0 until then. */
    private volatile int childSendBuffer;

    /** A listening channel of IPv6 where available, else IPv4 (as Netty's; for a {@code ServerBootstrap}). */
    public RelayEpollServerSocketChannel() {
        this(null);
    }

    /** A listening channel of {@code family} ({@code null}: IPv6 where available, as Netty's). */
    public RelayEpollServerSocketChannel(SocketProtocolFamily family) {
        super(LinuxSocket.newSocketStream(family), false);
        config = new Config(this);
        try {
            socket.setTcpNoDelay(true);
            socket.setReuseAddress(true); // as Netty's EpollServerSocketChannelConfig does
        } catch (IOException e) {
            throw new io.netty.channel.ChannelException(e);
        }
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        super.doBind(localAddress);
        // bound to one address (not a wildcard): every socket it accepts has it as its local address
        InetSocketAddress bound = (InetSocketAddress) localAddress0(); // what Netty's bind read
        acceptedLocal = bound != null && !bound.getAddress().isAnyLocalAddress() ? bound : null;
        socket.listen(config.getBacklog());
        active = true;
        // listening now: submit the ops so that connections are accepted (as Netty's doBind)
        submitCurrentOps();
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
    public EpollServerChannelConfig config() {
        return config;
    }

    /**
     * Netty's {@link EpollServerChannelConfig} and SO_REUSEPORT (as its {@code EpollServerSocketChannelConfig} has
     * it): a Service listener shares its port with svcproxy's own listener on every address (PortSharing).
     */
    private static final class Config extends EpollServerChannelConfig {
        private final RelayEpollServerSocketChannel channel;

        Config(RelayEpollServerSocketChannel channel) {
            super(channel);
            this.channel = channel;
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T getOption(io.netty.channel.ChannelOption<T> option) {
            if (option == EpollChannelOption.SO_REUSEPORT) {
                try {
                    return (T) Boolean.valueOf(channel.socket.isReusePort());
                } catch (IOException e) {
                    throw new io.netty.channel.ChannelException(e);
                }
            }
            return super.getOption(option);
        }

        @Override
        public <T> boolean setOption(io.netty.channel.ChannelOption<T> option, T value) {
            validate(option, value);
            if (option == EpollChannelOption.SO_REUSEPORT) {
                try {
                    channel.socket.setReusePort((Boolean) value);
                } catch (IOException e) {
                    throw new io.netty.channel.ChannelException(e);
                }
                return true;
            }
            return super.setOption(option, value);
        }
    }

    @Override
    protected Channel newChildChannel(int fd, byte[] address, int offset, int len) throws Exception {
        LinuxSocket socket = new LinuxSocket(fd);
        int sendBuffer = childSendBuffer;
        if (sendBuffer == 0) {
            childSendBuffer = sendBuffer = RelayEpollSocketChannel.sendBuffer(socket);
        }
        return new RelayEpollSocketChannel(this, socket, NativeInetAddress.address(address, offset, len),
                acceptedLocal, sendBuffer);
    }
}
