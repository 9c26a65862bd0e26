package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-98's review: an endpoint behind a {@code proxyProtocol} Service port expects the PROXY header first on every
 * connection. HAProxy sends it with its health checks when the server has {@code send-proxy} (its
 * {@code check-send-proxy} is implied: "By default, the PROXY protocol is enabled for health checks if it is already
 * enabled for normal traffic"), and Envoy's checks go through the cluster's proxy-protocol transport socket. svcproxy's
 * check connects and closes with no header, so a PROXY-speaking endpoint sees a protocol error on every check.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckProxyProtocolTest {
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"v1", "v2"})
    void aCheckOfAProxyProtocolPortSendsTheProxyHeader(String version) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        HealthChecker checker = null;
        try (ServerSocket endpoint = new ServerSocket()) {
            endpoint.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.205"), 0));
            endpoint.setSoTimeout(10_000);
            ServicePort port = checkedPort("""
                    services:
                      - name: pp
                        clusterIP: 127.0.10.205
                        ports: [{port: 46085, proxyProtocol: %s}]
                        endpoints: [{ip: 127.0.0.205, port: %d}]
                        healthCheck: {interval: 5s, timeout: 1s, rise: 1, fall: 1}
                    """.formatted(version, endpoint.getLocalPort()));
            checker = new HealthChecker(port, group.next(), Transport.NIO).start();
            byte[] received;
            try (Socket check = endpoint.accept()) {
                check.setSoTimeout(10_000);
                InputStream in = check.getInputStream();
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                byte[] buf = new byte[256];
                for (int i = 0; i < 100; i++) { // bounded: the checker closes right after connecting
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    bytes.write(buf, 0, n);
                }
                received = bytes.toByteArray();
            }
            String text = new String(received, StandardCharsets.US_ASCII);
            if (version.equals("v1")) {
                // the check connection's own addresses: from svcproxy's address to the endpoint's
                assertThat(text).as("what the check sent to an endpoint that expects the PROXY protocol")
                        .matches("PROXY TCP4 127\\.\\d+\\.\\d+\\.\\d+ 127\\.0\\.0\\.205 \\d+ "
                                + endpoint.getLocalPort() + "\r\n");
            }
            if (version.equals("v2")) {
                // the signature, version 2 command LOCAL (0x20), family UNSPEC (0x00), no addresses
                byte[] expected = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00,
                    0x00, 0x00};
                assertThat(received).as("what the check sent").isEqualTo(expected);
            }
        } finally {
            if (checker != null) {
                checker.stop();
            }
            group.shutdownGracefully(0, 100, TimeUnit.MILLISECONDS).sync();
        }
    }

    /**
     * A UDP port's check connects over TCP to the endpoint's same port (README), whose TCP service was never said to
     * expect the PROXY protocol (a UDP port's {@code proxyProtocol: v2} is its datagrams'): the check sends no header
     * and ends with a reset, as a TCP port's check without the protocol. It sent the v2 LOCAL header and a FIN
     * (helper-117's suspicion).
     */
    @Test
    void aCheckOfAUdpPortSendsNoProxyHeader() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        HealthChecker checker = null;
        try (ServerSocket endpoint = new ServerSocket()) {
            endpoint.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.205"), 0));
            endpoint.setSoTimeout(10_000);
            ServicePort port = checkedPort("""
                    services:
                      - name: dns
                        clusterIP: 127.0.10.205
                        ports: [{port: 46086, protocol: UDP, proxyProtocol: v2}]
                        endpoints: [{ip: 127.0.0.205, port: %d}]
                        healthCheck: {interval: 5s, timeout: 1s, rise: 1, fall: 1}
                    """.formatted(endpoint.getLocalPort()));
            checker = new HealthChecker(port, group.next(), Transport.NIO).start();
            try (Socket check = endpoint.accept()) {
                check.setSoTimeout(10_000);
                InputStream in = check.getInputStream();
                org.assertj.core.api.Assertions.assertThatThrownBy(in::read)
                        .as("the check's first read: a reset, no header").isInstanceOf(java.net.SocketException.class)
                        .hasMessageContaining("reset");
            }
        } finally {
            if (checker != null) {
                checker.stop();
            }
            group.shutdownGracefully(0, 100, TimeUnit.MILLISECONDS).sync();
        }
    }

    /** The Service port of {@code yaml}'s one Service and port, its endpoints ready: what a HealthChecker checks. */
    static ServicePort checkedPort(String yaml) throws io.svcproxy.config.ConfigException {
        ServicePortSpec spec = ServicePorts.resolve(ConfigLoader.parse(yaml, "svcproxy.yaml")).get(0);
        List<BackendState> list = new ArrayList<>();
        for (EndpointTarget t : spec.endpoints()) {
            list.add(BackendState.of(t.ip(), t.port(), t.weight()));
        }
        return new ServicePort(spec, BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list, System::nanoTime));
    }
}
