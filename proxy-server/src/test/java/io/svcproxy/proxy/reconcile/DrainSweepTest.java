package io.svcproxy.proxy.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * While a shutdown drains, the reconciler's sweep still runs (the sync runner goes on, sweeping only): the deadlines
 * of endpoints and Service ports removed before the shutdown hold during it, and ejections end. The sync runner was
 * closed at the start of the shutdown, and an endpoint removed 8 s before a SIGTERM with drainTimeout 10 s kept its
 * connection to the shutdown's own deadline, 18 s after it left (helper-101's review). Seen here by an ejection of
 * 100 ms, which only the sweep ends, ending while the shutdown still drains a connection.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DrainSweepTest {
    @Test
    void theSweepRunsWhileAShutdownDrains() throws Exception {
        try (ServerSocket a = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.245"));
             ServerSocket b = new ServerSocket(a.getLocalPort(), 50, InetAddress.getByName("127.0.0.246"))) {
            ProxyConfig config = ConfigLoader.parse("""
                    proxy:
                      admin: off
                      drainTimeout: 30s
                      outlierDetection: {baseEjectionTime: 100ms, maxEjectionTime: 100ms}
                    services:
                      - name: web
                        clusterIP: 127.0.10.245
                        ports: [{port: 49145, targetPort: %d}]
                        endpoints: [{ip: 127.0.0.245}, {ip: 127.0.0.246}]
                    """.formatted(a.getLocalPort()), "svcproxy.yaml");
            ProxyServer server = ProxyServer.start(config, Transport.select(), 1);
            Thread stopping = new Thread(server::shutdown, "svcproxy-shutdown");
            Logger log = (Logger) LoggerFactory.getLogger(ServicePort.class);
            Level level = log.getLevel();
            try (Socket client = new Socket()) {
                client.connect(new InetSocketAddress("127.0.10.245", 49145), 2000);
                try (Socket accepted = (Socket) java.util.concurrent.CompletableFuture.anyOf(
                        java.util.concurrent.CompletableFuture.supplyAsync(() -> accept(a)),
                        java.util.concurrent.CompletableFuture.supplyAsync(() -> accept(b))).get(10, TimeUnit.SECONDS)) {
                    stopping.start(); // SIGTERM: the held connection keeps the drain going for 30 s
                    await().atMost(Duration.ofSeconds(10)).until(() -> !server.table().isReady());
                    ServicePort port = server.table().servicePorts().iterator().next();
                    BackendState ejected = port.backendSet().backends().get(0);
                    log.setLevel(Level.ERROR); // the ejection's WARN is expected here
                    port.maybeEject(ejected, 5, config.proxy().outlierDetection(), "");
                    log.setLevel(level);
                    assertThat(ejected.counters().health().ejected()).isTrue();
                    // only the sweep returns an endpoint whose ejection time is over
                    await().atMost(Duration.ofSeconds(10)).until(() -> !ejected.counters().health().ejected());
                    assertThat(stopping.isAlive()).as("still draining").isTrue();
                    accepted.setSoTimeout(200);
                    try {
                        accepted.getInputStream().read();
                    } catch (SocketTimeoutException e) {
                        // still open: the drain has not cut it
                    }
                    assertThat(accepted.isClosed()).isFalse();
                }
            } finally {
                log.setLevel(level);
                server.close();
                stopping.join(20_000);
            }
        }
    }

    private static Socket accept(ServerSocket listening) {
        try {
            return listening.accept();
        } catch (java.io.IOException e) {
            return null;
        }
    }
}
