package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SO_REUSEPORT only at the ports an own listener on every address shares (SharedPortNamespaceTest, end to end), and
 * never a port quietly shared with another program (PortSharingForeignProgramNamespaceTest). Loopback addresses
 * only: the listeners on every address, here, are the config's (never bound), and another program is a python3
 * process of the test's own.
 */
class PortSharingTest {
    private static InetSocketAddress freePort(String ip) throws Exception {
        try (ServerSocketChannel s = ServerSocketChannel.open()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(ip), 0));
            return (InetSocketAddress) s.getLocalAddress();
        }
    }

    private static PortSharing sharing(Transport transport, int sharedPort) {
        PortSharing sharing = new PortSharing(transport, new ListeningSockets());
        sharing.configure(Map.of(new InetSocketAddress(sharedPort), "proxy.ingress.http"));
        return sharing;
    }

    /** Another program (a python3 process) listening at {@code at} with SO_REUSEPORT, as HAProxy does. */
    private static Process foreignListener(InetSocketAddress at) throws Exception {
        Process p = new ProcessBuilder("python3", "-c", """
                import socket, sys
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                s.bind(('%s', %d))
                s.listen(8)
                print('listening', flush=True)
                sys.stdin.read()
                """.formatted(at.getAddress().getHostAddress(), at.getPort())).redirectErrorStream(true).start();
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))
                .readLine();
        assertThat(line).as("the other program listens (python3 is needed)").isEqualTo("listening");
        return p;
    }

    @Test
    void aServiceListenerAtAPortNoOwnListenerSharesIsBoundAsAnySocket() throws Exception {
        InetSocketAddress at = freePort("127.0.10.231");
        ServerBootstrap b = new ServerBootstrap();
        sharing(Transport.NIO, at.getPort() + 1).serviceListener(b, at);
        assertThat(b.config().options()).doesNotContainKey(Transport.NIO.reusePort());
    }

    @Test
    void anotherProgramListeningWithSoReusePortAtAServiceAddressOfASharedPortIsAnError() throws Exception {
        InetSocketAddress at = freePort("127.0.10.232");
        PortSharing sharing = sharing(Transport.NIO, at.getPort());
        Process foreign = foreignListener(at);
        try {
            assertThatThrownBy(() -> sharing.serviceListener(new ServerBootstrap(), at))
                    .isInstanceOf(BindException.class).hasMessageContaining("127.0.10.232:" + at.getPort())
                    .hasMessageContaining("another program listens at 127.0.10.232:" + at.getPort());
        } finally {
            foreign.destroy();
            foreign.waitFor(10, TimeUnit.SECONDS);
        }
        ServerBootstrap free = new ServerBootstrap();
        sharing.serviceListener(free, at);
        assertThat(free.config().options()).containsEntry(Transport.NIO.reusePort(), true);
    }

    @Test
    void aListenerOfSvcproxyItselfAtTheSharedPortIsNoError() throws Exception {
        InetSocketAddress at = freePort("127.0.10.233");
        PortSharing sharing = sharing(Transport.NIO, at.getPort());
        try (ServerSocketChannel ours = ServerSocketChannel.open()) {
            ours.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            ours.bind(at); // this process's: /proc/self/fd has its socket
            ServerBootstrap b = new ServerBootstrap();
            sharing.serviceListener(b, at);
            assertThat(b.config().options()).containsEntry(Transport.NIO.reusePort(), true);
            // an own listener on every address at the port: ours is no reason to refuse it either
            ServerBootstrap own = new ServerBootstrap();
            sharing.ownListener("proxy.ingress.http", new InetSocketAddress(at.getPort())).accept(own);
            assertThat(own.config().options()).containsEntry(Transport.NIO.reusePort(), true);
        }
    }

    @Test
    void anOwnListenerOnEveryAddressWhereAnotherProgramListensAtThePortIsAnErrorOneAtOneAddressIsBoundAsBefore()
            throws Exception {
        InetSocketAddress at = freePort("127.0.10.234");
        PortSharing sharing = sharing(Transport.NIO, at.getPort());
        ServerBootstrap b = new ServerBootstrap();
        sharing.ownListener("proxy.ingress.http", at).accept(b);
        assertThat(b.config().options()).doesNotContainKey(Transport.NIO.reusePort());
        Process foreign = foreignListener(at);
        try {
            assertThatThrownBy(() -> sharing.ownListener("proxy.ingress.http", new InetSocketAddress(at.getPort())))
                    .isInstanceOf(BindException.class).hasMessageContaining("proxy.ingress.http");
        } finally {
            foreign.destroy();
            foreign.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void listeningSocketsAreReadFromTheKernelsTables() throws Exception {
        ListeningSockets.Listener v4 = ListeningSockets.parse("   3: 0A0A007F:BB8D 00000000:0000 0A 00000000:00000000 "
                + "00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0");
        assertThat(v4).isEqualTo(new ListeningSockets.Listener(InetAddress.getByName("127.0.10.10"), 48013, 123456));
        ListeningSockets.Listener any6 = ListeningSockets.parse("   0: 00000000000000000000000000000000:0050 "
                + "00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
                + "777 1 0000000000000000 100 0 0 10 0");
        assertThat(any6.address().isAnyLocalAddress()).isTrue();
        assertThat(any6.port()).isEqualTo(80);
        assertThat(ListeningSockets.parse("   1: 0100007F:0050 0100007F:C350 01 00000000:00000000 00:00000000 "
                + "00000000     0        0 888 1 0000000000000000 20 4 30 10 -1")).as("established").isNull();
        // [::] takes IPv4 too; 0.0.0.0 no IPv6
        assertThat(ListeningSockets.overlaps(any6.address(), InetAddress.getByName("127.0.10.10"))).isTrue();
        assertThat(ListeningSockets.overlaps(InetAddress.getByName("0.0.0.0"), InetAddress.getByName("fd00::1")))
                .isFalse();
        assertThat(ListeningSockets.overlaps(InetAddress.getByName("127.0.10.11"),
                InetAddress.getByName("127.0.10.10"))).isFalse();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void everyTransportSetsSoReusePortOnAServiceListenerAtASharedPort(Transport transport) throws Exception {
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
            sharing(transport, at.getPort()).serviceListener(b, at);
            Channel channel = b.bind(at).sync().channel();
            try {
                assertThat(channel.config().getOption(transport.reusePort())).as("%s", transport).isTrue();
            } finally {
                channel.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).sync();
        }
    }
}
