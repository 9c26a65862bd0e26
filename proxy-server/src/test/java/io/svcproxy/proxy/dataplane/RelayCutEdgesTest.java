package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.svcproxy.balancer.BackendState;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-104's review of the TCP relay: where svcproxy cuts a connection itself (a drain deadline during a
 * connect, an idle timeout with bytes in flight), the cut is neither the endpoint's failure nor a clean end. From
 * helper-139's: a slow but steady download was reset as idle (the idle clock moved only on reads and on a paused
 * side's drain below the low water mark, not on the bytes a slow client took), and a client whose request the proxy
 * held while its endpoint still connected was ended with a FIN, an empty answer, where every other cut of such a
 * connection is a reset. Loopback: endpoints 127.0.0.204-206 and 127.0.0.146-147, ClusterIP 127.0.10.204:42004.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayCutEdgesTest {
    private static final String VIP = "127.0.10.204";
    private static final int PORT = 42004;

    private final ProxyFixture fixture = new ProxyFixture(Transport.select());
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing anyway
            }
        }
    }

    private static String config(String proxyExtra, String endpointsYaml) {
        return "proxy:\n  admin: off\n" + proxyExtra + "services:\n  - name: web\n    clusterIP: " + VIP + "\n"
                + "    scheduler: rr\n    ports: [{port: " + PORT + "}]\n" + endpointsYaml;
    }

    private ServicePort port() {
        return fixture.server().table().servicePorts().stream()
                .filter(p -> p.key().clusterIP().getHostAddress().equals(VIP)).findFirst().orElseThrow();
    }

    private BackendState state(int port) {
        return port().backendSet().backends().stream().filter(b -> b.port() == port).findFirst().orElseThrow();
    }

    /** A listening socket whose accept queue (backlog 1) is full: connects to it hang (SYNs dropped). */
    private ServerSocket fullAcceptQueue(String ip) throws IOException {
        ServerSocket full = new ServerSocket(0, 1, InetAddress.getByName(ip));
        closeables.add(full);
        for (int i = 0; i < 2; i++) {
            Socket f = new Socket();
            f.connect(full.getLocalSocketAddress(), 1000);
            closeables.add(f);
        }
        return full;
    }

    /** A server that counts the connections it accepts and holds them open. */
    private static final class CountingServer implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger accepted = new AtomicInteger();
        final List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();

        CountingServer(String ip) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName(ip));
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        accepted.incrementAndGet();
                        held.add(s);
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "counting-server");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : held) {
                s.close();
            }
        }
    }

    /**
     * A drain deadline (ConnectionEnds.abort: Service port removed drainTimeout ago, shutdown's deadline,
     * a second SIGTERM) that meets a connection whose endpoint is still connecting resets that connect first while
     * the client is still open; the connect listener takes that for the endpoint's failure: it counts a connect
     * failure against the endpoint (outlier detection, svcproxy_connect_failures_total{reason="error"}), logs
     * "Connect failed" and re-picks: another endpoint is given (and opens) a connection that is cut at once.
     */
    @Test
    void aDrainDeadlineDuringAConnectIsNotTheEndpointsFailureAndGivesNoOtherEndpointAConnection() throws Exception {
        ServerSocket hanging = fullAcceptQueue("127.0.0.204");
        CountingServer other = new CountingServer("127.0.0.205");
        closeables.add(other);
        fixture.proxy(config("  connectTimeout: 20s\n  connectAttempts: 3\n",
                "    endpoints:\n      - {ip: 127.0.0.204, port: " + hanging.getLocalPort() + "}\n"
                        + "      - {ip: 127.0.0.205, port: " + other.server.getLocalPort() + "}\n"));
        try (Socket client = Net.connect(VIP, PORT)) {
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> fixture.server().listeners().connectsInProgress() == 1);
            assertThat(state(hanging.getLocalPort()).counters().total()).isEqualTo(1);

            assertThat(port().closeConnections()).isEqualTo(1); // the drain deadline
            assertThat(Net.wasReset(client)).isTrue();
        }
        // (the abort's task counts what follows before it resets the client: nothing to wait for)
        org.assertj.core.api.SoftAssertions soft = new org.assertj.core.api.SoftAssertions();
        soft.assertThat(state(hanging.getLocalPort()).counters().connectFailures())
                .as("connect failures counted against the endpoint whose connect the drain cut").isZero();
        soft.assertThat(state(other.server.getLocalPort()).counters().total())
                .as("connections given to another endpoint after the drain cut the connection").isZero();
        soft.assertAll();
    }

    /**
     * The idle timeout closes the client with a FIN even when svcproxy still holds bytes for it. An
     * endpoint sends a close-delimited answer (16 MiB, then its FIN); the client stalls (reads nothing) for longer than
     * idleTimeout; svcproxy drops what it holds for the client (its write queue, and what it drained from the
     * endpoint after the FIN) and closes with a FIN: the client then reads a cut answer that ends cleanly, as if
     * complete. README: a cut connection is reset "as a relay failure is: a FIN would let a client read a cut
     * close-delimited response or stream as complete (an idle timeout, with nothing in flight, closes with a FIN)";
     * here bytes are in flight.
     */
    @Test
    void anIdleTimeoutThatCutsBytesHeldForAClientDoesNotEndItsStreamWithACleanFin() throws Exception {
        int total = 16 * 1024 * 1024;
        ServerSocket answering = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.206"));
        closeables.add(answering);
        Thread writer = new Thread(() -> {
            try (Socket s = answering.accept(); OutputStream out = s.getOutputStream()) {
                byte[] chunk = new byte[16384];
                for (int offset = 0; offset < total; offset += chunk.length) {
                    for (int j = 0; j < chunk.length; j++) {
                        chunk[j] = (byte) (offset + j);
                    }
                    out.write(chunk);
                }
                s.shutdownOutput(); // the end of the close-delimited answer
                s.getInputStream().read(); // then waits for svcproxy to close
            } catch (IOException e) {
                // svcproxy closed it
            }
        }, "answering-endpoint");
        writer.setDaemon(true);
        writer.start();
        fixture.proxy(config("  idleTimeout: 500ms\n",
                "    endpoints: [{ip: 127.0.0.206, port: " + answering.getLocalPort() + "}]\n"));
        try (Socket client = new Socket()) {
            client.setReceiveBufferSize(16384);
            client.connect(new InetSocketAddress(VIP, PORT), 5000);
            client.setSoTimeout(10_000);
            // the client stalls: it reads nothing until svcproxy closed the connection for idleness
            await().atMost(Duration.ofSeconds(20)).until(() -> port().connections().isEmpty());
            long read = 0;
            String end;
            InputStream in = client.getInputStream();
            byte[] buffer = new byte[16384];
            try {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    for (int i = 0; i < n; i++) {
                        if (buffer[i] != (byte) (read + i)) {
                            throw new AssertionError("byte " + (read + i) + " is wrong: bytes lost or reordered");
                        }
                    }
                    read += n;
                }
                end = "a clean end of stream (FIN) after " + read + " of " + total + " bytes";
            } catch (SocketException e) {
                end = "reset after " + read + " bytes";
            }
            assertThat(end).as("how the answer ends for the client").satisfiesAnyOf(
                    e -> assertThat(e).startsWith("reset"),
                    e -> assertThat(e).isEqualTo("a clean end of stream (FIN) after " + total + " of " + total
                            + " bytes"));
        }
    }

    /**
     * README/SPEC: "a proxied connection with no bytes either way this long is closed". A client that downloads
     * steadily but slowly (1 KiB every 100 ms, 10 KiB/s, as a throttled or mobile client or a slow consumer does)
     * has bytes moving toward it the whole time, yet svcproxy closes it at {@code idleTimeout}: its clock moves only
     * on a read, or when the client's write queue falls below the low water mark (32 KiB), which at 10 KiB/s takes
     * longer than the 2 s timeout while the endpoint's side is paused. nginx's {@code proxy_timeout} ("between two
     * successive read or write operations") and HAProxy's {@code timeout client} count the writes too. The
     * connection is reset in the middle of the download (bytes held for it), which a client sees as a failure.
     */
    @Test
    void aSlowButSteadyDownloadIsNotCutAsIdle() throws Exception {
        ServerSocket answering = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.146"));
        closeables.add(answering);
        Thread writer = new Thread(() -> {
            try (Socket s = answering.accept(); OutputStream out = s.getOutputStream()) {
                byte[] chunk = new byte[16384];
                for (long offset = 0; offset < 64L * 1024 * 1024; offset += chunk.length) {
                    for (int j = 0; j < chunk.length; j++) {
                        chunk[j] = (byte) (offset + j);
                    }
                    out.write(chunk);
                }
            } catch (IOException e) {
                // svcproxy closed it
            }
        }, "h139-streaming-endpoint");
        writer.setDaemon(true);
        writer.start();
        fixture.proxy(config("  idleTimeout: 2s\n",
                "    endpoints: [{ip: 127.0.0.146, port: " + answering.getLocalPort() + "}]\n"));
        int want = 80 * 1024; // 8 s at 10 KiB/s: four idle timeouts
        long read = 0;
        String outcome;
        try (Socket client = new Socket()) {
            client.setReceiveBufferSize(4096);
            client.bind(new InetSocketAddress("127.0.139.1", 0));
            client.connect(new InetSocketAddress(VIP, PORT), 5000);
            client.setSoTimeout(10_000);
            InputStream in = client.getInputStream();
            byte[] buffer = new byte[1024];
            long started = System.nanoTime();
            try {
                outcome = null;
                while (read < want) {
                    int n = in.read(buffer, 0, (int) Math.min(buffer.length, want - read));
                    if (n < 0) {
                        outcome = "end of stream (FIN)";
                        break;
                    }
                    for (int i = 0; i < n; i++) {
                        if (buffer[i] != (byte) (read + i)) {
                            throw new AssertionError("byte " + (read + i) + " is wrong: bytes lost or reordered");
                        }
                    }
                    read += n;
                    Thread.sleep(100); // 1 KiB every 100 ms
                }
            } catch (SocketException e) {
                outcome = "reset (" + e.getMessage() + ")";
            }
            if (outcome != null) {
                outcome += " after " + read + " bytes and "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) + " ms of steady reading";
            }
        }
        assertThat(outcome).as("a client reading 10 KiB/s the whole time is not idle (idleTimeout 2s)").isNull();
        assertThat(read).isEqualTo(want);
    }
    /**
     * An idle timeout that fires while the endpoint still connects (its SYNs dropped: a full accept queue, a node
     * that went away) ends the client with a clean FIN, although svcproxy holds the request the client sent and
     * never delivered it. Every other way svcproxy ends such a connection resets it: giving up after the connect
     * attempts ({@code FrontendHandler.giveUp}: "a reset rather than a FIN that reads as an empty answer"), a drain or
     * shutdown deadline, an idle timeout with bytes held in the relay (README: "a FIN would let a client read a cut
     * ... stream as complete"). A client that sent its request and half-closed reads the FIN as the server's
     * complete (empty) answer; with {@code idleTimeout: 5s} and the default {@code connectTimeout: 2s} x 3 attempts
     * the third attempt is cut this way. Here idleTimeout 1s, connectTimeout 5s.
     */
    @Test
    void anIdleTimeoutWhileTheEndpointConnectsResetsAClientWhoseRequestIsHeld() throws Exception {
        ServerSocket full = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.147"));
        closeables.add(full);
        for (int i = 0; i < 2; i++) {
            Socket f = new Socket();
            f.connect(full.getLocalSocketAddress(), 1000);
            closeables.add(f);
        }
        fixture.proxy(config("  idleTimeout: 1s\n  connectTimeout: 5s\n  connectAttempts: 1\n",
                "    endpoints: [{ip: 127.0.0.147, port: " + full.getLocalPort() + "}]\n"));
        String end;
        try (Socket client = new Socket()) {
            client.bind(new InetSocketAddress("127.0.139.3", 0));
            client.connect(new InetSocketAddress(VIP, PORT), 5000);
            client.setSoTimeout(20_000);
            client.getOutputStream().write("PUT /upload HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello".getBytes(
                    java.nio.charset.StandardCharsets.US_ASCII));
            client.shutdownOutput(); // sent whole: now it waits for the answer
            try {
                int n = client.getInputStream().read();
                end = n < 0 ? "a clean end of stream (FIN): an empty answer, the request never delivered"
                        : "a byte";
            } catch (SocketException e) {
                end = "reset";
            }
        }
        assertThat(end).as("how svcproxy ends, at idleTimeout, a client whose request it holds while the endpoint "
                + "connects").isEqualTo("reset");
    }
}
