package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.proxy.dataplane.DataPlaneSettings;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-98's review: on SIGTERM ListenerManager.closeListeners() unbinds the TCP Service ports, which stops their health
 * checkers, but a UDP port only stops taking new flows: its checker goes on checking through the whole drain (up to
 * drainTimeout), so endpoints shutting down with the proxy (docker compose down, a node drain) are logged
 * "Endpoint unhealthy" (WARN) during a normal shutdown, and published again, while the TCP ports' are not.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpChecksAfterCloseListenersTest {
    @Test
    void closingTheListenersStopsTheUdpPortsChecksAsItStopsTheTcpPorts() throws Exception {
        try (ServerSocket endpoint = new ServerSocket()) {
            endpoint.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.209"), 0), 50);
            int p = endpoint.getLocalPort();
            ProxyConfig config = ConfigLoader.parse("""
                    proxy: {admin: off}
                    services:
                      - name: dns
                        clusterIP: 127.0.10.208
                        ports:
                          - {name: dns, protocol: UDP, port: 46088, targetPort: %d}
                          - {name: dns-tcp, protocol: TCP, port: 46088, targetPort: %d}
                        endpoints: [{ip: 127.0.0.209, ports: {dns: %d, dns-tcp: %d}}]
                        healthCheck: {interval: 200ms, timeout: 200ms, rise: 1, fall: 1}
                    """.formatted(p, p, p, p), "svcproxy.yaml");
            ListenerManager listeners = new ListenerManager(Transport.select(), 1, ProxyMetrics.NOOP,
                    DataPlaneSettings.of(config));
            ServiceTable table = new ServiceTable();
            Reconciler reconciler = new Reconciler(table, listeners, ProxyMetrics.NOOP, System::nanoTime);
            try {
                List<ServicePortSpec> specs = ServicePorts.resolve(config);
                assertThat(reconciler.apply(specs, Duration.ofSeconds(30))).isEmpty();
                BackendState udp = null;
                BackendState tcp = null;
                for (ServicePortSpec s : specs) {
                    ServicePort port = table.get(s.key());
                    if (s.key().protocol() == io.svcproxy.config.Protocol.UDP) {
                        udp = port.backendSet().backends().get(0);
                    } else {
                        tcp = port.backendSet().backends().get(0);
                    }
                }
                Thread.sleep(500); // a few rounds of checks pass
                listeners.closeListeners(); // SIGTERM: the drain starts
                endpoint.close(); // the endpoints shut down too
                Thread.sleep(1500); // several check intervals
                assertThat(tcp.counters().health().unhealthy()).as("TCP port: checks stopped").isFalse();
                assertThat(udp.counters().health().unhealthy()).as("UDP port: checks stopped").isFalse();
            } finally {
                listeners.close();
            }
        }
    }
}
