package io.svcproxy.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngress;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.testcontainers.containers.GenericContainer;
import org.yaml.snakeyaml.Yaml;

/**
 * svcproxy as the Ingress controller of {@code docker/k8s/ingress.yaml}: the image run as the example's Deployment
 * runs it (root with only NET_ADMIN, a read-only root filesystem, {@code POD_IP} from the downward API, the
 * example's ConfigMap config), on the host's network so that its listeners are on loopback. The fabric8 mock API
 * server (CRUD mode, in this JVM) holds the example's own IngressClass and Ingress ("shop"), the Services it names
 * ("api" with two endpoints, "web" with one: HTTP servers in this JVM) and the {@code kubernetes.io/tls} Secret
 * "shop-tls" with a certificate made by openssl for the test.
 *
 * <p>Changed in the example's config, and only these: the kubeconfig (the mock server instead of the in-cluster
 * account), the admin address and the two Ingress listeners (loopback addresses instead of every interface).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IngressIT {
    private static final String INGRESS_IP = "127.0.0.170";
    private static final String API_CLUSTER_IP = "127.0.10.171";
    private static final String WEB_CLUSTER_IP = "127.0.10.172";
    
    private static KubernetesMockServer apiServer;
    private static KubernetesClient client;
    private static final List<HttpServer> backends = new ArrayList<>();
    private static GenericContainer<?> ingress;
    private static Path dir;
    private static int adminPort;
    private static int httpPort;
    private static int httpsPort;

    @BeforeAll
    static void startIngress() throws Exception {
        String image = SvcproxyImage.tag();
        apiServer = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), true);
        apiServer.init(InetAddress.getByName("127.0.0.1"), 0);
        client = apiServer.createClient();
        dir = ExampleOnHost.configDir("svcproxy-ingress-");

        List<HasMetadata> example = example();
        for (HasMetadata item : example) { // the example's own IngressClass and Ingress
            if (item instanceof IngressClass || item instanceof Ingress) {
                client.resource(item).create();
            }
        }
        createService("api", API_CLUSTER_IP, new IntOrString("http"), "http",
                backend("127.0.0.171", "api-a"), backend("127.0.0.172", "api-b"));
        createService("web", WEB_CLUSTER_IP, new IntOrString(8080), null, backend("127.0.0.173", "web"));
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=shop.example", "-addext", "subjectAltName=DNS:shop.example",
                "-keyout", dir.resolve("shop-key.pem").toString(), "-out", dir.resolve("shop.pem").toString());
        client.secrets().inNamespace("default").resource(new SecretBuilder().withNewMetadata().withName("shop-tls")
                .withNamespace("default").endMetadata().withType("kubernetes.io/tls")
                .addToData("tls.crt", base64(dir.resolve("shop.pem")))
                .addToData("tls.key", base64(dir.resolve("shop-key.pem"))).build()).create();

        ExampleOnHost.writeKubeconfig(dir, client);
        adminPort = ExampleOnHost.freePort();
        httpPort = ExampleOnHost.freePort();
        httpsPort = ExampleOnHost.freePort();
        ExampleOnHost.write(dir.resolve("svcproxy.yaml"), exampleConfigForThisMachine(example));

        Deployment deployment = example.stream().filter(Deployment.class::isInstance).map(Deployment.class::cast)
                .findFirst().orElseThrow();
        ingress = ExampleOnHost.container(image, deployment.getSpec().getTemplate().getSpec().getContainers().get(0),
                dir).withEnv("POD_IP", INGRESS_IP);
        ingress.start();
    }

    @AfterAll
    static void stopIngress() {
        if (ingress != null) {
            ingress.stop();
        }
        backends.forEach(s -> s.stop(0));
        if (client != null) {
            client.close();
        }
        if (apiServer != null) {
            apiServer.destroy();
        }
    }

    @Test
    @Order(1)
    void theExamplesIngressRoutesByHostAndPathInTheSchedulersOrder() throws Exception {
        await("the Ingress synced from the API").atMost(Duration.ofSeconds(30))
                .until(() -> get("shop.example", "/api/x").endsWith(" status=200"));
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            seen.add(body("shop.example", "/api/x"));
        }
        assertThat(seen).as("rr over the api Service's endpoints, per request").allMatch(b -> b.startsWith("api-"));
        for (int i = 1; i < seen.size(); i++) {
            assertThat(seen.get(i)).isNotEqualTo(seen.get(i - 1));
        }
        assertThat(body("shop.example", "/login")).isEqualTo("web"); // Exact
        assertThat(body("shop.example", "/login/x")).isEqualTo("web"); // not /login: the default backend
        assertThat(body("other.example", "/api/x")).isEqualTo("web"); // another host: the default backend
    }

    @Test
    @Order(2)
    void httpsAnswersWithTheSecretsCertificateForItsNameOverHttp2() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> curlHttps().contains("api-"));
        assertThat(curlHttps()).as("the body, then curl -w's HTTP version").matches("api-[ab] http=2");
    }

    @Test
    @Order(3)
    void theIngressStatusNamesTheAddressItIsServedOn() {
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            Ingress shop = client.network().v1().ingresses().inNamespace("default").withName("shop").get();
            return shop.getStatus() != null && shop.getStatus().getLoadBalancer() != null
                    && shop.getStatus().getLoadBalancer().getIngress() != null
                    && shop.getStatus().getLoadBalancer().getIngress().stream().map(IngressLoadBalancerIngress::getIp)
                    .anyMatch(INGRESS_IP::equals);
        });
        assertThat(ingress.getLogs()).contains("transport=epoll").doesNotContain("ERROR");
    }

    @Test
    @Order(4)
    void dockerStopExitsZero() {
        assertThat(ExampleOnHost.stop(ingress)).isZero();
    }

    /** The example's ConfigMap config with this machine's kubeconfig, admin address and Ingress listeners. */
    @SuppressWarnings("unchecked")
    private static String exampleConfigForThisMachine(List<HasMetadata> example) {
        ConfigMap map = example.stream().filter(ConfigMap.class::isInstance).map(ConfigMap.class::cast)
                .findFirst().orElseThrow();
        Map<String, Object> config = new Yaml().load(map.getData().get("svcproxy.yaml"));
        Map<String, Object> proxy = (Map<String, Object>) config.get("proxy");
        Map<String, Object> ingressSettings = (Map<String, Object>) proxy.get("ingress");
        assertThat(ingressSettings).containsKeys("http", "https", "className");
        proxy.put("admin", "127.0.0.1:" + adminPort);
        ingressSettings.put("http", INGRESS_IP + ":" + httpPort);
        ingressSettings.put("https", INGRESS_IP + ":" + httpsPort);
        Map<String, Object> kubernetes = (Map<String, Object>) ((Map<String, Object>) config.get("registry"))
                .get("kubernetes");
        assertThat(kubernetes).doesNotContainKey("kubeconfig");
        kubernetes.put("kubeconfig", "/etc/svcproxy/kubeconfig");
        return new Yaml().dump(config);
    }

    private static List<HasMetadata> example() throws IOException {
        try (InputStream in = Files.newInputStream(SvcproxyImage.dockerDir().resolve("k8s/ingress.yaml"))) {
            return client.load(in).items();
        }
    }

    /** An HTTP server on {@code ip} that answers every request with {@code name}. */
    private static HttpServer backend(String ip, String name) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(ip, 0), 64);
        byte[] body = name.getBytes(StandardCharsets.UTF_8);
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        backends.add(server);
        return server;
    }

    private static void createService(String name, String clusterIp, IntOrString targetPort, String portName,
                                      HttpServer... endpoints) {
        client.services().inNamespace("default").resource(new ServiceBuilder().withNewMetadata().withName(name)
                .withNamespace("default").endMetadata().withNewSpec().withType("ClusterIP").withClusterIP(clusterIp)
                .withClusterIPs(clusterIp).addNewPort().withName(portName).withProtocol("TCP").withPort(80)
                .withTargetPort(targetPort).endPort().endSpec().build()).create();
        for (int i = 0; i < endpoints.length; i++) { // one slice per endpoint: each listens on a port of its own
            InetSocketAddress at = endpoints[i].getAddress();
            client.discovery().v1().endpointSlices().inNamespace("default").resource(new EndpointSliceBuilder()
                    .withNewMetadata().withName(name + "-" + i).withNamespace("default")
                    .addToLabels("kubernetes.io/service-name", name).endMetadata()
                    .withAddressType("IPv4")
                    .addNewPort().withName(portName).withProtocol("TCP").withPort(at.getPort()).endPort()
                    .addNewEndpoint().withAddresses(at.getAddress().getHostAddress())
                    .withNewConditions().withReady(true).withServing(true).withTerminating(false).endConditions()
                    .endEndpoint().build()).create();
        }
    }

    /** The README's {@code curl -H 'Host: shop.example' http://<ingress>/api/x}: the body, then " status=CODE". */
    private static String get(String host, String path) throws IOException, InterruptedException {
        return curl("-H", "Host: " + host, "-w", " status=%{http_code}",
                "http://" + INGRESS_IP + ":" + httpPort + path);
    }

    /** The body of a 200 answer to {@link #get}, or what curl said instead. */
    private static String body(String host, String path) throws IOException, InterruptedException {
        String out = get(host, path);
        assertThat(out).as(host + path).endsWith(" status=200");
        return out.substring(0, out.length() - " status=200".length());
    }

    /** curl over HTTPS to shop.example (resolved to the Ingress), trusting only the Secret's certificate. */
    private static String curlHttps() throws IOException, InterruptedException {
        return curl("--http2", "--resolve", "shop.example:" + httpsPort + ":" + INGRESS_IP,
                "--cacert", dir.resolve("shop.pem").toString(),
                "-w", " http=%{http_version}", "https://shop.example:" + httpsPort + "/api/x");
    }

    private static String curl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return out;
    }

    private static void openssl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("openssl: " + out).isZero();
        for (String pem : List.of("shop.pem", "shop-key.pem")) {
            if (Files.exists(dir.resolve(pem))) {
                Files.setPosixFilePermissions(dir.resolve(pem), PosixFilePermissions.fromString("rw-r--r--"));
            }
        }
    }

    /** The file in base64, as a Secret's {@code data} holds it (the mock server does not turn stringData into it). */
    private static String base64(Path file) throws IOException {
        return java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(file));
    }
}
