package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.awaitility.Awaitility.await;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
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
 * From helper-112's review of 82cd9ff: a removed Service port that a re-added one retires is no longer waited for, nor
 * are its endpoints' Ingress requests cut at its deadline, for every endpoint, also those its successor did not take
 * over; and with two removals while the first still drains, the successor takes over from the first (retired) port
 * while the second stays unretired and cuts the live successor's Ingress requests at its deadline.
 * Loopback: endpoints 127.0.0.243 (A) and 127.0.0.244 (B), Ingress 127.0.10.243, ClusterIP 127.0.10.244:47110.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RetiredPortIngressDrainTest {
    @TempDir
    Path dir;

    private final AtomicInteger endpointWritesCut = new AtomicInteger();
    private StreamingEndpoint a;
    private StreamingEndpoint b;
    private ProxyServer server;
    private Path config;

    @BeforeEach
    void endpoints() throws IOException {
        a = new StreamingEndpoint("127.0.0.243", "A", endpointWritesCut);
        b = new StreamingEndpoint("127.0.0.244", "B", endpointWritesCut);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.close();
        }
        a.close();
        b.close();
    }

    private static String readHead(InputStream in) throws IOException {
        return StreamingEndpoint.readHead(in);
    }

    private String yaml(String drain, String endpoint) {
        String service = endpoint == null ? "" : """
                  - name: gone
                    clusterIP: 127.0.10.244
                    ports: [{port: 47110}]
                    endpoints: [{ip: %s}]
                """.formatted(endpoint);
        String path = endpoint == null ? "" : """
                            - {path: /gone, pathType: Prefix, backend: {service: {name: gone, port: {number: 47110}}}}
                """;
        return """
                proxy:
                  admin: off
                  drainTimeout: %s
                  ingress: {http: "127.0.10.243:0", responseTimeout: 60s}
                services:
                %s  - name: other
                    clusterIP: 127.0.10.244
                    ports: [{port: 47111}]
                    endpoints: [{ip: 127.0.0.244, port: %d}]
                ingresses:
                  - name: shop
                    rules:
                      - host: shop.example
                        http:
                          paths:
                %s            - {path: /other, pathType: Prefix, backend: {service: {name: other, port: {number: 47111}}}}
                """.formatted(drain, service, b.port(), path);
    }

    private String epA() {
        return "127.0.0.243, port: " + a.port();
    }

    private String epB() {
        return "127.0.0.244, port: " + b.port();
    }

    private void start(String drain) throws Exception {
        config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, yaml(drain, epA()));
        server = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
    }

    private void reload(String drain, String endpoint) throws Exception {
        Files.writeString(config, yaml(drain, endpoint));
        assertThat(server.reloadFromFile()).isTrue();
    }

    private Socket request(String path) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(20_000);
        s.connect(server.ingress().httpAddress(), 2000);
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: shop.example\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    /**
     * gone (endpoint A) is removed while an Ingress response from A runs, and added back with B alone before the
     * deadline: A is not taken over, so nothing else will ever end that response; the removed port must still cut
     * it at its deadline, as it did before the re-add retired it.
     */
    @Test
    void aRequestToAnEndpointTheReaddedPortDoesNotListIsStillCutAtTheRemovedPortsDeadline() throws Exception {
        start("1s");
        try (Socket gone = request("/gone/stream")) {
            InputStream in = gone.getInputStream();
            assertThat(readHead(in)).startsWith("HTTP/1.1 200");
            assertThat(in.read()).isEqualTo('A');
            reload("1s", null); // removed: A's response drains (1 s)
            reload("1s", epB()); // added back with B only: A is no endpoint of any Service port now
            await("A response cut at the removed port drain deadline").atMost(Duration.ofSeconds(10))
                    .until(() -> endpointWritesCut.get() == 1);
        }
    }

    /**
     * remove, add back, remove, add back, while a relay connection keeps the first removed port draining: the third
     * port takes over from the first (draining(key) finds it first), the second is never retired, and at its deadline
     * it cuts an Ingress request that the live third port's endpoint A serves.
     */
    @Test
    void aSecondRemovalWhileTheFirstDrainsDoesNotCutTheLivePortsRequestsAtItsDeadline() throws Exception {
        start("2s");
        try (Socket held = new Socket()) {
            held.connect(new InetSocketAddress("127.0.10.244", 47110), 2000);
            held.getOutputStream().write("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            await().atMost(Duration.ofSeconds(10)).until(() -> server.table().servicePorts().stream()
                    .filter(p -> p.key().port() == 47110)
                    .anyMatch(p -> p.backendSet().backends().get(0).activeConnections() == 1));
            reload("2s", null); // P1 drains (the held relay connection)
            reload("2s", epA()); // P2 takes A over from P1, which it retires
            reload("2s", null); // P2 removed: A's counters (the held connection) keep it draining
            reload("2s", epA()); // P3
            try (Socket live = request("/gone/stream")) {
                InputStream in = live.getInputStream();
                assertThat(readHead(in)).startsWith("HTTP/1.1 200");
                // A is P3's live endpoint: its response goes on past every drain deadline (2 s) of P1 and P2
                assertThatCode(() -> {
                    byte[] body = in.readNBytes(60);
                    assertThat(body).hasSize(60);
                }).as("the live port's response is not cut by a removed predecessor's deadline")
                        .doesNotThrowAnyException();
            }
        }
    }
}
