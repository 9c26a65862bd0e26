package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The Ingress's HTTPS listener of a running svcproxy started from YAML (127.0.10.150, endpoints 127.0.0.156-157):
 * the certificate per SNI from the config file's {@code tls} entries, h2 by ALPN with curl, and certificates swapped
 * by a reload of the watched files without dropping an established connection, and the failed handshakes counted
 * in {@code /metrics}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IngressTlsEndToEndTest {
    @TempDir
    Path dir;

    private final List<TestBackend> backends = new ArrayList<>();
    private ProxyServer proxy;
    private Path config;
    private Path certs;

    @BeforeEach
    void setUp() throws Exception {
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.156", 0), "shop-1", Mode.HTTP));
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.157", 0), "other-1", Mode.HTTP));
        certs = Files.createDirectories(dir.resolve("certs"));
        TestCertificates.write(certs, "shop", "shop.example", "EC");
        TestCertificates.write(certs, "other", "other.example", "RSA");
        TestCertificates.toPkcs1(certs, "other"); // as openssl genrsa -traditional and cert-manager write RSA keys
        config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy:
                  admin: "127.0.10.150:0"
                  ingress: {http: "127.0.10.150:0", https: "127.0.10.150:0", responseTimeout: 5s}
                services:
                  - {name: shop, clusterIP: 127.0.10.156, ports: [{name: http, port: 18156}],
                     endpoints: [{ip: 127.0.0.156, port: %d}]}
                  - {name: other, clusterIP: 127.0.10.157, ports: [{name: http, port: 18157}],
                     endpoints: [{ip: 127.0.0.157, port: %d}]}
                ingresses:
                  - name: shop
                    tls: [{hosts: [shop.example], certFile: certs/shop.pem, keyFile: certs/shop-key.pem}]
                    rules:
                      - host: shop.example
                        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: shop, port: {name: http}}}}]}
                  - name: other
                    tls: [{hosts: [other.example], certFile: certs/other.pem, keyFile: certs/other-key.pem}]
                    rules:
                      - host: other.example
                        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: other, port: {name: http}}}}]}
                """.formatted(backends.get(0).address().getPort(), backends.get(1).address().getPort()));
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
    }

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.forEach(TestBackend::close);
    }

    @Test
    void answersWithTheCertificateOfEachSniNameAndTheFirstEntryWithoutSni() throws Exception {
        try (TlsClient shop = new TlsClient("shop.example"); TlsClient other = new TlsClient("other.example");
             TlsClient none = new TlsClient(null)) {
            assertThat(shop.certificate()).isEqualTo(certificate("shop.pem"));
            assertThat(shop.get("shop.example", "/x")).isEqualTo("shop-1");
            assertThat(other.certificate()).isEqualTo(certificate("other.pem"));
            assertThat(other.get("other.example", "/x")).isEqualTo("other-1");
            assertThat(none.certificate()).isEqualTo(certificate("shop.pem"));
        }
    }

    @Test
    void curlSpeaksH2ByAlpnWithTheRightCertificate() throws Exception {
        int port = proxy.ingress().httpsAddress().getPort();
        Process p = new ProcessBuilder("curl", "-sS", "-v", "--max-time", "10", "-k", "--http2",
                "--resolve", "other.example:" + port + ":127.0.10.150", "-w", "\nversion=%{http_version}\n",
                "https://other.example:" + port + "/x").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).contains("ALPN: server accepted h2").contains("subject: CN=other.example")
                .contains("other-1").contains("version=2");
    }

    @Test
    void aReloadSwapsTheCertificatesWithoutDroppingAnEstablishedConnection() throws Exception {
        try (TlsClient before = new TlsClient("shop.example")) {
            assertThat(before.get("shop.example", "/1")).isEqualTo("shop-1");
            TestCertificates.write(certs, "renewed", "shop.example", "RSA");
            Files.move(certs.resolve("renewed-key.pem"), certs.resolve("shop-key.pem"),
                    StandardCopyOption.REPLACE_EXISTING);
            Files.move(certs.resolve("renewed.pem"), certs.resolve("shop.pem"), StandardCopyOption.REPLACE_EXISTING);
            assertThat(proxy.reloadFromFile()).isTrue();
            try (TlsClient after = new TlsClient("shop.example")) {
                assertThat(after.certificate()).isEqualTo(certificate("shop.pem"));
                assertThat(after.certificate()).isNotEqualTo(before.certificate());
                assertThat(after.get("shop.example", "/2")).isEqualTo("shop-1");
            }
            assertThat(before.get("shop.example", "/3")).isEqualTo("shop-1"); // the old connection goes on
        }
    }

    /**
     * A certificate file that keeps its key too (the key block before or after the chain: HAProxy's {@code crt}
     * files, what many tools write) is served, as ingress-nginx serves it (Go's X509KeyPair skips the other blocks);
     * from helper-106's review, which found it refused as "a CERTIFICATE block that does not decode".
     */
    @Test
    void aCertificateFileThatHoldsItsKeyTooIsServed() throws Exception {
        TestCertificates.write(certs, "both", "shop.example", "RSA");
        String cert = Files.readString(certs.resolve("both.pem"));
        String key = Files.readString(certs.resolve("both-key.pem"));
        Files.writeString(certs.resolve("shop.pem"), key + cert);
        Files.writeString(certs.resolve("shop-key.pem"), key);
        assertThat(proxy.reloadFromFile()).isTrue();
        try (TlsClient after = new TlsClient("shop.example")) {
            assertThat(after.certificate()).isEqualTo(certificate("both.pem"));
            assertThat(after.get("shop.example", "/combined")).isEqualTo("shop-1");
        }
    }

    /**
     * Each served certificate's end of validity is a gauge (as ingress-nginx's {@code ssl_expire_time_seconds}) and
     * in the Ingress's status; an expired one is served (as nginx and HAProxy serve it) with a warning.
     */
    @Test
    void eachCertificatesEndOfValidityIsReportedAndAnExpiredOneIsWarnedOf() throws Exception {
        assertThat(expiryGauge("default/shop")).isEqualTo(certificate("shop.pem").getNotAfter().toInstant()
                .getEpochSecond());
        IngressSpec shop = proxy.ingress().ingresses().get(0);
        IngressCertificates.TlsStatus status = proxy.ingress().tlsStatus(shop.tls().get(0));
        assertThat(status.loaded()).isTrue();
        assertThat(status.problem()).isNull();
        assertThat(status.notAfter()).isEqualTo(certificate("shop.pem").getNotAfter().toInstant());
        JsonNode tls = ingressesApi().get("ingresses").get(0).get("tls").get(0);
        assertThat(tls.get("loaded").asBoolean()).isTrue();
        assertThat(java.time.Instant.parse(tls.get("notAfter").asText())).isEqualTo(status.notAfter());
        assertThat(tls.has("problem")).isFalse();

        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Logger logger = (Logger) LoggerFactory.getLogger(IngressCertificates.class);
        logger.addAppender(logs);
        try {
            TestCertificates.write(certs, "renewed", "shop.example", "RSA", "2020/01/01");
            Files.move(certs.resolve("renewed-key.pem"), certs.resolve("shop-key.pem"),
                    StandardCopyOption.REPLACE_EXISTING);
            Files.move(certs.resolve("renewed.pem"), certs.resolve("shop.pem"), StandardCopyOption.REPLACE_EXISTING);
            assertThat(proxy.reloadFromFile()).isTrue();
        } finally {
            logger.detachAppender(logs);
        }
        long expired = certificate("shop.pem").getNotAfter().toInstant().getEpochSecond();
        assertThat(expired).isLessThan(java.time.Instant.parse("2020-03-01T00:00:00Z").getEpochSecond());
        assertThat(expiryGauge("default/shop")).isEqualTo(expired);
        assertThat(logs.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.WARN);
            assertThat(e.getFormattedMessage()).startsWith("Ingress certificate expired, served anyway: certFile ")
                    .contains("shop.pem").contains("hosts=[shop.example]");
        });
        try (TlsClient client = new TlsClient("shop.example")) {
            assertThat(client.certificate()).isEqualTo(certificate("shop.pem"));
        }
    }

    /**
     * A client that does not trust the certificate (the JDK's default trust store) refuses it with an alert, and plain
     * HTTP comes to the TLS port: each failed handshake is in {@code /metrics} under its reason.
     */
    @Test
    void failedHandshakesAreCountedInTheMetricsByReason() throws Exception {
        InetSocketAddress https = proxy.ingress().httpsAddress();
        try (SSLSocket socket = (SSLSocket) SSLContext.getDefault().getSocketFactory().createSocket(
                https.getAddress(), https.getPort())) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("shop.example")));
            socket.setSSLParameters(parameters);
            assertThatThrownBy(socket::startHandshake).isInstanceOf(SSLHandshakeException.class);
        }
        try (java.net.Socket plain = new java.net.Socket(https.getAddress(), https.getPort())) {
            plain.getOutputStream().write("GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(plain.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .startsWith("HTTP/1.1 400 ");
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(admin("/metrics"))
                .contains("svcproxy_ingress_tls_handshake_failures_total{reason=\"client_alert\"} 1.0\n")
                .contains("svcproxy_ingress_tls_handshake_failures_total{reason=\"plain_http\"} 1.0\n"));
    }

    private JsonNode ingressesApi() throws Exception {
        String response = admin("/api/v1/ingresses");
        return new ObjectMapper().readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
    }

    /** The admin server's whole response to a GET of {@code path}. */
    private String admin(String path) throws IOException {
        InetSocketAddress admin = proxy.adminAddress();
        try (java.net.Socket s = new java.net.Socket(admin.getAddress(), admin.getPort())) {
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The value of {@code svcproxy_ingress_certificate_expiry_timestamp_seconds} for {@code ingress}. */
    private long expiryGauge(String ingress) {
        for (String line : proxy.meterRegistry().scrape().split("\n")) {
            if (line.startsWith("svcproxy_ingress_certificate_expiry_timestamp_seconds{")
                    && line.contains("ingress=\"" + ingress + "\"")) {
                return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no expiry gauge for " + ingress);
    }

    private X509Certificate certificate(String file) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
                new ByteArrayInputStream(Files.readAllBytes(certs.resolve(file))));
    }

    /** A kept-alive HTTP/1.1 connection over TLS that trusts any certificate and sends {@code sni} (or none). */
    private final class TlsClient implements AutoCloseable {
        private final SSLSocket socket;
        private final InputStream in;
        private final OutputStream out;

        TlsClient(String sni) throws Exception {
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
            InetSocketAddress address = proxy.ingress().httpsAddress();
            socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.10.150", address.getPort());
            socket.setSoTimeout(10_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        Certificate certificate() throws IOException {
            return socket.getSession().getPeerCertificates()[0];
        }

        String get(String host, String path) throws IOException {
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            int length = -1;
            StringBuilder line = new StringBuilder();
            String status = null;
            while (true) {
                int c = in.read();
                if (c < 0) {
                    throw new IOException("closed");
                }
                if (c == '\n') {
                    String l = line.toString().trim();
                    line.setLength(0);
                    if (status == null) {
                        status = l;
                    } else if (l.isEmpty()) {
                        break;
                    } else if (l.toLowerCase().startsWith("content-length:")) {
                        length = Integer.parseInt(l.substring(15).trim());
                    }
                } else {
                    line.append((char) c);
                }
            }
            assertThat(status).startsWith("HTTP/1.1 200");
            return new String(in.readNBytes(length), StandardCharsets.UTF_8).trim();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
