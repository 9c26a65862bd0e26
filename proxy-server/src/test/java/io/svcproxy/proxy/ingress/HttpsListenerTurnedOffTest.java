package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.Transport;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * From helper-121's review of the metrics: {@code svcproxy_ingress_certificate_expiry_timestamp_seconds} is "when each
 * certificate the HTTPS Ingress listener serves expires" (its description, README), the series operators alert on
 * ({@code ... - time() < 14*86400}). A reload that turned the HTTPS listener off (dropped {@code proxy.ingress.https})
 * left the series of every certificate it served, and went on updating them when the files changed: nothing served
 * them any more, yet they alerted as they neared their end. The certificates are now unloaded with the listener.
 * Ingress listener 127.0.121.2, Service 127.0.10.145, endpoint 127.0.0.115.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpsListenerTurnedOffTest {
    @TempDir
    Path dir;

    private TestBackend backend;
    private ProxyServer proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private String yaml(boolean https) {
        return """
                proxy:
                  admin: off
                  ingress: {http: "127.0.121.2:0"%s}
                services:
                  - {name: shop, clusterIP: 127.0.10.145, ports: [{name: http, port: 18145}],
                     endpoints: [{ip: 127.0.0.115, port: %d}]}
                ingresses:
                  - name: shop
                    tls: [{hosts: [shop.example], certFile: certs/shop.pem, keyFile: certs/shop-key.pem}]
                    rules:
                      - host: shop.example
                        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: shop, port: {name: http}}}}]}
                """.formatted(https ? ", https: \"127.0.121.2:0\"" : "", backend.address().getPort());
    }

    private List<String> expirySeries() {
        List<String> out = new ArrayList<>();
        for (String line : proxy.meterRegistry().scrape().split("\n")) {
            if (line.startsWith("svcproxy_ingress_certificate_expiry_timestamp_seconds{")) {
                out.add(line);
            }
        }
        return out;
    }

    @Test
    void theExpiryOfACertificateNoListenerServesIsNotReported() throws Exception {
        backend = TestBackend.start(new InetSocketAddress("127.0.0.115", 0), "shop-1", Mode.HTTP);
        Path certs = Files.createDirectories(dir.resolve("certs"));
        TestCertificates.write(certs, "shop", "shop.example", "EC");
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, yaml(true));
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
        assertThat(expirySeries()).as("served by the HTTPS listener").hasSize(1);

        Files.writeString(config, yaml(false));
        assertThat(proxy.reloadFromFile()).isTrue();
        assertThat(proxy.ingress().httpsAddress()).as("the HTTPS listener is off").isNull();

        assertThat(expirySeries()).as("the expiry series once no HTTPS listener serves any certificate").isEmpty();
        IngressSpec.Tls tls = proxy.ingress().ingresses().get(0).tls().get(0);
        assertThat(proxy.ingress().tlsStatus(tls).loaded()).as("/api/v1/ingresses' loaded").isFalse();

        Files.writeString(config, yaml(true));
        assertThat(proxy.reloadFromFile()).isTrue();
        assertThat(expirySeries()).as("served again by an HTTPS listener turned on again").hasSize(1);
        assertThat(proxy.ingress().tlsStatus(proxy.ingress().ingresses().get(0).tls().get(0)).loaded()).isTrue();
    }
}
