package io.svcproxy.proxy.ingress;

import static io.svcproxy.proxy.ingress.IngressKubernetesTest.base64;
import static io.svcproxy.proxy.ingress.IngressKubernetesTest.ingress;
import static io.svcproxy.proxy.ingress.IngressKubernetesTest.ingressClass;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.proxy.MockKubeconfig;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Several Kubernetes Ingresses naming one host, as a cluster moved from ingress-nginx has them: the same host and
 * path twice (the oldest wins, as ingress-nginx's sortIngressSlice orders them, the other is named in a WARN, and a
 * restart picks the same one), a host's paths from two Ingresses merged, its certificate from one of them, and a
 * TLS Secret that is missing in a third. The fabric8 mock API server in CRUD mode; Ingress on 127.0.156.1,
 * ClusterIPs 127.0.156.11-12, endpoints 127.0.156.21-22.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IngressKubernetesSharedHostTest {
    private static final Duration WITHIN = Duration.ofSeconds(5);
    private static final String REDIRECT_OFF = "nginx.ingress.kubernetes.io/ssl-redirect";

    @TempDir
    Path dir;

    private final KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher();
    private final List<TestBackend> backends = new ArrayList<>();
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private KubernetesMockServer apiServer;
    private KubernetesClient client;
    private ProxyServer proxy;

    @BeforeEach
    void setUp() throws Exception {
        apiServer = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        apiServer.init();
        client = apiServer.createClient();
        backends.add(TestBackend.start(new InetSocketAddress("127.0.156.21", 0), "api-1", Mode.HTTP));
        backends.add(TestBackend.start(new InetSocketAddress("127.0.156.22", 0), "web-1", Mode.HTTP));
        TestCertificates.write(dir, "shop", "shop.example", "EC");
        TestCertificates.write(dir, "other", "other.example", "EC");
        logs.start();
        ((Logger) LoggerFactory.getLogger(IngressListeners.class)).addAppender(logs);
        client.network().v1().ingressClasses().resource(ingressClass("svcproxy", false)).create();
    }

    @AfterEach
    void tearDown() {
        ((Logger) LoggerFactory.getLogger(IngressListeners.class)).detachAppender(logs);
        if (proxy != null) {
            proxy.close();
        }
        backends.forEach(TestBackend::close);
        client.close();
        apiServer.destroy();
    }

    private void startProxy() throws Exception {
        Path kubeconfig = MockKubeconfig.write(dir, client);
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy:
                  admin: "127.0.0.1:0"
                  ingress: {http: "127.0.156.1:0", https: "127.0.156.1:0", className: svcproxy}
                registry:
                  kubernetes: {kubeconfig: %s, namespaces: [default]}
                services:
                  - name: api
                    clusterIP: 127.0.156.11
                    ports: [{name: http, port: 18156}]
                    endpoints: [{ip: 127.0.156.21, port: %d}]
                  - name: web
                    clusterIP: 127.0.156.12
                    ports: [{name: http, port: 18156}]
                    endpoints: [{ip: 127.0.156.22, port: %d}]
                """.formatted(kubeconfig, backends.get(0).address().getPort(), backends.get(1).address().getPort()));
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
    }

    private String get(String host, String path) throws IOException {
        try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
            HttpClientConnection.Response r = c.get(host, path);
            return r.status() == 200 ? r.body().trim() : Integer.toString(r.status());
        }
    }

    private List<String> warnings() {
        return logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    private Secret tlsSecret(String name, String pair) throws IOException {
        return new SecretBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withType("kubernetes.io/tls")
                .addToData("tls.crt", base64(Files.readString(dir.resolve(pair + ".pem"))))
                .addToData("tls.key", base64(Files.readString(dir.resolve(pair + "-key.pem"))))
                .build();
    }

    /**
     * The same host, path and pathType in two Ingresses: the older one's backend serves it (its name sorting first
     * would make the other win a tie of the same second), the other is named once in a WARN, and after a restart
     * (a relist in another order) the same one wins; deleting the winner hands the path to the other.
     */
    @Test
    void theOlderOfTwoIngressesOfOneHostAndPathWinsTheOtherIsNamedAndARestartKeepsIt() throws Exception {
        client.network().v1().ingresses().resource(ingress("first", "svcproxy", "shop.example", "api", null))
                .create();
        Thread.sleep(1100); // creation timestamps have a resolution of one second
        client.network().v1().ingresses().resource(ingress("second", "svcproxy", "shop.example", "web", null))
                .create();
        startProxy();
        await().atMost(WITHIN).until(() -> proxy.ingress().ingresses().size() == 2);
        assertThat(get("shop.example", "/x")).isEqualTo("api-1");
        assertThat(warnings()).contains("Ignoring duplicate path ingress=default/second host=shop.example path=/ "
                + "pathType=Prefix (the first one is used: ingress=default/first)");

        proxy.close();
        logs.list.clear();
        startProxy();
        await().atMost(WITHIN).until(() -> proxy.ingress().ingresses().size() == 2);
        assertThat(get("shop.example", "/x")).as("after a restart").isEqualTo("api-1");

        client.network().v1().ingresses().inNamespace("default").withName("first").delete();
        await().atMost(WITHIN).until(() -> get("shop.example", "/x").equals("web-1"));
    }

    /**
     * One host's paths in two Ingresses are merged into one host, the certificate written in one of them serves
     * the host, and a third Ingress whose TLS Secret is missing keeps its rules over HTTP (not redirected) and takes
     * nothing from the other host's HTTPS; its certificate serves once the Secret is created.
     */
    @Test
    void aHostsPathsAndCertificateFromTwoIngressesAndAMissingSecretOfAThirdBreakNothing() throws Exception {
        Ingress shopApi = new IngressBuilder(ingress("shop-api", "svcproxy", "shop.example", "api", null))
                .editMetadata().addToAnnotations(REDIRECT_OFF, "false").endMetadata().editSpec().editFirstRule()
                .editHttp().editFirstPath().withPath("/api").endPath().endHttp().endRule().endSpec().build();
        Ingress shopWeb = new IngressBuilder(ingress("shop-web", "svcproxy", "shop.example", "web", "shop-tls"))
                .editMetadata().addToAnnotations(REDIRECT_OFF, "false").endMetadata().build();
        client.network().v1().ingresses().resource(shopApi).create();
        client.network().v1().ingresses().resource(shopWeb).create();
        client.network().v1().ingresses().resource(ingress("other", "svcproxy", "other.example", "web",
                "other-tls")).create();
        client.secrets().resource(tlsSecret("shop-tls", "shop")).create();
        startProxy();
        await().atMost(WITHIN).until(() -> proxy.ingress().ingresses().size() == 3);
        InetSocketAddress https = proxy.ingress().httpsAddress();
        await().atMost(WITHIN).until(() -> TlsProbe.peerCertificate(https, "shop.example")
                .equals(TlsProbe.certificate(dir.resolve("shop.pem"))));

        assertThat(get("shop.example", "/api/x")).isEqualTo("api-1");
        assertThat(get("shop.example", "/x")).isEqualTo("web-1");
        assertThat(get("other.example", "/x")).as("a missing Secret: served over HTTP, not redirected")
                .isEqualTo("web-1");
        assertThat(warnings()).noneMatch(w -> w.contains("duplicate"));

        client.secrets().resource(tlsSecret("other-tls", "other")).create();
        await().atMost(WITHIN).until(() -> TlsProbe.peerCertificate(https, "other.example")
                .equals(TlsProbe.certificate(dir.resolve("other.pem"))));
        assertThat(TlsProbe.peerCertificate(https, "shop.example"))
                .isEqualTo(TlsProbe.certificate(dir.resolve("shop.pem")));
        await().atMost(WITHIN).until(() -> get("other.example", "/x").equals("308"));
    }
}
