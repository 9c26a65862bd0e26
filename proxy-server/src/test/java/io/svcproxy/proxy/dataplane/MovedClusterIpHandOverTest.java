package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.reconcile.Reconciler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * A reload in which a Service port's own address (clusterIP:port) passes to another Service as its externalIP,
 * because the first Service's clusterIP moved. From helper-125's review: the moving port's old address was unbound
 * only once its successor was bound, after the Services before it in the file had been applied, so one of those
 * taking it failed its bind (ERROR, /readyz not ready) until the retry a second later. ClusterIPs 127.0.10.96, .98,
 * .99; endpoints 127.0.0.37-38.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MovedClusterIpHandOverTest {
    final ProxyFixture fixture = new ProxyFixture(Transport.select());
    final ListAppender<ILoggingEvent> reconcilerLog = new ListAppender<>();

    @BeforeEach
    void setUp() {
        reconcilerLog.start();
        ((Logger) LoggerFactory.getLogger(Reconciler.class)).addAppender(reconcilerLog);
    }

    @AfterEach
    void tearDown() {
        ((Logger) LoggerFactory.getLogger(Reconciler.class)).detachAppender(reconcilerLog);
        fixture.close();
    }

    static String read(String ip, int port) {
        try (Socket s = new Socket()) {
            s.setSoTimeout(5000);
            s.connect(new InetSocketAddress(ip, port), 5000);
            return Net.readAllText(s).trim();
        } catch (IOException e) {
            return "refused: " + e;
        }
    }

    /**
     * README: "An address that changes hands in one change [...] is unbound before it is bound again". A moving
     * Service port's old clusterIP:port is unbound once its successor is bound (make before break), and the moves
     * are applied before the other ports: sb, first in the file, binds its new externalIP (sa's old clusterIP) in
     * the same reload, with no bind failure and no WARN or ERROR (before, only the retry a second later served it).
     */
    @Test
    void aClusterIpThatMovesAwayIsFreeForTheServiceThatTakesItAsExternalIpInTheSameReload() throws Exception {
        TestBackend a = fixture.backend("127.0.0.37", "A", Mode.NAME);
        TestBackend b = fixture.backend("127.0.0.38", "B", Mode.NAME);
        int port;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.10.98", 0));
            port = s.getLocalPort();
        }
        String sa = "  - name: sa\n    clusterIP: %s\n    ports: [{name: p, port: " + port + "}]\n"
                + "    endpoints: [{ip: 127.0.0.37, port: " + a.address().getPort() + "}]\n";
        String sb = "  - name: sb\n    clusterIP: 127.0.10.99\n%s    ports: [{name: p, port: " + port + "}]\n"
                + "    endpoints: [{ip: 127.0.0.38, port: " + b.address().getPort() + "}]\n";
        ProxyServer server = fixture.proxy("proxy: {admin: off}\nservices:\n" + sa.formatted("127.0.10.98")
                + sb.formatted(""));
        assertThat(read("127.0.10.98", port)).isEqualTo("A");
        reconcilerLog.list.clear();

        server.reload(ConfigLoader.parse("proxy: {admin: off}\nservices:\n"
                + sb.formatted("    externalIPs: [127.0.10.98]\n") + sa.formatted("127.0.10.96"), "r.yaml"));

        List<String> errors = reconcilerLog.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .map(ILoggingEvent::getFormattedMessage).toList();
        List<String> unbound = List.copyOf(server.table().unbound());
        Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> assertThat(read("127.0.10.98", port)).isEqualTo("B"));
        assertThat(read("127.0.10.96", port)).isEqualTo("A");
        assertThat(unbound).as("addresses not bound right after the reload").isEmpty();
        assertThat(errors).as("WARN/ERROR lines of a valid reload").isEmpty();
    }
}
