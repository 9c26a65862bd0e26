package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.Transport;
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
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * From helper-103's review: ClientConnections.cut() sets SO_LINGER 0 and calls close(), but on an HTTPS connection close() goes
 * through SslHandler, which first writes a TLS close_notify: the client reads a close-delimited response cut at the
 * shutdown deadline as a complete one (close_notify is TLS's "the stream ended properly"), which the cut exists to
 * prevent (ShutdownCutsTest has the HTTP case only). Loopback: endpoint 127.0.0.225, Ingress 127.0.10.225, ClusterIP
 * 127.0.10.226:44104.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class IngressHttpsShutdownCutTest {
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

    private static SSLSocket tls(InetSocketAddress at) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket();
        s.setSoTimeout(10_000);
        s.connect(at, 2000);
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName("shop.example")));
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    @Test
    void anHttpsCloseDelimitedResponseCutAtTheShutdownDeadlineIsAResetNotACleanTlsClose() throws Exception {
        Path certs = Files.createDirectories(dir.resolve("certs"));
        TestCertificates.write(certs, "shop", "shop.example", "EC");
        try (ServerSocket endpoint = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.225"))) {
            Thread streamer = new Thread(() -> {
                try (Socket s = endpoint.accept()) {
                    readHead(s.getInputStream());
                    OutputStream out = s.getOutputStream();
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
            Path file = dir.resolve("svcproxy.yaml");
            Files.writeString(file, """
                    proxy:
                      admin: off
                      drainTimeout: 1s
                      ingress: {https: "127.0.10.225:0", responseTimeout: 5s}
                    services:
                      - name: dump
                        clusterIP: 127.0.10.226
                        ports: [{port: 44104}]
                        endpoints: [{ip: 127.0.0.225, port: %d}]
                    ingresses:
                      - name: shop
                        tls: [{hosts: [shop.example], certFile: certs/shop.pem, keyFile: certs/shop-key.pem}]
                        rules:
                          - host: shop.example
                            http:
                              paths:
                                - {path: /, pathType: Prefix, backend: {service: {name: dump, port: {number: 44104}}}}
                    """.formatted(endpoint.getLocalPort()));
            server = ProxyServer.start(ConfigLoader.load(file), Transport.select(), 2);
            try (SSLSocket client = tls(server.ingress().httpsAddress())) {
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
                        .isInstanceOf(IOException.class);
            }
        }
    }
}
