package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.proxy.dataplane.DataPlaneSettings;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * While a shutdown drains, the reconciler's sweep still runs (about once a second): the deadlines of endpoints and
 * Service ports removed before the shutdown hold during it. The sync runner, which ran it, is closed by then, and an
 * endpoint removed 8 s before a SIGTERM with drainTimeout 10 s kept its connection to the shutdown's own deadline, 18 s
 * after it left (helper-101's review).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DrainSweepTest {
    @Test
    void theSweepRunsWhileAShutdownDrains() throws Exception {
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.245"))) {
            ProxyConfig config = ConfigLoader.parse("""
                    proxy: {admin: off}
                    services:
                      - name: web
                        clusterIP: 127.0.10.245
                        ports: [{port: 49145}]
                        endpoints: [{ip: 127.0.0.245, port: %d}]
                    """.formatted(endpoint.getLocalPort()), "svcproxy.yaml");
            ListenerManager listeners = new ListenerManager(Transport.select(), 1, ProxyMetrics.NOOP,
                    DataPlaneSettings.of(config));
            Reconciler reconciler = new Reconciler(new ServiceTable(), listeners, ProxyMetrics.NOOP,
                    System::nanoTime);
            try {
                assertThat(reconciler.apply(ServicePorts.resolve(config), Duration.ofSeconds(30))).isEmpty();
                try (Socket client = new Socket()) {
                    client.connect(new InetSocketAddress("127.0.10.245", 49145), 2000);
                    try (Socket accepted = endpoint.accept()) { // the relay's connection is up: it drains
                        listeners.closeListeners();
                        AtomicInteger sweeps = new AtomicInteger();
                        ListenerManager.Drained cut = listeners.drain(Duration.ofMillis(2500), () -> {
                            sweeps.incrementAndGet();
                            reconciler.sweep();
                        });
                        assertThat(cut.connections()).isEqualTo(1);
                        assertThat(sweeps.get()).as("sweeps while draining for 2.5 s").isPositive();
                    }
                }
            } finally {
                listeners.close();
            }
        }
    }
}
