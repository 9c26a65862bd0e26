package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An Ingress backend whose Service port has {@code proxyProtocol}: its endpoints expect the PROXY header first, and get
 * it from the Ingress as from the TCP relay (the Ingress's client as the source, the address it connected to as the
 * destination), on a connection of each request's own, never pooled (it carries one client's identity). Listener on
 * 127.0.10.176, the endpoint (a socket that reads the header, then the request) on 127.0.0.176.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IngressProxyProtocolTest {
    @TempDir
    Path dir;

    private ProxyServer proxy;
    private ServerSocket endpoint;
    private Thread endpointThread;
    /** The PROXY line of each connection the endpoint accepted, in order. */
    private final List<String> headers = new CopyOnWriteArrayList<>();
    /** The Connection field of each request the endpoint read. */
    private final List<String> connectionFields = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (endpoint != null) {
            endpoint.close();
            endpointThread.join(5000);
        }
    }

    /** Accepts connections; on each, reads the PROXY line and answers every request with it as the body. */
    private void startEndpoint() throws IOException {
        endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.176"));
        endpointThread = new Thread(() -> {
            while (!endpoint.isClosed()) {
                try {
                    Socket s = endpoint.accept();
                    Thread t = new Thread(() -> serve(s), "pp-endpoint-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return; // closed
                }
            }
        }, "pp-endpoint");
        endpointThread.setDaemon(true);
        endpointThread.start();
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            String header = line(in);
            headers.add(header);
            while (true) {
                String requestLine = line(in);
                if (requestLine == null) {
                    return;
                }
                String field;
                String connection = "";
                while (!(field = line(in)).isEmpty()) {
                    if (field.regionMatches(true, 0, "connection:", 0, 11)) {
                        connection = field.substring(11).trim();
                    }
                }
                connectionFields.add(connection);
                byte[] body = header.getBytes(StandardCharsets.US_ASCII);
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
            }
        } catch (IOException e) {
            // the proxy closed the connection
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            if (c != '\r') {
                b.write(c);
            }
        }
        return c == -1 && b.size() == 0 ? null : b.toString(StandardCharsets.US_ASCII);
    }

    private void startProxy(String version) throws Exception {
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy:
                  admin: off
                  ingress: {http: "127.0.10.176:0"}
                services:
                  - name: pp
                    clusterIP: 127.0.10.177
                    ports: [{port: 18176, proxyProtocol: %s}]
                    endpoints: [{ip: 127.0.0.176, port: %d}]
                ingresses:
                  - name: pp
                    rules: [{host: pp.example, http: {paths: [{path: /, pathType: Prefix,
                              backend: {service: {name: pp, port: {number: 18176}}}}]}}]
                """.formatted(version, endpoint.getLocalPort()));
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
    }

    @Test
    void eachRequestGetsAConnectionOfItsOwnThatStartsWithTheClientsProxyHeader() throws Exception {
        startEndpoint();
        startProxy("v1");
        InetSocketAddress ingress = proxy.ingress().httpAddress();
        try (HttpClientConnection c = new HttpClientConnection(ingress)) {
            String expected = "PROXY TCP4 127.0.0.1 127.0.10.176 " + c.localPort() + " " + ingress.getPort();
            HttpClientConnection.Response first = c.get("pp.example", "/a");
            HttpClientConnection.Response second = c.get("pp.example", "/b");
            assertThat(first.status()).isEqualTo(200);
            assertThat(first.body()).isEqualTo(expected);
            assertThat(second.body()).isEqualTo(expected);
        }
        assertThat(headers).as("one endpoint connection per request, none reused").hasSize(2);
        assertThat(connectionFields).as("the endpoint is told to close it").containsExactly("close", "close");
    }
}
