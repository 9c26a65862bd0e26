package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.svcproxy.config.ConfigLoader;
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
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The Ingresses of the Kubernetes API and their status, as found by a review against ingress-nginx (helper-85): whose
 * status svcproxy writes, what it does when writes are refused or slow, and what it says at start. Ingress on
 * 127.0.10.115, a Kubernetes ClusterIP 127.0.10.116, endpoint 127.0.0.95.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IngressKubernetesStatusTest {
    private static final Duration WITHIN = Duration.ofSeconds(5);
    private static final String IP = "127.0.10.115";

    @TempDir
    Path dir;

    /** Counts status PUTs, can refuse them (403) or hold them, and can slow down the first LIST of some resources. */
    static final class Dispatcher extends KubernetesCrudDispatcher {
        final AtomicInteger statusPuts = new AtomicInteger();
        volatile boolean forbidStatus;
        volatile CountDownLatch holdStatus;
        volatile long slowListMillis;
        volatile List<String> slowLists = List.of();

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            String path = request.getPath();
            String bare = path.split("\\?")[0];
            if ("PUT".equals(request.getMethod()) && bare.contains("/ingresses/") && bare.endsWith("/status")) {
                statusPuts.incrementAndGet();
                CountDownLatch hold = holdStatus;
                if (hold != null) {
                    try {
                        hold.await(15, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (forbidStatus) {
                    return new MockResponse().setResponseCode(403).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                            + "\"status\":\"Failure\",\"reason\":\"Forbidden\",\"message\":\"forbidden\","
                            + "\"code\":403}");
                }
            }
            if ("GET".equals(request.getMethod()) && !path.contains("watch=true")
                    && slowLists.stream().anyMatch(bare::endsWith)) {
                return super.dispatch(request).setBodyDelay(slowListMillis, TimeUnit.MILLISECONDS);
            }
            return super.dispatch(request);
        }
    }

    private final Dispatcher dispatcher = new Dispatcher();
    private KubernetesMockServer apiServer;
    private KubernetesClient client;
    private ProxyServer proxy;
    private TestBackend backend;
    private final ListAppender<ILoggingEvent> warnings = new ListAppender<>();

    @BeforeEach
    void setUp() throws Exception {
        apiServer = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        apiServer.init();
        client = apiServer.createClient();
        backend = TestBackend.start(new InetSocketAddress("127.0.0.95", 0), "kapi-1", Mode.HTTP);
        Files.createDirectories(dir.resolve("certs"));
        TestCertificates.write(dir.resolve("certs"), "shop", "shop.example", "EC");
        warnings.start();
        for (String name : List.of("io.svcproxy.proxy.ingress.IngressListeners",
                "io.svcproxy.config.source.KubernetesIngressMapper")) {
            ((Logger) LoggerFactory.getLogger(name)).addAppender(warnings);
        }
    }

    @AfterEach
    void tearDown() {
        for (String name : List.of("io.svcproxy.proxy.ingress.IngressListeners",
                "io.svcproxy.config.source.KubernetesIngressMapper")) {
            ((Logger) LoggerFactory.getLogger(name)).detachAppender(warnings);
        }
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
        client.close();
        apiServer.destroy();
    }

    private void startProxy() throws Exception {
        writeConfig(IP);
        proxy = ProxyServer.start(ConfigLoader.load(dir.resolve("svcproxy.yaml")), Transport.select(), 2);
    }

    private void writeConfig(String ip) throws Exception {
        writeConfig(dir, ip, "svcproxy");
    }

    private void writeConfig(Path dir, String ip, String className) throws Exception {
        Files.createDirectories(dir);
        Path kubeconfig = MockKubeconfig.write(dir, client);
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy:
                  admin: "127.0.0.1:0"
                  ingress: {http: "%s:0", https: "%s:0", className: %s}
                registry:
                  kubernetes: {kubeconfig: %s, namespaces: [default]}
                """.formatted(ip, ip, className, kubeconfig));
    }

    private static IngressClass ownClass() {
        return new IngressClassBuilder().withNewMetadata().withName("svcproxy").endMetadata().withNewSpec()
                .withController("svcproxy.io/ingress").endSpec().build();
    }

    private static Ingress ingress(String name, String className, String host, String tlsSecret) {
        IngressBuilder b = new IngressBuilder().withNewMetadata().withName(name).withNamespace("default")
                .addToAnnotations("nginx.ingress.kubernetes.io/ssl-redirect", "false")
                .endMetadata().withNewSpec().withIngressClassName(className)
                .addNewRule().withHost(host).withNewHttp().addNewPath().withPath("/").withPathType("Prefix")
                .withNewBackend().withNewService().withName("kapi").withNewPort().withName("http").endPort()
                .endService().endBackend().endPath().endHttp().endRule().endSpec();
        if (tlsSecret != null) {
            b.editSpec().addNewTl().withHosts(host).withSecretName(tlsSecret).endTl().endSpec();
        }
        return b.build();
    }

    private void createKapi() {
        client.services().resource(new ServiceBuilder().withNewMetadata().withName("kapi").withNamespace("default")
                .endMetadata().withNewSpec().withType("ClusterIP").withClusterIP("127.0.10.116")
                .withClusterIPs("127.0.10.116").addNewPort().withName("http").withProtocol("TCP").withPort(46016)
                .withTargetPort(new IntOrString("http")).endPort().endSpec().build()).create();
        client.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata()
                .withName("kapi-1").withNamespace("default").addToLabels("kubernetes.io/service-name", "kapi")
                .endMetadata().withAddressType("IPv4").addNewEndpoint().withAddresses("127.0.0.95")
                .withNewConditions().withReady(true).withServing(true).withTerminating(false).endConditions()
                .endEndpoint().addNewPort().withName("http").withProtocol("TCP")
                .withPort(backend.address().getPort()).endPort().build()).create();
    }

    private String get(String host) throws IOException {
        try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
            HttpClientConnection.Response r = c.get(host, "/x");
            return r.status() == 200 ? r.body().trim() : Integer.toString(r.status());
        }
    }

    private List<String> statusIps(String name) {
        return IngressKubernetesTest.statusIps(client, name);
    }

    private List<String> warned(String fragment) {
        return warnings.list.stream().filter(e -> e.getLevel() == Level.WARN)
                .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains(fragment)).toList();
    }

    /**
     * Another controller (its class nginx) serving on the same address (hostNetwork on the same node: both write the
     * node's IP): ingress-nginx writes only the Ingresses of its class (status.go updateStatus over its store's
     * ListIngresses) and rewrites its list every UpdateInterval; svcproxy strips the address from every Ingress it
     * does not serve, so the two rewrite each other's Ingress for ever.
     */
    @Test
    void leavesTheStatusOfAnotherControllersIngressAlone() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        createKapi();
        client.network().v1().ingresses().resource(ingress("mine", "svcproxy", "mine.example", null)).create();
        Ingress theirs = client.network().v1().ingresses().resource(ingress("theirs", "nginx", "theirs.example",
                null)).create();
        client.network().v1().ingresses().resource(new IngressBuilder(theirs).withNewStatus().withNewLoadBalancer()
                .addNewIngress().withIp(IP).endIngress().endLoadBalancer().endStatus().build()).updateStatus();
        startProxy();
        await().atMost(WITHIN).untilAsserted(() -> assertThat(statusIps("mine")).containsExactly(IP));
        int before = dispatcher.statusPuts.get();
        // the other controller writes its address back, as ingress-nginx does every 60 s
        for (int round = 0; round < 3; round++) {
            Thread.sleep(500);
            Ingress now = client.network().v1().ingresses().inNamespace("default").withName("theirs").get();
            if (statusIps("theirs").isEmpty()) {
                client.network().v1().ingresses().resource(new IngressBuilder(now).withNewStatus()
                        .withNewLoadBalancer().addNewIngress().withIp(IP).endIngress().endLoadBalancer().endStatus()
                        .build()).updateStatus();
            }
        }
        Thread.sleep(500);
        assertThat(statusIps("theirs")).as("another class's Ingress's status; status PUTs since start=%d",
                dispatcher.statusPuts.get() - before).containsExactly(IP);
    }

    /**
     * Status writes refused (RBAC without update on ingresses/status, or an admission webhook): every later event of
     * any watched Ingress or TLS Secret, of any class, PUTs every served Ingress again (ingress-nginx syncs the status
     * on a timer, UpdateInterval 60 s); and once the API accepts them, nothing is written until an event or the 5 min
     * resync.
     */
    @Test
    void refusedStatusWritesAreNotRepeatedAtEveryUnrelatedEvent() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        createKapi();
        for (int i = 0; i < 5; i++) {
            client.network().v1().ingresses().resource(ingress("mine-" + i, "svcproxy", "mine" + i + ".example",
                    null)).create();
        }
        dispatcher.forbidStatus = true;
        startProxy();
        await().atMost(WITHIN).until(() -> dispatcher.statusPuts.get() >= 5);
        Thread.sleep(500);
        int before = dispatcher.statusPuts.get();
        for (int i = 0; i < 10; i++) { // unrelated: another controller's Ingresses
            client.network().v1().ingresses().resource(ingress("theirs-" + i, "nginx", "theirs" + i + ".example",
                    null)).create();
            Thread.sleep(150);
        }
        Thread.sleep(500);
        int storm = dispatcher.statusPuts.get() - before;
        dispatcher.forbidStatus = false;
        assertThat(storm).as("refused status PUTs set off by 10 unrelated Ingress creations").isLessThanOrEqualTo(5);
        // retried on its own, after a back-off that starts at 2 s: no event comes any more
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(statusIps("mine-0"))
                .as("written once the API takes it").containsExactly(IP));
    }

    /**
     * At start the Ingress source may list before the Service source (EndpointSlices, far more of them) and before
     * its own Secret informer: every backend is then named as missing and every TLS entry's Secret as missing, in
     * WARNs, though both exist; and since each line is logged once per process, the same backend or Secret really
     * missing later is not logged.
     */
    @Test
    void noMissingBackendOrSecretWarningsAtStartWhenBothExist() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        createKapi();
        client.secrets().resource(new SecretBuilder().withNewMetadata().withName("shop-tls").withNamespace("default")
                .endMetadata().withType("kubernetes.io/tls")
                .addToData("tls.crt", base64(Files.readString(dir.resolve("certs/shop.pem"))))
                .addToData("tls.key", base64(Files.readString(dir.resolve("certs/shop-key.pem")))).build()).create();
        client.network().v1().ingresses().resource(ingress("shop", "svcproxy", "shop.example", "shop-tls")).create();
        dispatcher.slowListMillis = 1500;
        dispatcher.slowLists = List.of("/endpointslices", "/secrets");
        startProxy();
        await().atMost(Duration.ofSeconds(10)).until(() -> get("shop.example").equals("kapi-1"));
        await().atMost(WITHIN).until(() -> proxy.ingress().ingresses().stream().anyMatch(i -> i.tls().size() == 1
                && i.tls().get(0).usable()));
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(warned("Ingress backend has no Service port")).as("backend WARNs").isEmpty();
        soft.assertThat(warned("Ingress tls secret not usable")).as("Secret WARNs").isEmpty();
        soft.assertAll();
    }

    /**
     * A reload moves the listeners to another IP (proxy.ingress.http and https are applied live): the status names
     * the new IP and loses the old one, which serves nothing any more.
     */
    @Test
    void theStatusFollowsAListenerMovedByReload() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        createKapi();
        client.network().v1().ingresses().resource(ingress("mine", "svcproxy", "mine.example", null)).create();
        startProxy();
        await().atMost(WITHIN).untilAsserted(() -> assertThat(statusIps("mine")).containsExactly(IP));
        writeConfig("127.0.10.114");
        await().atMost(WITHIN).until(() -> proxy.ingress().httpAddress() != null
                && proxy.ingress().httpAddress().getAddress().getHostAddress().equals("127.0.10.114"));
        // an event, so that the status is looked at again
        client.network().v1().ingresses().resource(ingress("mine-2", "svcproxy", "mine2.example", null)).create();
        await().atMost(WITHIN).until(() -> !statusIps("mine-2").isEmpty());
        assertThat(statusIps("mine")).as("status after the listener moved to 127.0.10.114")
                .containsExactly("127.0.10.114");
    }

    /**
     * A reload turns the listeners off: nothing serves the Ingresses at their old IP, and the status loses it (from
     * helper-130's review: with no address of its own the status was not written at all, so the old IP stayed in
     * every served Ingress's status for good, and a load balancer or external-dns following it sent clients to a
     * closed port; the same with a listener moved to 0.0.0.0 without $POD_IP). Listener on 127.0.130.1.
     */
    @Test
    void aReloadThatTurnsTheListenersOffTakesTheirAddressOutOfTheStatus() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        createKapi();
        client.network().v1().ingresses().resource(ingress("shop", "svcproxy", "shop.example", null)).create();
        writeConfig("127.0.130.1");
        proxy = ProxyServer.start(ConfigLoader.load(dir.resolve("svcproxy.yaml")), Transport.select(), 2);
        await().atMost(WITHIN).untilAsserted(() -> assertThat(statusIps("shop")).containsExactly("127.0.130.1"));
        // the status is written once the Ingress is seen, the route once its Service's endpoints are too
        await().atMost(WITHIN).until(() -> get("shop.example").equals("kapi-1"));

        Files.writeString(dir.resolve("svcproxy.yaml"), """
                proxy:
                  admin: "127.0.0.1:0"
                  ingress: {className: svcproxy}
                registry:
                  kubernetes: {kubeconfig: %s, namespaces: [default]}
                """.formatted(MockKubeconfig.write(dir, client)));
        await().atMost(WITHIN).until(() -> proxy.ingress().httpAddress() == null);
        await().atMost(WITHIN).untilAsserted(() -> assertThat(statusIps("shop"))
                .as("status after the reload closed the only listener").isEmpty());
    }

    /**
     * The routing of a new Ingress does not wait for its status write: an API server slow to take it (held here until
     * the new Ingress is routed; fabric8's request timeout is 10 s) held it back, N times for N writes.
     */
    @Test
    void aNewIngressIsRoutedWithoutWaitingForItsStatusWrite() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        createKapi();
        client.network().v1().ingresses().resource(ingress("mine", "svcproxy", "mine.example", null)).create();
        startProxy();
        await().atMost(WITHIN).untilAsserted(() -> assertThat(statusIps("mine")).containsExactly(IP));
        await().atMost(WITHIN).until(() -> get("mine.example").equals("kapi-1"));
        CountDownLatch hold = new CountDownLatch(1);
        dispatcher.holdStatus = hold;
        try {
            int puts = dispatcher.statusPuts.get();
            client.network().v1().ingresses().resource(ingress("new", "svcproxy", "new.example", null)).create();
            await().atMost(WITHIN).until(() -> dispatcher.statusPuts.get() > puts); // its status write is held
            await().atMost(WITHIN).until(() -> get("new.example").equals("kapi-1"));
        } finally {
            hold.countDown();
            dispatcher.holdStatus = null;
        }
    }

    /**
     * Two svcproxy deployments of two classes whose status address is the same (hostNetwork DaemonSets on the same
     * nodes: both write $POD_IP, the node's IP): each adds the IP to its Ingresses and strips it from the other's, and
     * each write is a watch event that sets off the other's recompute: a write loop at API server speed.
     */
    @Test
    void twoClassesOnTheSameAddressDoNotRewriteEachOthersStatus() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        client.network().v1().ingressClasses().resource(new IngressClassBuilder().withNewMetadata()
                .withName("internal").endMetadata().withNewSpec().withController("svcproxy.io/ingress").endSpec()
                .build()).create();
        client.network().v1().ingresses().resource(ingress("mine", "svcproxy", "mine.example", null)).create();
        client.network().v1().ingresses().resource(ingress("internal", "internal", "internal.example", null))
                .create();
        startProxy();
        writeConfig(dir.resolve("second"), IP, "internal");
        ProxyServer second = ProxyServer.start(ConfigLoader.load(dir.resolve("second/svcproxy.yaml")),
                Transport.select(), 2);
        try {
            Thread.sleep(2000);
            int before = dispatcher.statusPuts.get();
            Thread.sleep(3000);
            assertThat(dispatcher.statusPuts.get() - before).as("status PUTs in 3 s with nothing changing")
                    .isLessThanOrEqualTo(2);
        } finally {
            second.close();
        }
    }

    /**
     * cert-manager's HTTP-01 solver: an Ingress of a random name, with an Exact path of the challenge's token, lives
     * for the challenge and is deleted. Its series go with it (ingress-nginx's SocketCollector.RemoveMetrics drops the
     * series of removed Ingresses); they grew with every certificate issued or renewed, for the process's life.
     */
    @Test
    void theSeriesOfDeletedIngressesGo() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        createKapi();
        startProxy();
        for (int i = 0; i < 5; i++) {
            String name = "cm-acme-http-solver-" + i;
            String token = "/.well-known/acme-challenge/token" + i;
            client.network().v1().ingresses().resource(new IngressBuilder().withNewMetadata().withName(name)
                    .withNamespace("default").endMetadata().withNewSpec().withIngressClassName("svcproxy")
                    .addNewRule().withHost("shop.example").withNewHttp().addNewPath().withPath(token)
                    .withPathType("Exact").withNewBackend().withNewService().withName("kapi").withNewPort()
                    .withName("http").endPort().endService().endBackend().endPath().endHttp().endRule().endSpec()
                    .build()).create();
            await().atMost(WITHIN).until(() -> {
                try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
                    return c.get("shop.example", token).status() == 200;
                }
            });
            client.network().v1().ingresses().inNamespace("default").withName(name).delete();
            await().atMost(WITHIN).until(() -> proxy.ingress().ingresses().isEmpty());
        }
        List<String> series = Arrays.stream(proxy.meterRegistry().scrape().split("\n"))
                .filter(l -> l.startsWith("svcproxy_http_requests_total{") && l.contains("cm-acme-http-solver"))
                .toList();
        assertThat(series).as("series of Ingresses deleted").isEmpty();
    }

    private static String base64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
    }
}
