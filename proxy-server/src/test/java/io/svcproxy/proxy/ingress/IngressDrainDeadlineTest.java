package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drain deadline reaches the Ingress's requests as it reaches the relay's connections (SPEC "Reload": connections
 * to an endpoint that left are allowed to finish for up to {@code drainTimeout}): a request to an endpoint that left
 * its Service port (or whose Service port left) and still runs at the deadline ends: a 502 before its response
 * started, a reset once it started (HTTP/1.1), the stream's RST_STREAM (HTTP/2), a reset of both sides for a WebSocket
 * tunnel. The same endpoint address in another Service port is not cut.
 *
 * <p>Loopback: endpoints 127.0.0.227 (it leaves) and 127.0.0.228, the Ingress on 127.0.10.227, ClusterIPs
 * 127.0.10.228 at 44110-44112.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IngressDrainDeadlineTest {
    @TempDir
    Path dir;

    /** The endpoint connections that ended with a reset or broken pipe while the endpoint still wrote. */
    private final AtomicInteger endpointWritesCut = new AtomicInteger();
    private StreamingEndpoint leaving;
    private StreamingEndpoint staying;
    private ProxyServer server;
    private Path config;

    @BeforeEach
    void endpoints() throws IOException {
        leaving = new StreamingEndpoint("127.0.0.227", "A", endpointWritesCut);
        staying = new StreamingEndpoint("127.0.0.228", "B", endpointWritesCut);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.close();
        }
        leaving.close();
        staying.close();
    }

    private static String readHead(InputStream in) throws IOException {
        return StreamingEndpoint.readHead(in);
    }

    /** The config: Service {@code gone} with {@code goneEndpoint} (or none: left out), {@code twin} on A, B's. */
    private String yaml(String goneEndpoint) {
        String goneService = goneEndpoint == null ? "" : """
                  - name: gone
                    clusterIP: 127.0.10.228
                    ports: [{port: 44110}]
                    endpoints: [{ip: %s}]
                """.formatted(goneEndpoint);
        String gonePath = goneEndpoint == null ? "" : """
                            - {path: /gone, pathType: Prefix, backend: {service: {name: gone, port: {number: 44110}}}}
                """;
        return """
                proxy:
                  admin: off
                  drainTimeout: 1s
                  ingress: {http: "127.0.10.227:0", responseTimeout: 60s}
                services:
                %s  - name: twin
                    clusterIP: 127.0.10.228
                    ports: [{port: 44111}]
                    endpoints: [{ip: 127.0.0.227, port: %d}]
                  - name: other
                    clusterIP: 127.0.10.228
                    ports: [{port: 44112}]
                    endpoints: [{ip: 127.0.0.228, port: %d}]
                ingresses:
                  - name: shop
                    rules:
                      - host: shop.example
                        http:
                          paths:
                %s            - {path: /twin, pathType: Prefix, backend: {service: {name: twin, port: {number: 44111}}}}
                            - {path: /other, pathType: Prefix, backend: {service: {name: other, port: {number: 44112}}}}
                """.formatted(goneService, leaving.port(), staying.port(), gonePath);
    }

    private String a() {
        return "127.0.0.227, port: " + leaving.port();
    }

    private String b() {
        return "127.0.0.228, port: " + staying.port();
    }

    private void start() throws Exception {
        config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, yaml(a()));
        server = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
    }

    private void reload(String goneEndpoint) throws Exception {
        Files.writeString(config, yaml(goneEndpoint));
        assertThat(server.reloadFromFile()).isTrue();
    }

    private Socket request(String path, String extra) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(20_000);
        s.connect(server.ingress().httpAddress(), 2000);
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: shop.example\r\n" + extra + "\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    /** Reads the body until the connection ends: an IOException (a reset) is what a cut looks like. */
    private static void readToEnd(InputStream in) throws IOException {
        for (int i = 0; i < 10_000 && in.read() >= 0; i++) {
            // bounded: the endpoint sends 400 bytes at most
        }
    }

    @Test
    void aResponseUnderWayFromAnEndpointThatLeftIsResetAtItsDrainDeadlineAndTheSameAddressElsewhereGoesOn()
            throws Exception {
        start();
        try (Socket gone = request("/gone/stream", ""); Socket twin = request("/twin/stream", "")) {
            InputStream goneIn = gone.getInputStream();
            InputStream twinIn = twin.getInputStream();
            assertThat(readHead(goneIn)).startsWith("HTTP/1.1 200");
            assertThat(readHead(twinIn)).startsWith("HTTP/1.1 200");
            assertThat(goneIn.read()).isEqualTo('A');
            assertThat(twinIn.read()).isEqualTo('A');
            reload(b()); // A leaves gone's list; twin keeps it

            assertThatThrownBy(() -> readToEnd(goneIn))
                    .as("a close-delimited body cut at the drain deadline must not read as complete")
                    .isInstanceOf(IOException.class);
            await().atMost(Duration.ofSeconds(10)).until(() -> endpointWritesCut.get() == 1);
            // twin's request, on the same endpoint address, is not gone's: it goes on past the deadline
            byte[] more = twinIn.readNBytes(5);
            assertThat(new String(more, StandardCharsets.US_ASCII)).isEqualTo("AAAAA");
        }
        try (Socket next = request("/gone/hello", "")) {
            InputStream in = next.getInputStream();
            assertThat(readHead(in)).startsWith("HTTP/1.1 200");
            assertThat(new String(in.readNBytes(12), StandardCharsets.US_ASCII)).isEqualTo("hello from B");
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                server.table().servicePorts().stream().filter(p -> p.key().port() == 44110)
                        .flatMap(p -> p.backendSet().backends().stream()).map(x -> x.endpoint()).toList())
                .as("the drained endpoint leaves gone's list once its request was cut")
                .containsExactly("127.0.0.228:" + staying.port()));
    }

    /**
     * Not the drain deadline, the same reading: an endpoint that fails in the middle of a close-delimited body (a
     * reset) has its client's connection reset too, as HAProxy ends it; a FIN would end the body as if complete.
     */
    @Test
    void anEndpointResetInACloseDelimitedBodyResetsTheClient() throws Exception {
        start();
        try (Socket c = request("/other/reset", "")) {
            InputStream in = c.getInputStream();
            assertThat(readHead(in)).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("content-length");
            assertThat(in.read()).isEqualTo('B');
            assertThatThrownBy(() -> readToEnd(in)).isInstanceOf(IOException.class);
        }
    }

    @Test
    void aRequestNotAnsweredByTheDeadlineGetsA502() throws Exception {
        start();
        try (Socket gone = request("/gone/hang", "")) {
            await().atMost(Duration.ofSeconds(10)).until(() -> server.table().servicePorts().stream()
                    .filter(p -> p.key().port() == 44110)
                    .anyMatch(p -> p.backendSet().backends().get(0).activeConnections() == 1));
            reload(b());
            String head = readHead(gone.getInputStream());
            assertThat(head).startsWith("HTTP/1.1 502");
        }
    }

    @Test
    void aWebSocketTunnelToAnEndpointThatLeftIsResetBothWaysAtTheDeadline() throws Exception {
        start();
        try (Socket ws = request("/gone/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")) {
            InputStream in = ws.getInputStream();
            assertThat(readHead(in)).startsWith("HTTP/1.1 101");
            assertThat(in.read()).isEqualTo('A');
            reload(b());
            assertThatThrownBy(() -> readToEnd(in)).isInstanceOf(IOException.class);
            await().atMost(Duration.ofSeconds(10)).until(() -> endpointWritesCut.get() == 1);
        }
    }

    @Test
    void aRequestToAServicePortThatWasRemovedIsCutAtItsDeadline() throws Exception {
        start();
        try (Socket gone = request("/gone/stream", "")) {
            InputStream in = gone.getInputStream();
            assertThat(readHead(in)).startsWith("HTTP/1.1 200");
            assertThat(in.read()).isEqualTo('A');
            reload(null); // gone, and its Ingress path, are removed
            assertThatThrownBy(() -> readToEnd(in)).isInstanceOf(IOException.class);
            await().atMost(Duration.ofSeconds(10)).until(() -> endpointWritesCut.get() == 1);
        }
    }

    @Test
    void anHttp2StreamToAnEndpointThatLeftIsResetAtTheDeadline() throws Exception {
        start();
        Process curl = new ProcessBuilder("curl", "-sS", "--max-time", "30", "--http2-prior-knowledge",
                "-H", "Host: shop.example", "-o", "/dev/null",
                "http://127.0.10.227:" + server.ingress().httpAddress().getPort() + "/gone/stream")
                .redirectErrorStream(true).start();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.table().servicePorts().stream()
                .filter(p -> p.key().port() == 44110)
                .anyMatch(p -> p.backendSet().backends().get(0).activeConnections() == 1));
        reload(b());
        assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(curl.exitValue()).as(out).isEqualTo(92); // HTTP/2 stream error
        assertThat(out).contains("INTERNAL_ERROR");
        await().atMost(Duration.ofSeconds(10)).until(() -> endpointWritesCut.get() == 1);
    }
}
