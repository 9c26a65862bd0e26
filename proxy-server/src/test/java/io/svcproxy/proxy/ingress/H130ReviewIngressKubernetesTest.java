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
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * helper-130's review of the Ingresses from the Kubernetes API as an ingress-nginx user meets them: the status
 * across reloads of the listeners, a listener turned on by a reload, the example's RBAC against what the code calls,
 * canary Ingresses, and a backend port renamed later. fabric8's mock API server in CRUD mode; Ingress listeners on
 * 127.0.130.x, ClusterIPs 127.0.10.107-109, endpoints 127.0.0.103-105.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class H130ReviewIngressKubernetesTest {
    private static final Duration WITHIN = Duration.ofSeconds(8);
    private static final String IP = "127.0.130.1";
    /** The token of MockKubeconfig: requests carrying it are svcproxy's, the test client's carry none. */
    private static final String SVCPROXY_AUTH = "Bearer test-token";

    @TempDir
    Path dir;

    /**
     * The CRUD mock server, which can enforce RBAC rules on svcproxy's requests (not on the test's own): a request
     * the rules do not allow is a 403, as the API server answers it; each refused one is recorded.
     */
    static final class Dispatcher extends KubernetesCrudDispatcher {
        volatile List<Grant> grants;
        final List<String> refused = new CopyOnWriteArrayList<>();

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            List<Grant> g = grants;
            if (g != null && SVCPROXY_AUTH.equals(request.getHeader("Authorization"))) {
                String attrs = attributes(request.getMethod(), request.getPath());
                if (attrs != null && g.stream().noneMatch(grant -> grant.allows(attrs))) {
                    refused.add(attrs);
                    return new MockResponse().setResponseCode(403).setBody("{\"kind\":\"Status\","
                            + "\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"message\":"
                            + "\"forbidden: " + attrs + "\",\"code\":403}");
                }
            }
            return super.dispatch(request);
        }
    }

    /** One verb on one resource (with its subresource), in one namespace or, with {@code null}, in all. */
    record Grant(String group, String resource, String verb, String namespace) {
        boolean allows(String attrs) {
            String[] a = attrs.split(" ", -1); // group resource verb namespace
            return group.equals(a[0]) && resource.equals(a[1]) && verb.equals(a[2])
                    && (namespace == null || namespace.equals(a[3]));
        }
    }

    /**
     * The request's RBAC attributes {@code "group resource verb namespace"} (as the API server's request info
     * resolver finds them), or {@code null} for a path that is not a resource (discovery).
     */
    static String attributes(String method, String pathAndQuery) {
        String path = pathAndQuery.split("\\?")[0];
        String query = pathAndQuery.contains("?") ? pathAndQuery.substring(pathAndQuery.indexOf('?') + 1) : "";
        String[] s = path.substring(1).split("/");
        String group;
        int i;
        if (s[0].equals("api") && s.length > 2) {
            group = "";
            i = 2;
        } else if (s[0].equals("apis") && s.length > 3) {
            group = s[1];
            i = 3;
        } else {
            return null;
        }
        String namespace = "";
        if (s[i].equals("namespaces") && s.length > i + 2) {
            namespace = s[i + 1];
            i += 2;
        }
        String resource = s[i];
        String name = s.length > i + 1 ? s[i + 1] : null;
        if (s.length > i + 2) {
            resource = resource + "/" + s[i + 2];
        }
        String verb = switch (method) {
            case "GET" -> name != null ? "get" : query.contains("watch=true") || query.contains("watch=1") ? "watch"
                    : "list";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "POST" -> "create";
            case "DELETE" -> "delete";
            default -> method.toLowerCase();
        };
        return group + " " + resource + " " + verb + " " + namespace;
    }

    private final Dispatcher dispatcher = new Dispatcher();
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
     * ingress-nginx's canary Ingress (nginx.ingress.kubernetes.io/canary: "true") never serves a host and path on
     * its own: createServers and the locations skip it ("Ingress is marked as Canary, ignoring"), and its backend is
     * merged into the main Ingress's as an alternative taking canary-weight percent (0 here), or none when no main
     * Ingress has the path. svcproxy names the canary annotations as ignored and serves the canary as a plain
     * Ingress: the older of the two owns the host and path, so a canary set up before its main Ingress (or a main
     * Ingress deleted and created again, as a rename or a Helm release re-install does) takes all the traffic.
     */
    @Test
    void aCanaryIngressDoesNotTakeTheTrafficOfTheMainIngress() throws Exception {
        client.network().v1().ingressClasses().resource(ownClass()).create();
        client.network().v1().ingresses().resource(ingress("shop-canary", "shop.example", "canary").editMetadata()
                .addToAnnotations("nginx.ingress.kubernetes.io/canary", "true")
                .addToAnnotations("nginx.ingress.kubernetes.io/canary-weight", "0").endMetadata().build()).create();
        Thread.sleep(1100); // creation timestamps have a resolution of one second
        client.network().v1().ingresses().resource(ingress("shop", "shop.example", "main").build()).create();
        Path config = writeConfig("{http: \"" + IP + ":0\", className: svcproxy}");
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
        await().atMost(WITHIN).until(() -> proxy.ingress().ingresses().size() == 2);
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            answers.add(get("shop.example"));
        }
        assertThat(answers).as("answers to shop.example/x: main Ingress -> main-1, canary at weight 0 -> canary-1")
                .containsOnly("main-1");
    }
}
