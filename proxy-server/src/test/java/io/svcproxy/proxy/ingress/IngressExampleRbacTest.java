package io.svcproxy.proxy.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
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
 * docker/k8s/ingress.yaml's RBAC as the API server enforces it: its Role and ClusterRoles are the only rules
 * svcproxy's requests get past, so a call they do not cover is a 403 and a WARN. From helper-130's review: the
 * example set NODE_NAME but granted nothing on nodes, so every start logged two WARNs ("Cannot read the node's zone",
 * "Cannot watch the node") and the zone hints never worked; it also granted "get" on ingresses, secrets and
 * ingressclasses, which svcproxy never calls. fabric8's mock API server in CRUD mode; Ingress listeners on
 * 127.0.130.2, ClusterIP 127.0.10.107, endpoint 127.0.0.105.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IngressExampleRbacTest {
    private static final Duration WITHIN = Duration.ofSeconds(8);
    /** The token of MockKubeconfig: requests carrying it are svcproxy's, the test client's carry none. */
    private static final String SVCPROXY_AUTH = "Bearer test-token";

    @TempDir
    Path dir;

    /**
     * The CRUD mock server, which enforces RBAC rules on svcproxy's requests (not on the test's own): a request the
     * rules do not allow is a 403, as the API server answers it; each one is recorded, and each refused one.
     */
    static final class Dispatcher extends KubernetesCrudDispatcher {
        volatile List<Grant> grants;
        final List<String> seen = new CopyOnWriteArrayList<>();
        final List<String> refused = new CopyOnWriteArrayList<>();

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            List<Grant> g = grants;
            if (g != null && SVCPROXY_AUTH.equals(request.getHeader("Authorization"))) {
                String attrs = attributes(request.getMethod(), request.getPath());
                seen.add(String.valueOf(attrs));
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
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private KubernetesMockServer apiServer;
    private KubernetesClient client;
    private TestBackend backend;
    private ProxyServer proxy;

    @BeforeEach
    void setUp() throws Exception {
        apiServer = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        apiServer.init();
        client = apiServer.createClient();
        backend = TestBackend.start(new InetSocketAddress("127.0.0.105", 0), "kapi-1", Mode.HTTP);
        logs.start();
        ((Logger) LoggerFactory.getLogger("io.svcproxy")).addAppender(logs);
    }

    @AfterEach
    void tearDown() {
        ((Logger) LoggerFactory.getLogger("io.svcproxy")).detachAppender(logs);
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
        client.close();
        apiServer.destroy();
    }

    /** Every verb on every resource the example's Role (in its namespace) and ClusterRoles (in all) grant. */
    private List<Grant> examplesGrants() throws IOException {
        List<Grant> grants = new ArrayList<>();
        try (InputStream in = Files.newInputStream(Path.of("..", "docker", "k8s", "ingress.yaml"))) {
            for (HasMetadata item : client.load(in).items()) {
                List<PolicyRule> rules = item instanceof Role r ? r.getRules()
                        : item instanceof ClusterRole c ? c.getRules() : List.of();
                String ns = item instanceof Role ? item.getMetadata().getNamespace() : null;
                for (PolicyRule rule : rules) {
                    for (String group : rule.getApiGroups()) {
                        for (String resource : rule.getResources()) {
                            for (String verb : rule.getVerbs()) {
                                grants.add(new Grant(group, resource, verb, ns));
                            }
                        }
                    }
                }
            }
        }
        return grants;
    }

    private String get(String host) throws IOException {
        try (HttpClientConnection c = new HttpClientConnection(proxy.ingress().httpAddress())) {
            HttpClientConnection.Response r = c.get(host, "/x");
            return r.status() == 200 ? r.body().trim() : Integer.toString(r.status());
        }
    }

    private List<String> logged(Level atLeast) {
        return logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(atLeast))
                .map(e -> e.getLevel() + " " + e.getLoggerName() + " - " + e.getFormattedMessage()).toList();
    }

    /**
     * The example as it runs: its rules enforced, its config (class svcproxy, namespaces [default]) and its NODE_NAME
     * (here registry.kubernetes.nodeName, which the environment variable stands for) naming a Node with a zone: the
     * Ingress is served, its status written, the Node read and watched, and nothing is refused or warned of.
     */
    @Test
    void theIngressExamplesRbacCoversEveryCallSoItStartsWithoutWarnings() throws Exception {
        List<Grant> grants = examplesGrants();
        assertThat(grants).isNotEmpty();
        client.network().v1().ingressClasses().resource(new IngressClassBuilder().withNewMetadata()
                .withName("svcproxy").endMetadata().withNewSpec().withController("svcproxy.io/ingress").endSpec()
                .build()).create();
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-1")
                .addToLabels("topology.kubernetes.io/zone", "zone-a").endMetadata().build()).create();
        client.services().resource(new ServiceBuilder().withNewMetadata().withName("kapi").withNamespace("default")
                .endMetadata().withNewSpec().withType("ClusterIP").withClusterIP("127.0.10.107")
                .withClusterIPs("127.0.10.107").addNewPort().withName("http").withProtocol("TCP").withPort(18107)
                .withTargetPort(new IntOrString("http")).endPort().endSpec().build()).create();
        client.discovery().v1().endpointSlices().resource(new EndpointSliceBuilder().withNewMetadata()
                .withName("kapi-1").withNamespace("default").addToLabels("kubernetes.io/service-name", "kapi")
                .endMetadata().withAddressType("IPv4").addNewEndpoint().withAddresses("127.0.0.105")
                .withNewConditions().withReady(true).withServing(true).withTerminating(false).endConditions()
                .endEndpoint().addNewPort().withName("http").withProtocol("TCP")
                .withPort(backend.address().getPort()).endPort().build()).create();
        client.network().v1().ingresses().resource(new IngressBuilder().withNewMetadata().withName("shop")
                .withNamespace("default").addToAnnotations("nginx.ingress.kubernetes.io/ssl-redirect", "false")
                .endMetadata().withNewSpec().withIngressClassName("svcproxy")
                .addNewRule().withHost("shop.example").withNewHttp().addNewPath().withPath("/").withPathType("Prefix")
                .withNewBackend().withNewService().withName("kapi").withNewPort().withName("http").endPort()
                .endService().endBackend().endPath().endHttp().endRule().endSpec().build()).create();
        dispatcher.grants = grants;

        Path kubeconfig = MockKubeconfig.write(dir, client);
        Path config = dir.resolve("svcproxy.yaml");
        Files.writeString(config, """
                proxy:
                  admin: "127.0.0.1:0"
                  drainTimeout: 20s
                  ingress:
                    http: "127.0.130.2:0"
                    https: "127.0.130.2:0"
                    className: svcproxy
                    responseTimeout: 60s
                registry:
                  kubernetes: {kubeconfig: %s, namespaces: [default], nodeName: node-1}
                """.formatted(kubeconfig));
        proxy = ProxyServer.start(ConfigLoader.load(config), Transport.select(), 2);
        await().atMost(WITHIN).until(() -> get("shop.example").equals("kapi-1"));
        await().atMost(WITHIN).untilAsserted(() -> assertThat(IngressKubernetesTest.statusIps(client, "shop"))
                .containsExactly("127.0.130.2"));
        // the Node's read and watch run on a thread of their own: awaited until watched, or refused
        await().atMost(WITHIN).until(() -> dispatcher.seen.contains(" nodes watch ")
                || dispatcher.refused.stream().anyMatch(r -> r.startsWith(" nodes ")));
        Thread.sleep(500); // the WARN of a refusal
        assertThat(logged(Level.WARN)).as("WARN and ERROR lines of the example's start; requests refused by its "
                + "RBAC: %s", dispatcher.refused).isEmpty();
        assertThat(dispatcher.refused).isEmpty();
    }
}
