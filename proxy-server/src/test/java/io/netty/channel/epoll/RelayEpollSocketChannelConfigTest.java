package io.netty.channel.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.socket.SocketProtocolFamily;
import java.net.InetSocketAddress;
import java.net.Socket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The relay channels seed the cap of one gathering write as Netty's {@code EpollSocketChannelConfig} does (twice the
 * socket's SO_SNDBUF) without reading SO_SNDBUF per socket: a new socket's from the first one made, an accepted
 * socket's from its listener's first accepted one. Left uncapped, one-stream bulk cost 7% more CPU per GB (bench
 * bulk1, docs/performance.md "TCP new connections, round 10"). In Netty's package: the cap's getter is protected.
 */
class RelayEpollSocketChannelConfigTest {
    @BeforeAll
    static void nativeEpoll() {
        Epoll.ensureAvailability();
    }

    @Test
    void aConnectingChannelsCapIsNettys() {
        RelayEpollSocketChannel ours = new RelayEpollSocketChannel(SocketProtocolFamily.INET);
        RelayEpollSocketChannel second = new RelayEpollSocketChannel(SocketProtocolFamily.INET);
        EpollSocketChannel netty = new EpollSocketChannel(SocketProtocolFamily.INET);
        try {
            long expected = netty.config().getMaxBytesPerGatheringWrite();
            assertThat(expected).isLessThan(Integer.MAX_VALUE); // Netty's is a cap, not its default of none
            assertThat(ours.config().getMaxBytesPerGatheringWrite()).isEqualTo(expected);
            assertThat(second.config().getMaxBytesPerGatheringWrite()).isEqualTo(expected);
        } finally {
            ours.unsafe().closeForcibly();
            second.unsafe().closeForcibly();
            netty.unsafe().closeForcibly();
        }
    }

    @Test
    void anAcceptedChannelsCapIsTwiceTheAcceptedSocketsSendBuffer() throws Exception {
        RelayEpollServerSocketChannel listener = new RelayEpollServerSocketChannel(SocketProtocolFamily.INET);
        try {
            // no event loop: the test accepts on the listener's socket itself, as the channel's unsafe would
            listener.socket.bind(new InetSocketAddress("127.0.0.62", 0));
            listener.socket.listen(16);
            InetSocketAddress at = listener.socket.localAddress();
            for (int i = 0; i < 2; i++) {
                try (Socket client = new Socket(at.getAddress(), at.getPort())) {
                    byte[] address = new byte[25];
                    int fd = -1;
                    for (int tries = 0; fd < 0 && tries < 100; tries++) {
                        fd = listener.socket.accept(address);
                        if (fd < 0) {
                            Thread.sleep(10);
                        }
                    }
                    RelayEpollSocketChannel child = (RelayEpollSocketChannel) listener.newChildChannel(fd, address,
                            1, address[0]);
                    try {
                        assertThat(child.config().getMaxBytesPerGatheringWrite())
                                .isEqualTo((long) child.socket.getSendBufferSize() << 1);
                    } finally {
                        child.unsafe().closeForcibly();
                    }
                }
            }
        } finally {
            listener.unsafe().closeForcibly();
        }
    }
}
