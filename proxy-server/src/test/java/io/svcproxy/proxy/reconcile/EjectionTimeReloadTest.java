package io.svcproxy.proxy.reconcile;

import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * From helper-98's review: a reload that shortens {@code proxy.outlierDetection} (here 1h to 1s) leaves an endpoint already ejected
 * out for the old length: EndpointHealth.eject fixes {@code ejectedUntil} at the ejection and Housekeeping's
 * returnIfDue never looks at the settings in force, although the same reload turning detection off returns it at
 * once. Envoy computes the uneject time from the settings in force at each interval
 * ({@code min(base_ejection_time * backoff, max_ejection_time)} since the last ejection).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EjectionTimeReloadTest {
    private static final String SERVICE = """
            services:
              - name: web
                clusterIP: 127.0.10.207
                ports: [{port: 46087}]
                endpoints: [{ip: 127.0.0.207, port: 46087}, {ip: 127.0.0.208, port: 46087}]
            """;

    @Test
    void aReloadThatShortensTheEjectionTimeReachesAnEndpointEjectedBefore() throws Exception {
        ProxyConfig longer = ConfigLoader.parse("proxy: {admin: off, outlierDetection: {baseEjectionTime: 1h, "
                + "maxEjectionTime: 1h}}\n" + SERVICE, "svcproxy.yaml");
        ProxyConfig shorter = ConfigLoader.parse("proxy: {admin: off, outlierDetection: {baseEjectionTime: 1s, "
                + "maxEjectionTime: 1s}}\n" + SERVICE, "svcproxy.yaml");
        ListenerManager listeners = new ListenerManager(Transport.select(), 1, ProxyMetrics.NOOP,
                DataPlaneSettings.of(longer));
        ServiceTable table = new ServiceTable();
        Reconciler reconciler = new Reconciler(table, listeners, ProxyMetrics.NOOP, System::nanoTime);
        Logger log = (Logger) LoggerFactory.getLogger(ServicePort.class);
        Level level = log.getLevel();
        try {
            List<ServicePortSpec> specs = ServicePorts.resolve(longer);
            reconciler.apply(specs, Duration.ofSeconds(30));
            ServicePort port = table.get(specs.get(0).key());
            BackendState first = port.backendSet().backends().get(0);
            log.setLevel(Level.ERROR); // the ejection's WARN is expected here
            port.maybeEject(first, 5, longer.proxy().outlierDetection(), "");
            log.setLevel(level);
            await().atMost(Duration.ofSeconds(10)).until(() ->
                    port.backendSet().backends().get(0).state() == BackendState.State.EJECTED);
            // the reload, as ProxyServer applies one: settings first, then the Service ports
            listeners.setSettings(DataPlaneSettings.of(shorter));
            reconciler.apply(ServicePorts.resolve(shorter), Duration.ofSeconds(30));
            // housekeeping runs once a second; 1s ejections are over within a few rounds
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(250)).until(() -> {
                reconciler.sweep();
                return !first.counters().health().ejected();
            });
        } finally {
            log.setLevel(level);
            listeners.close();
        }
    }
}
