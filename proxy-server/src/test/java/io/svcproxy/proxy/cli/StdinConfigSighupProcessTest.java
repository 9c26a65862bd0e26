package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code run --config /dev/stdin} with the config piped in ({@code envsubst < t.yaml | svcproxy run --config
 * /dev/stdin}, {@code docker run -i ... < svcproxy.yaml}): the config was read once, to its end, so a SIGHUP (as
 * logrotate's postrotate sends for proxy.connectionLog) reopens the connection log only and says that the config is
 * not reloaded. Addresses: ClusterIP 127.0.10.36, endpoint 127.0.0.145.
 *
 * <p>From helper-123's review: the watch is not started (the config is not a regular file), and SIGHUP went to
 * ProxyServer.reloadFromFile's fallback, which read /dev/stdin again: an anonymous pipe whose writer is gone reads
 * as end of file at once, "" is the empty config, and that was applied: every Service port unbound (a FIFO's read
 * blocked for good instead, a thread stuck per SIGHUP).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StdinConfigSighupProcessTest {
    private static final String CLUSTER_IP = "127.0.10.36";

    @Test
    void aSighupDoesNotUnbindTheServicesOfAConfigPipedIntoTheStandardInput() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(CLUSTER_IP, 0));
            port = probe.getLocalPort();
        }
        String yaml = """
                proxy: {admin: off}
                services:
                  - name: web
                    clusterIP: %s
                    ports: [{port: %d}]
                    endpoints: [{ip: 127.0.0.145, port: 9}]
                """.formatted(CLUSTER_IP, port);
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "io.svcproxy.proxy.Main", "run", "--config", "/dev/stdin");
        Process process = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        StringBuffer err = new StringBuffer();
        Thread pump = pump(process.getErrorStream(), err);
        try {
            try (OutputStream stdin = process.getOutputStream()) { // an anonymous pipe, closed: the writer is gone
                stdin.write(yaml.getBytes(StandardCharsets.UTF_8));
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> err.toString().contains("Serving") || !process.isAlive());
            assertThat(accepts(port)).as("serving before the SIGHUP; %s", err).isTrue();

            new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).start().waitFor(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(20)).until(() -> err.toString().contains("Received SIGHUP"));

            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(20))
                    .failFast("the Service port was unbound by the SIGHUP; " + err,
                            () -> err.toString().contains("Removed service port") || !accepts(port))
                    .until(() -> true);
            assertThat(err.toString()).contains("Received SIGHUP: connection log reopened; the config is not "
                    + "reloaded: it was read once, not from a regular file");
        } finally {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            pump.join(5000);
        }
    }

    /**
     * Whether the Service port's address is listened on: a connect refused says it is not. A connect reset is no
     * answer either way (its endpoint refuses, so each connection is reset, and a probe right after one may be
     * reset in its handshake on a loaded machine).
     */
    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(CLUSTER_IP, port), 2000);
            return true;
        } catch (ConnectException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static Thread pump(InputStream in, StringBuffer sink) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[4096];
            try {
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    sink.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "pump");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
