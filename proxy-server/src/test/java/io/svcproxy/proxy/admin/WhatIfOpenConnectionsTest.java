package io.svcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.connlog.ConnectionLog;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.Transport;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The "what if" card replays the connections still open with the ended ones. From helper-133's review: the replay
 * took only the connections that ended (RecentConnections), so a connection still open when the card was asked
 * for was left out, and lc, wlc, sed and nq replayed its endpoint as idle: one long-lived connection (a WebSocket,
 * a database pool's) was enough for the "in use" row to disagree with every pick the proxy made since.
 * Loopback: endpoints 127.0.0.84 and .85, ClusterIP 127.0.10.29, admin and clients in 127.0.138.0/24.
 */
class WhatIfOpenConnectionsTest {
    private static final String CLUSTER_IP = "127.0.10.29";
    private ProxyServer server;
    private TestBackend a;
    private TestBackend b;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(CLUSTER_IP, 0));
            return probe.getLocalPort();
        }
    }

    private static Socket connect(int port, String client) throws Exception {
        Socket s = new Socket();
        s.setSoTimeout(5000);
        s.bind(new InetSocketAddress(client, 0));
        s.connect(new InetSocketAddress(CLUSTER_IP, port), 5000);
        s.getOutputStream().write(7);
        assertThat(s.getInputStream().read()).isEqualTo(7); // relayed: the lease is taken and established
        return s;
    }

    private static void settle(ServicePort port, int open, long ended) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5)).until(() -> {
            int held = 0;
            for (BackendState s : port.backendSet().backends()) {
                held += s.activeConnections() + s.inactiveConnections();
            }
            return held == open && port.recent().total() == ended;
        });
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void theInUseRowOfLcIsWhatTheProxyDidWhileALongConnectionIsOpen() throws Exception {
        a = TestBackend.start(new InetSocketAddress("127.0.0.84", 0), "a", TestBackend.Mode.ECHO);
        b = TestBackend.start(new InetSocketAddress("127.0.0.85", 0), "b", TestBackend.Mode.ECHO);
        int port = freePort();
        String yaml = """
                proxy: {admin: "127.0.138.1:0"}
                services:
                  - name: web
                    namespace: shop
                    clusterIP: %s
                    scheduler: lc
                    ports: [{name: http, port: %d}]
                    endpoints: [{ip: 127.0.0.84, port: %d}, {ip: 127.0.0.85, port: %d}]
                """.formatted(CLUSTER_IP, port, a.address().getPort(), b.address().getPort());
        server = ProxyServer.start(ConfigLoader.parse(yaml, "c.yaml"), Transport.select(), 2);
        ServicePort servicePort = server.table().servicePorts().get(0);

        try (Socket longLived = connect(port, "127.0.138.10")) {
            settle(servicePort, 1, 0);
            for (int i = 1; i <= 4; i++) {
                connect(port, "127.0.138.11").close();
                settle(servicePort, 1, i);
            }
            // what the proxy did: the four that ended (their endpoints, as the connection log has them), and the
            // long one, held by its endpoint
            Map<String, Integer> live = new TreeMap<>();
            for (ConnectionLog.Entry e : servicePort.recent().snapshot()) {
                live.merge(e.endpoint(), 1, Integer::sum);
            }
            for (BackendState s : servicePort.backendSet().backends()) {
                if (s.activeConnections() > 0) {
                    live.merge(s.endpoint(), s.activeConnections(), Integer::sum);
                }
            }
            HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.138.1:" + server.adminAddress().getPort()
                            + "/api/v1/simulate?service=shop/web&port=http&schedulers=lc")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            Map<String, Integer> replayed = new TreeMap<>();
            for (JsonNode e : new ObjectMapper().readTree(answer.body()).path("schedulers").path("lc")
                    .path("endpoints")) {
                if (e.path("connections").asInt() > 0) {
                    replayed.put(e.path("endpoint").asText(), e.path("connections").asInt());
                }
            }
            assertThat(live).as("the proxy's lc sent the four to the endpoint without the long connection")
                    .isEqualTo(Map.of("127.0.0.84:" + a.address().getPort(), 1,
                            "127.0.0.85:" + b.address().getPort(), 4));
            assertThat(replayed).as("the card's lc row (in use) against what the proxy did; answer: %s",
                    answer.body()).isEqualTo(live);
            assertThat(new ObjectMapper().readTree(answer.body()).path("connections").asInt())
                    .as("the four that ended and the open one, each once").isEqualTo(5);
        }
    }
}
