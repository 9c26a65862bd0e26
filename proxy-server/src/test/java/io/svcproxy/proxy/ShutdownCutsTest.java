package io.svcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * From helper-101's review of shutdown, drain and readiness: a cut at a drain deadline or by a second signal is a reset
 * both ways (the relay) or towards the client (the Ingress), never a FIN that reads as a complete close-delimited
 * response; the first two cases failed before, the others held.
 * Loopback only: endpoints 127.0.0.241-243, ClusterIPs 127.0.10.241-242, Ingress 127.0.0.250, ports 491xx.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ShutdownCutsTest {
    @TempDir
    Path dir;

    ProxyServer server;
    Thread stopping;

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.close();
        }
        if (stopping != null) {
            stopping.join(20_000);
        }
    }

    private ProxyConfig parse(String yaml) throws Exception {
        Path file = dir.resolve("svcproxy.yaml");
        Files.writeString(file, yaml);
        return ConfigLoader.load(file);
    }

    /** An endpoint that echoes one connection and tells how it ended: "eof", or the exception's message. */
    private static Thread echoOnce(ServerSocket listening, AtomicReference<String> endedAs) {
        Thread t = new Thread(() -> {
            try (Socket s = listening.accept()) {
                byte[] buffer = new byte[1024];
                int n;
                while ((n = s.getInputStream().read(buffer)) > 0) {
                    s.getOutputStream().write(buffer, 0, n);
                }
                endedAs.set("eof");
            } catch (IOException e) {
                endedAs.set(String.valueOf(e.getMessage()));
            }
        }, "echo-once");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static Socket connect(String ip, int port) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(10_000);
        s.connect(new InetSocketAddress(ip, port), 2000);
        return s;
    }

    private static boolean accepts(String ip, int port) {
        try (Socket s = connect(ip, port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * README "Command line": "a second SIGINT or SIGTERM while it drains cuts them at once", and "A connection cut at
     * a drain deadline ... is reset both ways, as a relay failure is: a FIN would let a client read a cut
     * close-delimited response or stream as complete". The second signal calls {@link ProxyServer#close()}
     * (Signals.stop), whose ListenerManager.close() closes the client channels with a plain close: FIN to the
     * client, and Relay.closed's FIN to the endpoint. The first drain's deadline resets (ProcessTest
     * drainTimeoutClosesConnectionsThatOutstayIt); the user's "stop now" must not turn the same cut into a FIN.
     */
    @Test
    void aSecondStopSignalWhileDrainingResetsTheConnectionsLeftBothWays() throws Exception {
        AtomicReference<String> endpointEnded = new AtomicReference<>();
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.241"))) {
            echoOnce(endpoint, endpointEnded);
            server = ProxyServer.start(parse("""
                    proxy: {admin: off, drainTimeout: 10m}
                    services:
                      - name: web
                        clusterIP: 127.0.10.241
                        ports: [{port: 49101}]
                        endpoints: [{ip: 127.0.0.241, port: %d}]
                    """.formatted(endpoint.getLocalPort())), Transport.select(), 2);
            try (Socket client = connect("127.0.10.241", 49101)) {
                client.getOutputStream().write('x');
                assertThat(client.getInputStream().read()).isEqualTo('x');
                // the first SIGTERM: Signals runs shutdown() on a thread of its own
                stopping = new Thread(server::shutdown, "svcproxy-shutdown");
                stopping.start();
                await().atMost(Duration.ofSeconds(10)).until(() -> !accepts("127.0.10.241", 49101));
                assertThat(stopping.isAlive()).as("draining: the connection has 10 minutes").isTrue();
                // the second SIGTERM: Signals runs close()
                server.close();
                assertThatThrownBy(() -> client.getInputStream().read())
                        .as("the client must see a reset, not an end of stream it would take as complete")
                        .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> endpointEnded.get() != null);
            assertThat(endpointEnded.get()).as("the endpoint is reset too").contains("reset");
        }
    }

    /**
     * README: "A connection cut at a drain deadline (shutdown, ...) is reset both ways, as a relay failure is: a FIN
     * would let a client read a cut close-delimited response or stream as complete"; and the Ingress's requests in
     * flight "may finish for up to drainTimeout, then svcproxy cuts them". The Ingress relays close-delimited
     * responses (an HTTP/1.0 endpoint, or a response without a length: IngressBackendHandler's endsAtClose), but at
     * the shutdown deadline ProxyServer.close() leaves the Ingress's client connections to the event loops'
     * shutdown, which closes them with a FIN: the client reads the cut body as a complete response.
     */
    @Test
    void anIngressCloseDelimitedResponseCutAtTheShutdownDeadlineIsAResetNotAnEnd() throws Exception {
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.244"))) {
            Thread streamer = new Thread(() -> {
                try (Socket s = endpoint.accept()) {
                    readHead(s.getInputStream());
                    OutputStream out = s.getOutputStream();
                    // HTTP/1.0, no Content-Length: the body ends when the connection closes (RFC 9112 6.3 item 8)
                    out.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    for (int i = 0; i < 400; i++) { // bounded: 40 s at most
                        out.write("x".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        Thread.sleep(100);
                    }
                } catch (IOException e) {
                    // cut
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "close-delimited");
            streamer.setDaemon(true);
            streamer.start();
            server = ProxyServer.start(parse("""
                    proxy:
                      admin: off
                      drainTimeout: 1s
                      ingress: {http: "127.0.0.250:0", responseTimeout: 5s}
                    services:
                      - name: dump
                        clusterIP: 127.0.10.242
                        ports: [{port: 49104}]
                        endpoints: [{ip: 127.0.0.244, port: %d}]
                    ingresses:
                      - name: shop
                        rules:
                          - host: shop.example
                            http:
                              paths:
                                - {path: /, pathType: Prefix, backend: {service: {name: dump, port: {number: 49104}}}}
                    """.formatted(endpoint.getLocalPort())), Transport.select(), 2);
            InetSocketAddress ingress = server.ingress().httpAddress();
            try (Socket client = connect(ingress.getAddress().getHostAddress(), ingress.getPort())) {
                client.getOutputStream().write("GET /dump HTTP/1.1\r\nHost: shop.example\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                InputStream in = client.getInputStream();
                String head = readHead(in);
                assertThat(head).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("content-length")
                        .doesNotContainIgnoringCase("chunked");
                assertThat(in.read()).isEqualTo('x');
                stopping = new Thread(server::shutdown, "svcproxy-shutdown"); // SIGTERM, drainTimeout 1 s
                stopping.start();
                assertThatThrownBy(() -> {
                    while (in.read() >= 0) {
                        // the body, until the cut
                    }
                }).as("a body cut at the drain deadline must not end as a complete close-delimited response")
                        .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            }
        }
    }

    /**
     * Checked correct (passes): an HTTP/1.1 client that pipelined a second request behind a large response when the drain starts. The
     * first response must arrive whole (with Connection: close or not), the second may go unanswered.
     */
    @Test
    void aPipelinedClientGetsItsLargeResponseWholeThroughTheDrain() throws Exception {
        int size = 16 << 20;
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.247"))) {
            Thread big = new Thread(() -> {
                try (Socket s = endpoint.accept()) {
                    readHead(s.getInputStream());
                    OutputStream out = s.getOutputStream();
                    out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + size + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    byte[] chunk = new byte[65536];
                    for (int i = 0; i < size / chunk.length; i++) {
                        out.write(chunk);
                    }
                    out.flush();
                    readHead(s.getInputStream()); // a second request, if the proxy sends one
                } catch (IOException e) {
                    // done
                }
            }, "big");
            big.setDaemon(true);
            big.start();
            server = ProxyServer.start(parse("""
                    proxy:
                      admin: off
                      drainTimeout: 60s
                      ingress: {http: "127.0.0.250:0", responseTimeout: 5s}
                    services:
                      - name: big
                        clusterIP: 127.0.10.242
                        ports: [{port: 49106}]
                        endpoints: [{ip: 127.0.0.247, port: %d}]
                    ingresses:
                      - name: shop
                        rules:
                          - host: shop.example
                            http:
                              paths:
                                - {path: /, pathType: Prefix, backend: {service: {name: big, port: {number: 49106}}}}
                    """.formatted(endpoint.getLocalPort())), Transport.select(), 2);
            InetSocketAddress ingress = server.ingress().httpAddress();
            try (Socket client = connect(ingress.getAddress().getHostAddress(), ingress.getPort())) {
                client.setReceiveBufferSize(65536);
                client.getOutputStream().write(("GET /one HTTP/1.1\r\nHost: shop.example\r\n\r\n"
                        + "GET /two HTTP/1.1\r\nHost: shop.example\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                InputStream in = client.getInputStream();
                String head = readHead(in);
                assertThat(head).startsWith("HTTP/1.1 200");
                stopping = new Thread(server::shutdown, "svcproxy-shutdown");
                stopping.start();
                await().atMost(Duration.ofSeconds(10)).until(() -> server.listeners().listenersClosed());
                Thread.sleep(500); // the drain reached the connection
                long read = 0;
                byte[] buffer = new byte[65536];
                try {
                    int n;
                    while (read < size && (n = in.read(buffer)) >= 0) {
                        read += n;
                    }
                } catch (SocketException e) {
                    throw new AssertionError("response cut after " + read + " of " + size + " bytes: " + e, e);
                }
                assertThat(read).as("the first response, whole").isEqualTo(size);
            }
        }
    }

    /** Reads an HTTP head up to its empty line; returns it. */
    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            head.append((char) c);
            if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                break;
            }
        }
        return head.toString();
    }

    /**
     * Checked correct (passes): while a shutdown drains, /readyz answers 503, /healthz 200 (a liveness probe must not
     * kill a draining proxy), and a healthCheckNodePort answers 503 with serviceProxyHealthy false, as kube-proxy's.
     */
    @Test
    void whileDrainingReadyzIs503HealthzIs200AndTheHealthCheckNodePortIs503() throws Exception {
        AtomicReference<String> endpointEnded = new AtomicReference<>();
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.245"))) {
            echoOnce(endpoint, endpointEnded);
            server = ProxyServer.start(parse("""
                    proxy: {admin: "127.0.0.251:0", drainTimeout: 10m, nodeName: node-a, nodeAddresses: [127.0.0.252],
                            nodePortRange: 49000-49999}
                    services:
                      - name: shop
                        type: LoadBalancer
                        clusterIP: 127.0.10.243
                        externalTrafficPolicy: Local
                        healthCheckNodePort: 49120
                        ports: [{port: 49105, nodePort: 49121}]
                        endpoints: [{ip: 127.0.0.245, port: %d, nodeName: node-a}]
                    """.formatted(endpoint.getLocalPort())), Transport.select(), 2);
            java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(5)).build();
            int adminPort = server.adminAddress().getPort();
            java.util.function.Function<String, Integer> status = url -> {
                try {
                    return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url))
                            .timeout(Duration.ofSeconds(5)).build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
                } catch (IOException e) {
                    return -1;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return -2;
                }
            };
            assertThat(status.apply("http://127.0.0.251:" + adminPort + "/readyz")).isEqualTo(200);
            assertThat(status.apply("http://127.0.0.252:49120/")).isEqualTo(200);
            try (Socket client = connect("127.0.10.243", 49105)) {
                client.getOutputStream().write('x');
                assertThat(client.getInputStream().read()).isEqualTo('x');
                stopping = new Thread(server::shutdown, "svcproxy-shutdown");
                stopping.start();
                await().atMost(Duration.ofSeconds(10)).until(() -> !accepts("127.0.10.243", 49105));
                assertThat(accepts("127.0.0.252", 49121)).as("the node port closed too").isFalse();
                assertThat(status.apply("http://127.0.0.251:" + adminPort + "/readyz")).isEqualTo(503);
                assertThat(status.apply("http://127.0.0.251:" + adminPort + "/healthz")).isEqualTo(200);
                assertThat(status.apply("http://127.0.0.252:49120/")).isEqualTo(503);
                client.getOutputStream().write('y');
                assertThat(client.getInputStream().read()).as("draining").isEqualTo('y');
            }
        }
    }

}
