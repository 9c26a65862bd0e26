package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.KubernetesClient;
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
import java.io.InputStream;
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
 * From helper-130's review of the Ingresses from the Kubernetes API: a listener turned on by a reload (the API's
 * Ingresses answered 404 with nothing said), a refused Ingress kind (every health check node port answered 503), a
 * backend port renamed later (503 with nothing logged). fabric8's mock API server in CRUD mode, enforcing RBAC on
 * svcproxy's own requests; Ingress listeners on 127.0.130.x, ClusterIPs 127.0.10.107-109, endpoints
 * 127.0.0.103-105.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IngressKubernetesReloadAndHealthTest {
    private static final Duration WITHIN = Duration.ofSeconds(8);
    private static final String IP = "127.0.130.1";

    @TempDir
    Path dir;

    private final RbacDispatcher dispatcher = new RbacDispatcher();
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
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.103", 0), "main-1", Mode.HTTP));
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.104", 0), "canary-1", Mode.HTTP));
        backends.add(TestBackend.start(new InetSocketAddress("127.0.0.105", 0), "kapi-1", Mode.HTTP));
        logs.start();
        ((Logger) LoggerFactory.getLogger("io.svcproxy")).addAppender(logs);
    }

    @AfterEach
    void tearDown() {
        ((Logger) LoggerFactory.getLogger("io.svcproxy")).detachAppender(logs);
        if (proxy != null) {
            proxy.close();
        }
        backends.forEach(TestBackend::close);
        client.close();
        apiServer.destroy();
    }

    /** Writes the config: {@code ingress} is the flow map of {@code proxy.ingress}. */
    private Path writeConfig(String ingress) throws IOException {
        Path kubeconfig = MockKubeconfig.write(dir, client);
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy:
                  admin: "127.0.0.1:0"
                  ingress: %s
                registry:
                  kubernetes: {kubeconfig: %s, namespaces: [default]}
                services:
                  - name: main
                    clusterIP: 127.0.10.108
                    ports: [{name: http, port: 18108}]
                    endpoints: [{ip: 127.0.0.103, port: %d}]
                  - name: canary
                    clusterIP: 127.0.10.109
                    ports: [{name: http, port: 18109}]
                    endpoints: [{ip: 127.0.0.104, port: %d}]
                """.formatted(ingress, kubeconfig, backends.get(0).address().getPort(),
                backends.get(1).address().getPort()));
        return config;
    }

    private static IngressClass ownClass() {
        return new io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder().withNewMetadata()
                .withName("svcproxy").endMetadata().withNewSpec().withController("svcproxy.io/ingress").endSpec()
                .build();
    }

    private static IngressBuilder ingress(String name, String host, String service) {
        return new IngressBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withIngressClassName("svcproxy")
                .addNewRule().withHost(host).withNewHttp().addNewPath().withPath("/").withPathType("Prefix")
                .withNewBackend().withNewService().withName(service).withNewPort().withName("http").endPort()
                .endService().endBackend().endPath().endHttp().endRule().endSpec();
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

    private List<String> logged(Level atLeast) {
        return logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(atLeast))
                .map(e -> e.getLevel() + " " + e.getLoggerName() + " - " + e.getFormattedMessage()).toList();
    }

    /**
     * A reload turns the Ingress on (proxy.ingress.http added; the listener binds live), with registry.kubernetes:
     * the Kubernetes Ingresses of the class are never watched (the source is made only at start, when the Ingress
     * was off), so their hosts answer 404 until a restart, and nothing says so: RestartOnlyKeys warns of className,
     * publishService and registry.kubernetes, not of this.
     */
    @Test
    void aReloadThatTurnsTheIngressOnServesTheApisIngressesOrSaysItTakesARestart() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        client.network().v1().ingresses().resource(ingress("shop", "shop.example", "main").build()).create();
        Path config = writeConfig("{className: svcproxy}");
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
        writeConfig("{http: \"" + IP + ":0\", className: svcproxy}");
        await().atMost(WITHIN).until(() -> proxy.ingress().httpAddress() != null);
        String answer = "404";
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < end && !answer.equals("main-1")) {
            answer = get("shop.example");
            Thread.sleep(200);
        }
        List<String> restartWarnings = logged(Level.WARN).stream().filter(l -> l.contains("restart")).toList();
        assertThat(answer.equals("main-1") || !restartWarnings.isEmpty())
                .as("the API's Ingress shop.example after a reload turned the Ingress on: answered %s; WARNs "
                        + "saying a restart is needed: %s", answer, restartWarnings).isTrue();
    }

    /**
     * A node proxy that also serves the Ingress, with RBAC that refuses one of the Ingress's kinds (here the TLS
     * Secrets; equally a namespaced Role only, without the ClusterRole on ingressclasses). The Services are served,
     * yet the state is never "synced" (Registry waits for the Ingress source too), and HealthCheckNodePorts reads
     * that as kube-proxy's serviceProxyHealthy: every healthCheckNodePort answers 503 "serviceProxyHealthy": false
     * for good, so every cloud load balancer takes the node out of every externalTrafficPolicy: Local Service,
     * although it has a ready local endpoint and forwards to it. kube-proxy's health is its Service sync alone.
     */
    @Test
    void aRefusedIngressKindDoesNotFailTheHealthCheckNodePortsOfTheServices() throws Exception {
        List<RbacDispatcher.Grant> grants = new ArrayList<>();
        for (String verb : List.of("list", "watch")) {
            grants.add(new RbacDispatcher.Grant("", "services", verb, null));
            grants.add(new RbacDispatcher.Grant("discovery.k8s.io", "endpointslices", verb, null));
            grants.add(new RbacDispatcher.Grant("networking.k8s.io", "ingresses", verb, null));
            grants.add(new RbacDispatcher.Grant("networking.k8s.io", "ingressclasses", verb, null));
            grants.add(new RbacDispatcher.Grant("", "nodes", verb, null));
        }
        grants.add(new RbacDispatcher.Grant("", "nodes", "get", null));
        grants.add(new RbacDispatcher.Grant("networking.k8s.io", "ingresses/status", "update", null)); // no secrets
        dispatcher.grants = grants;
        client.network().v1().ingressClasses().resource(ownClass()).create();
        Path kubeconfig = MockKubeconfig.write(dir, client);
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy:
                  admin: "127.0.0.1:0"
                  nodeName: node-a
                  nodeAddresses: [127.0.130.5]
                  ingress: {http: "127.0.130.6:0", className: svcproxy}
                registry:
                  kubernetes: {kubeconfig: %s, namespaces: [default], nodeName: node-a}
                services:
                  - name: shop
                    type: LoadBalancer
                    clusterIP: 127.0.10.107
                    ports: [{name: http, port: 18107, nodePort: 30107}]
                    externalTrafficPolicy: Local
                    healthCheckNodePort: 30108
                    endpoints: [{ip: 127.0.0.105, port: %d, nodeName: node-a}]
                """.formatted(kubeconfig, backends.get(2).address().getPort()));
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
        // the Service is served at its ClusterIP and node port
        await().atMost(WITHIN).until(() -> {
            try (HttpClientConnection c = new HttpClientConnection(new InetSocketAddress("127.0.130.5", 30107))) {
                return c.get("shop", "/").body().trim().equals("kapi-1");
            } catch (IOException e) {
                return false;
            }
        });
        Thread.sleep(3000);
        HttpClientConnection.Response health;
        try (HttpClientConnection c = new HttpClientConnection(new InetSocketAddress("127.0.130.5", 30108))) {
            health = c.get("127.0.130.5", "/");
        }
        assertThat(health.status()).as("healthCheckNodePort of a Service with a ready local endpoint, secrets refused "
                + "to the Ingress (refused: %s): %s", dispatcher.refused.stream().distinct().toList(), health.body())
                .isEqualTo(200);
    }

    /**
     * An Ingress backend names a Kubernetes Service's port by name, and the Service renames that port later (or the
     * Service is deleted, or becomes ExternalName): its requests answer 503 from then on, and nothing is logged. The
     * WARN "Ingress backend has no Service port" (IngressListeners.noticeMissingBackends, whose javadoc says it names
     * the backends "no Service port of the state in force answers for") is looked for only when the Ingresses
     * themselves change, not when the Services do.
     */
    @Test
    void aBackendPortRenamedLaterIsNamedInAWarn() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        client.services().resource(new ServiceBuilder().withNewMetadata().withName("kapi").withNamespace("default")
                .endMetadata().withNewSpec().withType("ClusterIP").withClusterIP("127.0.10.107")
                .withClusterIPs("127.0.10.107").addNewPort().withName("http").withProtocol("TCP").withPort(18107)
                .withTargetPort(new IntOrString(backends.get(2).address().getPort())).endPort().endSpec().build())
                .create();
        client.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata()
                .withName("kapi-1").withNamespace("default").addToLabels("kubernetes.io/service-name", "kapi")
                .endMetadata().withAddressType("IPv4").addNewEndpoint().withAddresses("127.0.0.105")
                .withNewConditions().withReady(true).withServing(true).withTerminating(false).endConditions()
                .endEndpoint().addNewPort().withName("http").withProtocol("TCP")
                .withPort(backends.get(2).address().getPort()).endPort().build()).create();
        client.network().v1().ingresses().resource(ingress("shop", "shop.example", "kapi").build()).create();
        Path config = writeConfig("{http: \"" + IP + ":0\", className: svcproxy}");
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
        await().atMost(WITHIN).until(() -> get("shop.example").equals("kapi-1"));

        // the Service's port renamed, as its slice's
        client.services().inNamespace("default").withName("kapi").edit(s -> new ServiceBuilder(s).editSpec()
                .editFirstPort().withName("web").endPort().endSpec().build());
        client.discovery().v1().endpointSlices().inNamespace("default").withName("kapi-1").edit(e ->
                new EndpointSliceBuilder(e).editFirstPort().withName("web").endPort().build());
        await().atMost(WITHIN).until(() -> get("shop.example").equals("503"));
        Thread.sleep(2000);
        assertThat(logged(Level.WARN).stream().filter(l -> l.contains("Ingress backend has no Service port")))
                .as("WARNs naming the backend kapi:http that answers 503 since its port was renamed").isNotEmpty();
    }
}
