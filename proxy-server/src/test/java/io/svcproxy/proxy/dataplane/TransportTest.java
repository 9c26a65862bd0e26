package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.socket.SocketChannel;
import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The channels the relay makes without a Bootstrap: they must come with what it relies on, TCP_NODELAY on
 * (Netty's default, which the relay no longer sets itself: a system call per socket less).
 */
class TransportTest {
    @ParameterizedTest
    @EnumSource(Transport.class)
    void endpointChannelsHaveNoDelayOnForIpv4AndIpv6(Transport transport) throws Exception {
        loadNative(transport);
        for (String address : new String[] {"127.0.0.1", "::1"}) {
            SocketChannel channel = transport.newSocketChannel(InetAddress.getByName(address));
            try {
                assertThat(channel.config().isTcpNoDelay()).as("%s %s", transport, address).isTrue();
            } finally {
                channel.unsafe().closeForcibly();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void listeningChannelsAreOfTheTransportsClass(Transport transport) throws Exception {
        loadNative(transport);
        for (String address : new String[] {"127.0.0.1", "::1"}) {
            ServerChannel channel = transport.serverChannelFactory(InetAddress.getByName(address)).newChannel();
            try {
                assertThat((Channel) channel).isInstanceOf(transport.serverChannel());
            } finally {
                channel.unsafe().closeForcibly();
            }
        }
    }

    @org.junit.jupiter.api.Test
    void udpOfAnIoUringDataPlaneStaysOnEpoll() {
        assertThat(Transport.IO_URING.datagramTransport()).isEqualTo(Transport.EPOLL);
        assertThat(Transport.EPOLL.datagramTransport()).isEqualTo(Transport.EPOLL);
        assertThat(Transport.NIO.datagramTransport()).isEqualTo(Transport.NIO);
    }

    /** Loads the native library, as the data plane does when it creates its event loops (Transport.select). */
    private static void loadNative(Transport transport) {
        if (transport == Transport.EPOLL) {
            Epoll.ensureAvailability();
        } else if (transport == Transport.IO_URING) {
            io.netty.channel.uring.IoUring.ensureAvailability();
        }
    }
}
