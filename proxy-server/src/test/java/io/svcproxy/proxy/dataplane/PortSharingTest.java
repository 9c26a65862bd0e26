package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Service listeners are bound with SO_REUSEPORT, so that an own listener on every address can share their port
 * (SharedPortNamespaceTest, end to end): that must never make a port quietly shared with another program. The
 * listeners on every address live in SharedPortNamespaceTest's namespace; here, only loopback addresses are bound.
 */
class PortSharingTest {
    private static ServerSocketChannel foreignListener(InetSocketAddress at, boolean reusePort) throws Exception {
        ServerSocketChannel foreign = ServerSocketChannel.open();
        foreign.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        foreign.setOption(StandardSocketOptions.SO_REUSEPORT, reusePort);
        foreign.bind(at);
        return foreign;
    }

    private static InetSocketAddress freePort(String ip) throws Exception {
        try (ServerSocketChannel s = ServerSocketChannel.open()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(ip), 0));
            return (InetSocketAddress) s.getLocalAddress();
        }
    }

    @Test
    void anotherProgramListeningWithSoReusePortAtAServiceAddressIsAnErrorNotASharedPort() throws Exception {
        InetSocketAddress at = freePort("127.0.10.231");
        PortSharing sharing = new PortSharing(Transport.NIO, port -> false);
        // HAProxy sets SO_REUSEPORT by default, nginx with `reuseport`, a second svcproxy always
        try (ServerSocketChannel foreign = foreignListener(at, true)) {
            assertThatThrownBy(() -> sharing.serviceListener(new ServerBootstrap(), at))
                    .isInstanceOf(BindException.class).hasMessageContaining("127.0.10.231:" + at.getPort())
                    .hasMessageContaining("in use");
        }
        ServerBootstrap free = new ServerBootstrap();
        sharing.serviceListener(free, at);
        assertThat(free.config().options()).containsEntry(Transport.NIO.reusePort(), true);
    }

    @Test
    void aServiceListenerAtThePortOfAnOwnListenerOnEveryAddressIsNoError() throws Exception {
        InetSocketAddress at = freePort("127.0.10.232");
        PortSharing sharing = new PortSharing(Transport.NIO, port -> false);
        // stands for the own listener on every address that makes the plain bind fail (SharedPortNamespaceTest)
        try (ServerSocketChannel busy = foreignListener(at, true)) {
            sharing.ownBound(new InetSocketAddress("0.0.0.0", at.getPort()));
            sharing.serviceListener(new ServerBootstrap(), at);
            sharing.ownClosed(new InetSocketAddress("0.0.0.0", at.getPort()));
            assertThatThrownBy(() -> sharing.serviceListener(new ServerBootstrap(), at))
                    .isInstanceOf(BindException.class);
        }
    }

    @Test
    void anOwnListenerAtOneAddressIsBoundAsBeforeAndOneOnEveryAddressWhereOnlyOthersListenIsAnError()
            throws Exception {
        PortSharing nothingOurs = new PortSharing(Transport.NIO, port -> false);
        InetSocketAddress at = freePort("127.0.10.233");
        ServerBootstrap b = new ServerBootstrap();
        nothingOurs.ownListener("proxy.ingress.http", at).accept(b);
        assertThat(b.config().options()).doesNotContainKey(Transport.NIO.reusePort());
        // on every address: the plain bind of [::]:port fails on a listener at any address of the port
        try (ServerSocketChannel foreign = foreignListener(at, true)) {
            InetSocketAddress everyAddress = new InetSocketAddress(at.getPort());
            assertThatThrownBy(() -> nothingOurs.ownListener("proxy.ingress.http", everyAddress))
                    .isInstanceOf(BindException.class).hasMessageContaining("proxy.ingress.http");
            PortSharing servicesThere = new PortSharing(Transport.NIO, port -> port == at.getPort());
            ServerBootstrap shared = new ServerBootstrap();
            servicesThere.ownListener("proxy.ingress.http", everyAddress).accept(shared);
            assertThat(shared.config().options()).containsEntry(Transport.NIO.reusePort(), true);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void everyTransportSetsSoReusePortOnAServiceListener(Transport transport) throws Exception {
        if (transport == Transport.EPOLL) {
            Epoll.ensureAvailability();
        } else if (transport == Transport.IO_URING) {
            io.netty.channel.uring.IoUring.ensureAvailability();
        }
        EventLoopGroup group = transport.newGroup(1, new DefaultThreadFactory("port-sharing-test", true));
        try {
            InetSocketAddress at = freePort("127.0.10.234");
            ServerBootstrap b = new ServerBootstrap().group(group)
                    .channelFactory(transport.serverChannelFactory(at.getAddress()))
                    .childHandler(new ChannelInboundHandlerAdapter());
            new PortSharing(transport, port -> false).serviceListener(b, at);
            Channel channel = b.bind(at).sync().channel();
            try {
                assertThat(channel.config().getOption(transport.reusePort())).as("%s", transport).isTrue();
                // so a listener of ours on every address at the port could be bound beside it
                try (ServerSocketChannel second = foreignListener(at, true)) {
                    assertThat(second.getLocalAddress()).isEqualTo(at);
                }
            } finally {
                channel.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS).sync();
        }
    }
}
