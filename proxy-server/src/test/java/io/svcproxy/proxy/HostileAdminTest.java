package io.svcproxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxySettings;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The admin API against hostile requests: it binds to loopback unless told otherwise, and no request of any
 * method on any path changes the proxy's state (there is no state-changing endpoint to enable).
 */
class HostileAdminTest {
    private final HttpClient http = HttpClient.newHttpClient();
    private ProxyServer server;
    private URI base;

    @BeforeEach
    void start() throws Exception {
        server = ProxyServer.start(ConfigLoader.parse("""
                proxy: {admin: "127.0.0.1:0"}
                services:
                  - name: web
                    clusterIP: 127.0.10.11
                    ports: [{port: 18200}]
                    endpoints: [{ip: 127.0.0.11, port: 9}]
                """, "admin.yaml"), Transport.select(), 1);
        base = URI.create("http://127.0.0.1:" + server.adminAddress().getPort());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void bindsToLoopbackByDefault() throws Exception {
        assertThat(ProxySettings.defaults().admin().getAddress().isLoopbackAddress()).isTrue();
        assertThat(ConfigLoader.parse("services: []\n", "x.yaml").proxy().admin())
                .isEqualTo(new InetSocketAddress("127.0.0.1", 9901));
    }

    @Test
    void noMethodOnAnyPathChangesState() throws Exception {
        String before = get("/api/v1/services");
        long version = server.table().version();
        for (String path : List.of("/", "/metrics", "/healthz", "/readyz", "/api/v1/services",
                "/api/v1/services/default/web", "/api/v1/reload", "/quit", "/admin")) {
            for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(path))
                        .method(method, HttpRequest.BodyPublishers.ofString("{\"weight\": 0}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(method + " " + path).isIn(404, 405);
            }
        }
        assertThat(server.table().version()).isEqualTo(version);
        assertThat(get("/api/v1/services").replaceAll("\"now\":\"[^\"]*\"", ""))
                .isEqualTo(before.replaceAll("\"now\":\"[^\"]*\"", ""));
    }

    @Test
    void answersGarbageWith400AndKeepsServing() throws Exception {
        for (String garbage : List.of("\u0000\u0001\u0002\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
                "GET /metrics HTTP/1.1\r\nContent-Length: -5\r\n\r\n")) {
            try (Socket s = new Socket("127.0.0.1", base.getPort())) {
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write(garbage.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                InputStream in = s.getInputStream();
                String status = new String(in.readNBytes(12), StandardCharsets.ISO_8859_1);
                assertThat(status).as(garbage).matches("HTTP/1\\.[01] (400|404|405|505)");
            }
        }
        assertThat(get("/healthz")).isEqualTo("ok\n");
    }

    private String get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).build(), HttpResponse.BodyHandlers.ofString())
                .body();
    }
}
