package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * From helper-117's review of the io_uring transport: a drain deadline resets both sides on each native transport,
 * as on epoll (a health check's reset on every transport: HealthCheckResetTest). Endpoint 127.0.0.135, ClusterIP
 * 127.0.10.134.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class DrainDeadlineOnEveryTransportTest {
    static final String VIP = "127.0.10.134";

    static int freePort(String ip) throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(ip))) {
            return s.getLocalPort();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
    void aDrainDeadlineResetsBothSidesOnEveryTransport(Transport transport) throws Exception {
        int vipPort = freePort(VIP);
        try (ProxyFixture fixture = new ProxyFixture(transport);
             ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.135"))) {
            fixture.proxy("proxy: {admin: off}\nservices:\n  - name: web\n    clusterIP: " + VIP
                    + "\n    ports: [{port: " + vipPort + "}]\n    endpoints: [{ip: 127.0.0.135, port: "
                    + server.getLocalPort() + "}]\n");
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
