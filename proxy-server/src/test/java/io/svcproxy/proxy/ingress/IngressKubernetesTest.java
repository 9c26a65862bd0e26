package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngress;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.proxy.MockKubeconfig;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.cli.TestBackend;
import io.svcproxy.proxy.cli.TestBackend.Mode;
import io.svcproxy.proxy.dataplane.Transport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Ingress following a cluster: the fabric8 mock API server in CRUD mode holds Ingresses, IngressClasses and
 * {@code kubernetes.io/tls} Secrets; svcproxy (Ingress on 127.0.10.160, ClusterIPs 127.0.10.161-162, endpoints
 * 127.0.0.161-163) serves the Ingresses of class {@code svcproxy} to the config file's Services while a client keeps
 * sending requests to a stable Ingress, and writes the address it serves on into their status.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IngressKubernetesTest {
    private static final Duration WITHIN = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    private final KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher();
    private final List<TestBackend> backends = new ArrayList<>();
    private KubernetesMockServer apiServer;
    private KubernetesClient client;
    private ProxyServer proxy;

    @BeforeEach
    void setUp() throws Exception {
        apiServer = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        apiServer.init();
        client = apiServer.createClient();
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.161", 0), "api-1", Mode.HTTP));
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.162", 0), "api-2", Mode.HTTP));
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.163", 0), "web-1", Mode.HTTP));
        Files.createDirectories(dir.resolve("certs"));
        TestCertificates.write(dir.resolve("certs"), "shop", "shop.example", "EC");
        TestCertificates.write(dir.resolve("certs"), "shop2", "shop.example", "RSA");
    }

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.forEach(TestBackend::close);
        client.close();
        apiServer.destroy();
    }

    private void startProxy() throws Exception {
        startProxy("");
    }

    /** Starts svcproxy on the mock API server; {@code ingressSettings}: more keys of {@code proxy.ingress}. */
    private void startProxy(String ingressSettings) throws Exception {
        Path kubeconfig = MockKubeconfig.write(dir, client);
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy:
                  admin: "127.0.0.1:0"
                  ingress: {http: "127.0.10.160:0", https: "127.0.10.160:0", className: svcproxy%s}
                registry:
                  kubernetes: {kubeconfig: %s, namespaces: [default]}
                services:
                  - name: api
                    clusterIP: 127.0.10.161
                    ports: [{name: http, port: 18161}]
                    endpoints: [{ip: 127.0.0.161, port: %d}, {ip: 127.0.0.162, port: %d}]
                  - name: web
                    clusterIP: 127.0.10.162
                    ports: [{name: http, port: 18162}]
                    endpoints: [{ip: 127.0.0.163, port: %d}]
                """.formatted(ingressSettings, kubeconfig, backends.get(0).address().getPort(),
                backends.get(1).address().getPort(), backends.get(2).address().getPort()));
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
    }

    static Ingress ingress(String name, String className, String host, String service, String tlsSecret) {
        IngressBuilder b = new IngressBuilder().withNewMetadata().withName(name).withNamespace("default")
                .endMetadata().withNewSpec().withIngressClassName(className)
                .addNewRule().withHost(host).withNewHttp().addNewPath().withPath("/").withPathType("Prefix")
                .withNewBackend().withNewService().withName(service).withNewPort().withName("http").endPort()
                .endService().endBackend().endPath().endHttp().endRule().endSpec();
        if (tlsSecret != null) {
            b.editSpec().addNewTl().withHosts(host).withSecretName(tlsSecret).endTl().endSpec();
        }
        return b.build();
    }

    static IngressClass ingressClass(String name, boolean isDefault) {
        return new IngressClassBuilder().withNewMetadata().withName(name)
                .withAnnotations(isDefault ? Map.of("ingressclass.kubernetes.io/is-default-class", "true") : Map.of())
                .endMetadata().withNewSpec().withController("svcproxy.io/ingress").endSpec().build();
    }

    private Secret tlsSecret(String name, String certFile, String keyFile) throws IOException {
        return new SecretBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withType("kubernetes.io/tls")
                .addToData("tls.crt", base64(Files.readString(dir.resolve("certs").resolve(certFile))))
                .addToData("tls.key", base64(Files.readString(dir.resolve("certs").resolve(keyFile))))
                .build();
    }

    /** The lines of {@code svcproxy_ingress_certificate_expiry_timestamp_seconds} in a scrape. */
    private List<String> expirySeries() {
        return java.util.Arrays.stream(proxy.meterRegistry().scrape().split("\n"))
                .filter(l -> l.startsWith("svcproxy_ingress_certificate_expiry_timestamp_seconds{")).toList();
    }

    static String base64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
    }

    private String get(String host) throws IOException {
        try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
            HttpClientConnection.Response r = c.get(host, "/x");
            return r.status() == 200 ? r.body().trim() : Integer.toString(r.status());
        }
    }

    private IngressSpec.Tls tlsOf(String name) {
        return proxy.ingress().ingresses().stream().filter(i -> i.name().equals(name)).findFirst().orElseThrow()
                .tls().get(0);
    }

    @Test
    void servesIngressesOfItsClassAsTheyAreCreatedChangedAndDeletedWhileRequestsRun() throws Exception {
        client.network().v1().ingressClasses().resource(ingressClass("svcproxy", false)).create();
        client.network().v1().ingresses().resource(ingress("stable", "svcproxy", "stable.example", "api", null))
                .create();
        startProxy();
        await().atMost(WITHIN).until(() -> get("stable.example").startsWith("api-"));

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = new CopyOnWriteArrayList<>();
        Thread load = new Thread(() -> {
            try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
                for (int i = 0; i < 50_000 && !stop.get(); i++) {
                    HttpClientConnection.Response r = c.get("stable.example", "/load");
                    if (r.status() == 200 && r.body().startsWith("api-")) {
                        ok.incrementAndGet();
                    } else {
                        failures.add(r.status() + " " + r.body());
                    }
                }
            } catch (IOException e) {
                failures.add(e.toString());
            }
        }, "stable-load");
        load.start();

        // created: of the class, and of another class
        client.network().v1().ingresses().resource(ingress("shop", "svcproxy", "shop.example", "api", null)).create();
        client.network().v1().ingresses().resource(ingress("other", "nginx", "other.example", "web", null)).create();
        await().atMost(WITHIN).until(() -> get("shop.example").startsWith("api-"));
        assertThat(get("other.example")).isEqualTo("404");

        // the address it serves on, in the status of the Ingresses it serves only
        await().atMost(WITHIN).untilAsserted(() -> assertThat(statusIps("shop")).containsExactly("127.0.10.160"));
        assertThat(statusIps("stable")).containsExactly("127.0.10.160");
        assertThat(statusIps("other")).isEmpty();

        // changed: the rule's backend
        client.network().v1().ingresses().resource(ingress("shop", "svcproxy", "shop.example", "web", null)).update();
        await().atMost(WITHIN).until(() -> get("shop.example").equals("web-1"));

        // an Ingress without class is served once svcproxy is the default class
        client.network().v1().ingresses().resource(ingress("legacy", null, "legacy.example", "web", null)).create();
        Thread.sleep(300);
        assertThat(get("legacy.example")).isEqualTo("404");
        client.network().v1().ingressClasses().resource(ingressClass("svcproxy", true)).update();
        await().atMost(WITHIN).until(() -> get("legacy.example").equals("web-1"));
        client.network().v1().ingressClasses().resource(ingressClass("svcproxy", false)).update();
        await().atMost(WITHIN).until(() -> get("legacy.example").equals("404"));
        await().atMost(WITHIN).untilAsserted(() -> assertThat(statusIps("legacy")).isEmpty());
        // default again, then the IngressClass deleted: no default class, so the classless Ingress is not served
        client.network().v1().ingressClasses().resource(ingressClass("svcproxy", true)).update();
        await().atMost(WITHIN).until(() -> get("legacy.example").equals("web-1"));
        client.network().v1().ingressClasses().withName("svcproxy").delete();
        await().atMost(WITHIN).until(() -> get("legacy.example").equals("404"));
        assertThat(get("stable.example")).startsWith("api-"); // named by ingressClassName: still served

        // deleted
        client.network().v1().ingresses().inNamespace("default").withName("shop").delete();
        await().atMost(WITHIN).until(() -> get("shop.example").equals("404"));

        Thread.sleep(200);
        stop.set(true);
        load.join(30_000);
        assertThat(failures).isEmpty();
        assertThat(ok.get()).isGreaterThan(100);

        // a graceful shutdown takes its address out of the status of the Ingresses it served
        assertThat(statusIps("stable")).containsExactly("127.0.10.160");
        proxy.shutdown();
        assertThat(statusIps("stable")).isEmpty();
        assertThat(statusIps("other")).isEmpty();
    }

    @Test
    void takesTlsFromKubernetesTlsSecretsAsTheyAreCreatedUpdatedAndDeleted() throws Exception {
        client.network().v1().ingressClasses().resource(ingressClass("svcproxy", false)).create();
        // the load below runs over plain HTTP: once the Secret loads it would be redirected to HTTPS (see the end)
        client.network().v1().ingresses().resource(new IngressBuilder(ingress("shop", "svcproxy", "shop.example",
                "api", "shop-tls")).editMetadata().addToAnnotations("nginx.ingress.kubernetes.io/ssl-redirect", "false")
                .endMetadata().build()).create();
        startProxy();
        await().atMost(WITHIN).until(() -> get("shop.example").startsWith("api-"));
        assertThat(tlsOf("shop").usable()).isFalse(); // no Secret yet: the entry serves nothing, the rules do
        AtomicBoolean stop = new AtomicBoolean();
        List<String> failures = new CopyOnWriteArrayList<>();
        AtomicInteger ok = new AtomicInteger();
        Thread load = new Thread(() -> {
            try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
                for (int i = 0; i < 50_000 && !stop.get(); i++) {
                    HttpClientConnection.Response r = c.get("shop.example", "/load");
                    if (r.status() == 200) {
                        ok.incrementAndGet();
                    } else {
                        failures.add(r.status() + " " + r.body());
                    }
                }
            } catch (IOException e) {
                failures.add(e.toString());
            }
        }, "shop-load");
        load.start();

        client.secrets().resource(tlsSecret("shop-tls", "shop.pem", "shop-key.pem")).create();
        await().atMost(WITHIN).until(() -> tlsOf("shop").usable());
        assertThat(tlsOf("shop").certificatePem()).isEqualTo(Files.readString(dir.resolve("certs/shop.pem")));
        assertThat(tlsOf("shop").secretName()).isEqualTo("shop-tls");
        InetSocketAddress https = proxy.ingress().httpsAddress();
        await().atMost(WITHIN).until(() -> TlsProbe.peerCertificate(https, "shop.example")
                .equals(TlsProbe.certificate(dir.resolve("certs/shop.pem"))));

        client.secrets().resource(tlsSecret("shop-tls", "shop2.pem", "shop2-key.pem")).update();
        await().atMost(WITHIN).until(() -> Files.readString(dir.resolve("certs/shop2.pem"))
                .equals(tlsOf("shop").certificatePem()));
        await().atMost(WITHIN).until(() -> TlsProbe.peerCertificate(https, "shop.example")
                .equals(TlsProbe.certificate(dir.resolve("certs/shop2.pem"))));

        // a renewal gone wrong (the key of another certificate): the previous pair keeps serving, and says why
        client.secrets().resource(tlsSecret("shop-tls", "shop.pem", "shop2-key.pem")).update();
        await().atMost(WITHIN).until(() -> !tlsOf("shop").usable());
        assertThat(TlsProbe.peerCertificate(https, "shop.example"))
                .isEqualTo(TlsProbe.certificate(dir.resolve("certs/shop2.pem")));
        IngressCertificates.TlsStatus status = proxy.ingress().tlsStatus(tlsOf("shop"));
        assertThat(status.loaded()).isFalse();
        assertThat(status.problem()).startsWith("tls.key: expected ");
        assertThat(status.notAfter()).isEqualTo(TlsProbe.certificate(dir.resolve("certs/shop2.pem")).getNotAfter()
                .toInstant());
        assertThat(expirySeries()).singleElement().asString().contains("certificate=\"secret default/shop-tls tls.crt\"")
                .contains("ingress=\"default/shop\"");

        client.secrets().resource(tlsSecret("shop-tls", "shop.pem", "shop-key.pem")).update();
        await().atMost(WITHIN).until(() -> tlsOf("shop").usable());
        await().atMost(WITHIN).until(() -> TlsProbe.peerCertificate(https, "shop.example")
                .equals(TlsProbe.certificate(dir.resolve("certs/shop.pem"))));
        assertThat(proxy.ingress().tlsStatus(tlsOf("shop")).loaded()).isTrue();
        stop.set(true);
        load.join(30_000);
        assertThat(failures).isEmpty();
        assertThat(ok.get()).isGreaterThan(100);
        // without the annotation, plain HTTP to a host with a certificate goes to HTTPS (ingress-nginx's default)
        client.network().v1().ingresses().inNamespace("default").withName("shop")
                .edit(i -> new IngressBuilder(i).editMetadata().removeFromAnnotations(
                        "nginx.ingress.kubernetes.io/ssl-redirect").endMetadata().build());
        await().atMost(WITHIN).until(() -> get("shop.example").equals("308"));
        try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
            assertThat(c.get("shop.example", "/x?y").headers()).containsEntry("location",
                    "https://shop.example:" + https.getPort() + "/x?y");
        }
        // deleted: taken away (the listener has no certificate left, so handshakes fail), and no more redirects
        client.secrets().inNamespace("default").withName("shop-tls").delete();
        await().atMost(WITHIN).until(() -> !tlsOf("shop").usable());
        await().atMost(WITHIN).until(() -> expirySeries().isEmpty());
        assertThat(proxy.ingress().tlsStatus(tlsOf("shop")).notAfter()).isNull();
        assertThat(get("shop.example")).startsWith("api-");
    }

    /**
     * With {@code publishService} (ingress-nginx's {@code --publish-service}) the status is that Service's addresses:
     * they replace a dead replica's entry, follow the Service's load balancer, and stay after a graceful shutdown.
     */
    @Test
    void aPublishServicesAddressesAreTheStatusAndFollowIt() throws Exception {
        client.network().v1().ingressClasses().resource(ingressClass("svcproxy", false)).create();
        client.services().resource(new io.fabric8.kubernetes.api.model.ServiceBuilder().withNewMetadata()
                .withName("front").withNamespace("default").endMetadata().withNewSpec().withType("LoadBalancer")
                .withClusterIP("127.0.10.166").addNewPort().withName("http").withPort(18166).endPort()
                .withExternalIPs("127.0.50.9").endSpec().withNewStatus().withNewLoadBalancer().addNewIngress()
                .withIp("127.0.50.1").endIngress().addNewIngress().withHostname("lb.example").endIngress()
                .endLoadBalancer().endStatus().build()).create();
        Ingress shop = client.network().v1().ingresses().resource(ingress("shop", "svcproxy", "shop.example", "api",
                null)).create();
        client.network().v1().ingresses().resource(new IngressBuilder(shop).withNewStatus().withNewLoadBalancer()
                .addNewIngress().withIp("127.0.40.7").endIngress().endLoadBalancer().endStatus().build())
                .updateStatus(); // a replica that died
        startProxy(", publishService: default/front");

        await().atMost(WITHIN).untilAsserted(() -> assertThat(statusAddresses("shop"))
                .containsExactly("127.0.50.1", "127.0.50.9", "lb.example"));
        io.fabric8.kubernetes.api.model.Service front = client.services().inNamespace("default").withName("front")
                .get();
        client.services().resource(new io.fabric8.kubernetes.api.model.ServiceBuilder(front).editStatus()
                .editLoadBalancer().withIngress(new io.fabric8.kubernetes.api.model.LoadBalancerIngressBuilder()
                        .withIp("127.0.50.2").build()).endLoadBalancer().endStatus().build()).updateStatus();
        await().atMost(WITHIN).untilAsserted(() -> assertThat(statusAddresses("shop"))
                .containsExactly("127.0.50.2", "127.0.50.9"));
        proxy.shutdown();
        assertThat(statusAddresses("shop")).containsExactly("127.0.50.2", "127.0.50.9");
    }

    @Test
    void routesToAServiceOfTheApiAnswering503UntilItAndItsEndpointsExist() throws Exception {
        client.network().v1().ingressClasses().resource(ingressClass("svcproxy", false)).create();
        client.network().v1().ingresses().resource(ingress("kube", "svcproxy", "kube.example", "kapi", null))
                .create();
        startProxy();
        await().atMost(WITHIN).until(() -> get("kube.example").equals("503")); // no such Service yet
        client.services().resource(new io.fabric8.kubernetes.api.model.ServiceBuilder().withNewMetadata()
                .withName("kapi").withNamespace("default").endMetadata().withNewSpec().withType("ClusterIP")
                .withClusterIP("127.0.10.163").withClusterIPs("127.0.10.163").addNewPort().withName("http")
                .withProtocol("TCP").withPort(18163).withTargetPort(new io.fabric8.kubernetes.api.model.IntOrString(
                        "http")).endPort().endSpec().build()).create();
        Thread.sleep(300);
        assertThat(get("kube.example")).isEqualTo("503"); // the Service, no endpoint yet
        client.discovery().v1().endpointSlices().resource(new io.fabric8.kubernetes.api.model.discovery.v1
                .EndpointSliceBuilder().withNewMetadata().withName("kapi-1").withNamespace("default")
                .addToLabels("kubernetes.io/service-name", "kapi").endMetadata().withAddressType("IPv4")
                .addNewEndpoint().withAddresses("127.0.0.162").withNewConditions().withReady(true).withServing(true)
                .withTerminating(false).endConditions().endEndpoint()
                .addNewPort().withName("http").withProtocol("TCP").withPort(backends.get(1).address().getPort())
                .endPort().build()).create();
        await().atMost(WITHIN).until(() -> get("kube.example").equals("api-2"));
        client.services().inNamespace("default").withName("kapi").delete();
        await().atMost(WITHIN).until(() -> get("kube.example").equals("503"));
    }

    /**
     * ingress-nginx's canary Ingress (nginx.ingress.kubernetes.io/canary: "true") never serves a host and path on its
     * own: its backend only takes canary-weight percent (0 here) of the main Ingress's. From helper-130's review: it
     * was served as a plain Ingress, so a canary older than its main Ingress (created first, or the main one deleted
     * and created again, as a Helm re-install does) took all of the traffic. Now it is not served at all.
     */
    @Test
    void aCanaryIngressDoesNotTakeTheTrafficOfTheMainIngress() throws Exception {
        client.network().v1().ingressClasses().resource(ingressClass("svcproxy", false)).create();
        Ingress canary = ingress("shop-canary", "svcproxy", "shop.example", "web", null);
        canary.getMetadata().setAnnotations(Map.of("nginx.ingress.kubernetes.io/canary", "true",
                "nginx.ingress.kubernetes.io/canary-weight", "0"));
        client.network().v1().ingresses().resource(canary).create();
        Thread.sleep(1100); // creation timestamps have a resolution of one second: the canary is the older
        client.network().v1().ingresses().resource(ingress("shop", "svcproxy", "shop.example", "api", null)).create();
        startProxy();
        await().atMost(WITHIN).until(() -> proxy.ingress().ingresses().size() == 1);
        assertThat(proxy.ingress().ingresses()).extracting(IngressSpec::name).containsExactly("shop");
        for (int i = 0; i < 4; i++) {
            assertThat(get("shop.example")).as("main Ingress -> api, canary at weight 0 -> web").startsWith("api-");
        }
    }

    /** The status entries' IPs, else hostnames. */
    private List<String> statusAddresses(String name) {
        Ingress i = client.network().v1().ingresses().inNamespace("default").withName(name).get();
        if (i.getStatus() == null || i.getStatus().getLoadBalancer() == null
                || i.getStatus().getLoadBalancer().getIngress() == null) {
            return List.of();
        }
        return i.getStatus().getLoadBalancer().getIngress().stream()
                .map(e -> e.getIp() != null ? e.getIp() : e.getHostname()).toList();
    }

    private List<String> statusIps(String name) {
        return statusIps(client, name);
    }

    /** The IPs in the status of the Ingress {@code default/name}, as the API server has it. */
    static List<String> statusIps(KubernetesClient client, String name) {
        Ingress i = client.network().v1().ingresses().inNamespace("default").withName(name).get();
        if (i.getStatus() == null || i.getStatus().getLoadBalancer() == null
                || i.getStatus().getLoadBalancer().getIngress() == null) {
            return List.of();
        }
        return i.getStatus().getLoadBalancer().getIngress().stream().map(IngressLoadBalancerIngress::getIp).toList();
    }
}
