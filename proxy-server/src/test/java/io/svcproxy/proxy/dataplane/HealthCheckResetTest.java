package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A TCP check that connected is reset, as HAProxy ends its TCP checks: with a FIN svcproxy, which closes first,
 * kept a TIME_WAIT socket per check (60 s each). The endpoint reads the reset, on every transport (io_uring's from
 * helper-117's review). Loopback: endpoint 127.0.0.242, ClusterIP 127.0.10.242:47242.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckResetTest {
    @ParameterizedTest
    @EnumSource(Transport.class)
    void aCheckThatConnectedIsResetNotClosedWithAFin(Transport transport) throws Exception {
        EventLoopGroup group = transport.newGroup(1, new DefaultThreadFactory("check-" + transport, true));
        HealthChecker checker = null;
        try (ServerSocket endpoint = new ServerSocket()) {
            endpoint.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.242"), 0));
            endpoint.setSoTimeout(10_000);
            ServicePort port = HealthCheckProxyProtocolTest.checkedPort("""
                    services:
                      - name: checked
                        clusterIP: 127.0.10.242
                        ports: [{port: 47242}]
                        endpoints: [{ip: 127.0.0.242, port: %d}]
                        healthCheck: {interval: 5s, timeout: 1s, rise: 1, fall: 1}
                    """.formatted(endpoint.getLocalPort()));
            checker = new HealthChecker(port, group.next(), transport).start();
            try (Socket check = endpoint.accept()) {
                check.setSoTimeout(10_000);
                InputStream in = check.getInputStream();
                assertThatThrownBy(in::read)
                        .as("%s: the end of a check's connection, as the endpoint reads it", transport)
                        .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            }
            assertThat(port.backendSet().backends().get(0).counters().health().inService()).isTrue();
        } finally {
            if (checker != null) {
                checker.stop();
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
