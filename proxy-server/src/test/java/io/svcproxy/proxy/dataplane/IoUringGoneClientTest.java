package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.proxy.ProxyServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-117's review of {@code proxy.transport: io_uring}: a client of a LoadBalancer IP that resets before
 * svcproxy served it has no remote address on io_uring (see {@link IoUringGoneClientIngressTest}).
 * AddressRules.decide refused a client without an address as outside {@code loadBalancerSourceRanges}, even on a
 * Service that has no source ranges: {@code svcproxy_rejected_connections_total{reason="source_range"}} counted
 * clients that no rule refused (on epoll the same clients are not counted there). LoadBalancer IP 127.0.117.5,
 * ClusterIP 127.0.10.134, endpoint 127.0.0.140.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class IoUringGoneClientTest {
    final ProxyFixture fixture = new ProxyFixture(Transport.IO_URING);

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    @Test
    void aClientGoneBeforeServedOnALoadBalancerIpWithoutSourceRangesIsNoSourceRangeRejection() throws Exception {
        int port = DrainDeadlineOnEveryTransportTest.freePort("127.0.117.5");
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.140"))) {
            ProxyServer server = fixture.proxy("proxy: {admin: off}\nservices:\n  - name: lb\n    type: LoadBalancer\n"
                    + "    clusterIP: 127.0.10.134\n    loadBalancerIPs: [127.0.117.5]\n"
                    + "    ports: [{port: " + port + ", nodePort: 31117}]\n"
                    + "    endpoints: [{ip: 127.0.0.140, port: " + endpoint.getLocalPort() + "}]\n");
            IoUringGoneClientIngressTest.resetBeforeServed(server, new InetSocketAddress("127.0.117.5", port),
                    "hello".getBytes(StandardCharsets.US_ASCII), 3);
            Awaitility.await().atMost(Duration.ofSeconds(20))
                    .until(() -> IoUringGoneClientIngressTest.checkLoopsIdle(server));
            ServicePort servicePort = server.table().servicePorts().stream()
                    .filter(p -> p.key().port() == port).findFirst().orElseThrow();
            assertThat(servicePort.rejectedCount(Rejection.SOURCE_RANGE))
                    .as("source_range rejections on a Service without loadBalancerSourceRanges").isZero();
        }
    }
}
