package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Plain HTTP sent to HTTPS as ingress-nginx sends it (308 and {@code Location}), checked with curl against a running
 * svcproxy started from YAML (listeners on 127.0.10.179, the endpoint on 127.0.0.179): a host with a certificate is
 * redirected, following the redirect reaches the endpoint over TLS, the annotations turn it off and on, an ACME
 * challenge path is not redirected, h2c is redirected as HTTP/1.1 is, and a reload that turns the HTTPS listener off
 * stops the redirects that need it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HttpsRedirectEndToEndTest {
    private static final String IP = "127.0.10.179";

    @TempDir
    Path dir;

    private final List<TestBackend> backends = new ArrayList<>();
    private ProxyServer proxy;
    private Path config;
    private int httpPort;
    private int httpsPort;

    @BeforeEach
    void setUp() throws Exception {
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.179", 0), "shop-1", Mode.HTTP));
        Path certs = Files.createDirectories(dir.resolve("certs"));
        TestCertificates.write(certs, "shop", "shop.example", "EC");
        config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, yaml("https: \"" + IP + ":0\", "));
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
        httpPort = proxy.ingress().httpAddress().getPort();
        httpsPort = proxy.ingress().httpsAddress().getPort();
    }

    private String yaml(String https) {
        String backend = "backend: {service: {name: shop, port: {number: 80}}}";
        return """
                proxy:
                  admin: "%s:0"
                  ingress: {http: "%s:0", %sresponseTimeout: 5s}
                services:
                  - {name: shop, clusterIP: 127.0.10.178, ports: [{port: 80}], endpoints: [{ip: 127.0.0.179, port: %d}]}
                ingresses:
                  - name: shop
                    tls: [{hosts: [shop.example], certFile: certs/shop.pem, keyFile: certs/shop-key.pem}]
                    rules: [{host: shop.example, http: {paths: [{path: /api, pathType: Prefix, %s}]}}]
                  - name: acme
                    rules:
                      - host: shop.example
                        http: {paths: [{path: /.well-known/acme-challenge/t0k3n, pathType: Exact, %s}]}
                  - name: plain
                    rules: [{host: plain.example, http: {paths: [{path: /, pathType: Prefix, %s}]}}]
                  - name: optout
                    annotations: {nginx.ingress.kubernetes.io/ssl-redirect: "false"}
                    tls: [{hosts: [optout.example], certFile: certs/shop.pem, keyFile: certs/shop-key.pem}]
                    rules: [{host: optout.example, http: {paths: [{path: /, pathType: Prefix, %s}]}}]
                  - name: forced
                    annotations: {nginx.ingress.kubernetes.io/force-ssl-redirect: "true"}
                    rules: [{host: forced.example, http: {paths: [{path: /, pathType: Prefix, %s}]}}]
                """.formatted(IP, IP, https, backends.get(0).address().getPort(), backend, backend, backend, backend,
                backend);
    }

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.forEach(TestBackend::close);
    }

    @Test
    void aHostWithACertificateIsSentToTheHttpsListenerWithItsTargetAndCurlFollowsItToTheEndpoint() throws Exception {
        String head = curl("-i", "http://shop.example:" + httpPort + "/api/x?q=1&r=/2");
        assertThat(head).startsWith("HTTP/1.1 308 Permanent Redirect")
                .containsIgnoringCase("location: https://shop.example:" + httpsPort + "/api/x?q=1&r=/2\r\n")
                .doesNotContain("shop-1");

        String followed = curl("-L", "-k", "--resolve", "shop.example:" + httpsPort + ":" + IP,
                "-w", "\nscheme=%{scheme} redirects=%{num_redirects}", "http://shop.example:" + httpPort + "/api/x");
        assertThat(followed).isEqualTo("shop-1\n\nscheme=HTTPS redirects=1");
    }

    @Test
    void aPathNoRuleMatchesOnThatHostIsRedirectedToo() throws Exception {
        assertRedirect("HTTP/1.1", "shop.example", "/nothing/here", "https://shop.example:" + httpsPort);
    }

    @Test
    void h2cIsRedirectedAsHttp11Is() throws Exception {
        assertRedirect("HTTP/2", "shop.example", "/api", "https://shop.example:" + httpsPort);
    }

    /** curl's plain-HTTP request ({@code version} HTTP/2: h2c by prior knowledge) is answered 308 to {@code to}. */
    private void assertRedirect(String version, String host, String target, String to) throws Exception {
        List<String> args = new ArrayList<>(List.of("-i"));
        if (version.equals("HTTP/2")) {
            args.add("--http2-prior-knowledge");
        }
        args.add("http://" + host + ":" + httpPort + target);
        assertThat(curl(args.toArray(String[]::new))).startsWith(version + " 308")
                .containsIgnoringCase("location: " + to + target + "\r\n");
    }

    @Test
    void hostsWithoutACertificateOptedOutOrUnderAnAcmeChallengeAreProxied() throws Exception {
        assertThat(curl("http://plain.example:" + httpPort + "/")).isEqualTo("shop-1\n");
        assertThat(curl("http://optout.example:" + httpPort + "/")).isEqualTo("shop-1\n");
        assertThat(curl("http://shop.example:" + httpPort + "/.well-known/acme-challenge/t0k3n")).isEqualTo("shop-1\n");
    }

    @Test
    void forceSslRedirectRedirectsAHostWithoutACertificate() throws Exception {
        assertRedirect("HTTP/1.1", "forced.example", "/a", "https://forced.example:" + httpsPort);
    }

    /**
     * Without an HTTPS listener (nor httpsRedirectPort) there is nothing to redirect to, force-ssl-redirect included
     * (TLS ended in front would forward HTTPS as plain HTTP: a redirect would loop); a kept-alive connection follows a
     * reload that moves the listener or turns it off, on its next request.
     */
    @Test
    void aKeptAliveConnectionFollowsTheHttpsListenerAndWithoutOneNothingIsRedirected() throws Exception {
        try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
            assertThat(c.get("forced.example", "/a").headers()).containsEntry("location",
                    "https://forced.example:" + httpsPort + "/a");
            Files.writeString(config, yaml("https: \"" + IP + ":0\", httpsRedirectPort: 443, "));
            assertThat(proxy.reloadFromFile()).isTrue();
            assertThat(c.get("forced.example", "/a").headers()).containsEntry("location", "https://forced.example/a");

            Files.writeString(config, yaml(""));
            assertThat(proxy.reloadFromFile()).isTrue();
            assertThat(proxy.ingress().httpsAddress()).isNull();
            assertThat(c.get("shop.example", "/api").body()).isEqualTo("shop-1\n");
            assertThat(c.get("forced.example", "/a").body()).isEqualTo("shop-1\n");
        }
        assertThat(curl("http://forced.example:" + httpPort + "/a")).isEqualTo("shop-1\n");
    }

    /**
     * A target with a control byte (the decoder passes it on) is a 400, as nginx answers it before any redirect:
     * never a Location built from it (helper-144's review made it so; this test redirected it percent-encoded).
     */
    @Test
    void aControlByteInTheTargetIsA400NotARedirect() throws Exception {
        try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
            HttpClientConnection.Response r = c.get("shop.example", "/api/a\u0001b");
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.headers()).doesNotContainKey("location");
        }
        try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
            assertThat(c.get("shop.example", "/api/c").status()).isEqualTo(308);
        }
    }

    @Test
    void httpsRedirectPortNamesThePortInFrontOfTheListenerAnd443IsLeftOut() throws Exception {
        Files.writeString(config, yaml("https: \"" + IP + ":" + httpsPort + "\", httpsRedirectPort: 443, "));
        assertThat(proxy.reloadFromFile()).isTrue();
        assertRedirect("HTTP/1.1", "shop.example", "/api", "https://shop.example");

        Files.writeString(config, yaml("https: \"" + IP + ":" + httpsPort + "\", httpsRedirectPort: 30443, "));
        assertThat(proxy.reloadFromFile()).isTrue();
        assertRedirect("HTTP/1.1", "shop.example", "/api", "https://shop.example:30443");
    }

    /** curl's output (body, or head and body with {@code -i}); it resolves every host of the test to {@link #IP}. */
    private String curl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
        for (String host : List.of("shop.example", "plain.example", "optout.example", "forced.example")) {
            command.addAll(List.of("--resolve", host + ":" + httpPort + ":" + IP));
        }
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return out;
    }
}
