package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * How a failed connect is told: the endpoint's failure (refused, reset, unreachable, timed out) or svcproxy's own
 * host's ({@code local}), which must not count against the endpoint. The errors are the transports' own, made by
 * the kernel: EADDRNOTAVAIL is what a connect meets when every local port already has a connection to the endpoint's
 * address and port; here the endpoint-side socket is bound (SO_REUSEADDR) to the very address and port of a
 * connection to the endpoint that is open, which the kernel refuses the same way, on one port of this test's own.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConnectErrorsTest {
    private static final String ENDPOINT = "127.0.0.143";

    @ParameterizedTest
    @EnumSource(Transport.class)
    void noLocalPortLeftForTheEndpointsAddressIsALocalFailureNotARefusal(Transport transport) throws Exception {
        if (transport == Transport.EPOLL) {
            Epoll.ensureAvailability();
        } else if (transport == Transport.IO_URING) {
            io.netty.channel.uring.IoUring.ensureAvailability();
        }
        EventLoopGroup group = transport.newGroup(1, r -> new Thread(r, "connect-errors-" + transport));
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName(ENDPOINT));
             Socket held = new Socket()) {
            held.setReuseAddress(true);
            held.bind(new InetSocketAddress("127.0.0.1", 0));
            held.connect(endpoint.getLocalSocketAddress());
            try (Socket accepted = endpoint.accept()) {
                ChannelFuture connect = new Bootstrap().group(group).channel(transport.socketChannel())
                        .option(ChannelOption.SO_REUSEADDR, true)
                        .handler(new ChannelInboundHandlerAdapter())
                        .connect(endpoint.getLocalSocketAddress(), held.getLocalSocketAddress());
                assertThat(connect.await(10, TimeUnit.SECONDS)).isTrue();
                Throwable cause = connect.cause();
                assertThat(cause).as("the kernel refuses a second connection of the same addresses").isNotNull();
                assertThat(ConnectErrors.reason(cause)).as("%s", cause).isEqualTo("local");
                connect.channel().close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void anEndpointsRefusalResetOrTimeoutIsTheEndpoints() throws Exception {
        assertThat(ConnectErrors.reason(new ConnectException(
                "connect(..) failed with error(-111): Connection refused: /127.0.0.143:80"))).isEqualTo("refused");
        assertThat(ConnectErrors.reason(new ConnectException("Connection refused: /127.0.0.143:80")))
                .isEqualTo("refused");
        assertThat(ConnectErrors.reason(new ConnectException(
                "connect(..) failed with error(-104): Connection reset by peer"))).isEqualTo("reset");
        assertThat(ConnectErrors.reason(new io.netty.channel.ConnectTimeoutException(
                "connection timed out after 2000 ms: /127.0.0.143:80"))).isEqualTo("timeout");
        // a missing route to the endpoint's address is that endpoint's path: another endpoint may well be reachable
        assertThat(ConnectErrors.reason(new java.net.NoRouteToHostException())).isEqualTo("unreachable");
    }

    @Test
    void anEventLoopOrSocketThatCannotBeHadIsLocal() {
        Epoll.ensureAvailability(); // Errors names the error with the native library's strerror
        // epoll_ctl when the user's max_user_watches is reached: the endpoint channel cannot be registered
        assertThat(ConnectErrors.reason(Errors.newIOException("epoll_ctl", -28))).isEqualTo("local");
        assertThat(ConnectErrors.reason(Errors.newIOException("connect", -105))).isEqualTo("local");
        // socket(2) failed: Netty's ChannelException around the JDK's or the native transport's error
        assertThat(ConnectErrors.reason(new ChannelException("Unable to create Channel from class",
                new java.net.SocketException("Too many open files")))).isEqualTo("local");
    }
}
