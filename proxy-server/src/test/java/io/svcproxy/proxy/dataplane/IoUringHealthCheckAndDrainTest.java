package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * From helper-117's review of the io_uring transport: what epoll does (a check ends with a reset, a drain deadline
 * resets both sides), checked on each native transport. Endpoints 127.0.0.134-136, ClusterIP 127.0.10.134.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class IoUringHealthCheckAndDrainTest {
    static final String VIP = "127.0.10.134";

    static int freePort(String ip) throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(ip))) {
            return s.getLocalPort();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
    void aHealthCheckThatConnectedIsResetOnEveryTransport(Transport transport) throws Exception {
        EventLoopGroup group = transport.newGroup(1, new DefaultThreadFactory("iouring-check", true));
        HealthChecker checker = null;
        try (ServerSocket endpoint = new ServerSocket()) {
            endpoint.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.134"), 0));
            endpoint.setSoTimeout(10_000);
            ServicePortSpec spec = ServicePorts.resolve(ConfigLoader.parse("""
                    services:
                      - name: checked
                        clusterIP: 127.0.10.134
                        ports: [{port: 47134}]
                        endpoints: [{ip: 127.0.0.134, port: %d}]
                        healthCheck: {interval: 5s, timeout: 1s, rise: 1, fall: 1}
                    """.formatted(endpoint.getLocalPort()), "svcproxy.yaml")).get(0);
            List<BackendState> list = new ArrayList<>();
            for (EndpointTarget t : spec.endpoints()) {
                list.add(BackendState.of(t.ip(), t.port(), t.weight()));
            }
            ServicePort port = new ServicePort(spec, BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list,
                    System::nanoTime));
            checker = new HealthChecker(port, group.next(), transport).start();
            try (Socket check = endpoint.accept()) {
                check.setSoTimeout(10_000);
                InputStream in = check.getInputStream();
                assertThatThrownBy(in::read).as("%s: the end of a check's connection, as the endpoint reads it",
                        transport).isInstanceOf(SocketException.class).hasMessageContaining("reset");
            }
        } finally {
            if (checker != null) {
                checker.stop();
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
    void aDrainDeadlineResetsBothSidesOnEveryTransport(Transport transport) throws Exception {
        int vipPort = freePort(VIP);
        try (ProxyFixture fixture = new ProxyFixture(transport);
             ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.135"))) {
            fixture.proxy("proxy: {admin: off}\nservices:\n  - name: web\n    clusterIP: " + VIP + "\n    ports: [{port: "
                    + vipPort + "}]\n    endpoints: [{ip: 127.0.0.135, port: " + server.getLocalPort() + "}]\n");
            try (Socket client = Net.connect(VIP, vipPort); Socket endpoint = server.accept()) {
                endpoint.setSoTimeout(5000);
                Net.write(client, "hello");
                assertThat(Net.readExactly(endpoint, 5)).hasSize(5);
                Net.write(endpoint, "world");
                assertThat(Net.readExactly(client, 5)).hasSize(5);
                ServicePort port = fixture.server().table().servicePorts().stream()
                        .filter(p -> p.key().clusterIP().getHostAddress().equals(VIP)).findFirst().orElseThrow();
                assertThat(port.closeConnections()).isEqualTo(1);
                assertThat(Net.wasReset(client)).as("%s: the client", transport).isTrue();
                assertThat(Net.wasReset(endpoint)).as("%s: the endpoint", transport).isTrue();
            }
        }
    }
}
