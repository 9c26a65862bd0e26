package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * helper-100's review of 673dc9f: every TCP Service listener is now bound with SO_REUSEPORT, whether or not an own
 * listener on every address shares its port. The plain-bind probe only catches a program that was there first: a
 * program of the same user that sets SO_REUSEPORT (HAProxy by default, nginx `reuseport`, envoy) and binds the
 * Service's address afterwards joins the Service listener's reuseport group and takes a share of its connections.
 * Before 673dc9f its bind failed with "Address already in use". No own listener on every address is configured
 * here, so nothing needs the port shared.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServicePortLaterReusePortTest {
    @Test
    void aProgramBindingAServiceAddressAfterSvcproxyWithSoReusePortIsRefused() throws Exception {
        ProxyConfig config = ConfigLoader.parse("""
                proxy: {admin: off}
                services:
                  - name: web
                    clusterIP: 127.0.10.235
                    ports: [{port: 48235, targetPort: 48236}]
                    endpoints: [{ip: 127.0.0.235}]
                """, "svcproxy.yaml");
        ListenerManager listeners = new ListenerManager(Transport.select(), 1, ProxyMetrics.NOOP,
                DataPlaneSettings.of(config));
        Reconciler reconciler = new Reconciler(new ServiceTable(), listeners, ProxyMetrics.NOOP, System::nanoTime);
        try {
            org.assertj.core.api.Assertions.assertThat(
                    reconciler.apply(ServicePorts.resolve(config), Duration.ofSeconds(5))).isEmpty();
            InetSocketAddress service = new InetSocketAddress(InetAddress.getByName("127.0.10.235"), 48235);
            assertThatThrownBy(() -> {
                try (ServerSocketChannel haproxy = ServerSocketChannel.open()) {
                    haproxy.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                    haproxy.setOption(StandardSocketOptions.SO_REUSEPORT, true);
                    haproxy.bind(service); // listens: it now gets some of the Service's connections
                }
            }).as("another program's listener at the Service's address").isInstanceOf(java.net.BindException.class);
        } finally {
            listeners.close();
        }
    }
}
