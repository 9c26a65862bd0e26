package io.svcproxy.docker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The Kubernetes manifests and the compose file of {@code docker/} are valid for their tools (parsed by the fabric8
 * model, and by {@code docker compose config} where installed), show the sidecar pattern with its probes,
 * security context and least RBAC, and carry svcproxy configs that svcproxy's own loader accepts. Needs no Docker.
 */
class ExamplesTest {
    private static final Path DOCKER = SvcproxyImage.dockerDir();
    private static KubernetesClient client;

    @BeforeAll
    static void client() {
        client = new KubernetesClientBuilder().build(); // parses only: never connects
    }

    @AfterAll
    static void close() {
        client.close();
    }

    @Test
    void kubernetesSourceExampleRunsSvcproxyAsASidecarOfTheApplication() throws Exception {
        List<HasMetadata> items = load("k8s/sidecar-kubernetes.yaml");
        assertThat(items).extracting(HasMetadata::getKind).containsExactlyInAnyOrder("ServiceAccount", "Role",
                "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment");

        PodSpec pod = one(items, Deployment.class).getSpec().getTemplate().getSpec();
        assertSharesThePodNetworkWithTheApp(pod);
        assertThat(pod.getServiceAccountName()).isEqualTo("svcproxy");
        Container svcproxy = svcproxy(pod);
        assertThat(svcproxy.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(svcproxy.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(svcproxy.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(svcproxy.getSecurityContext().getCapabilities().getAdd()).containsExactly("NET_ADMIN",
                "NET_BIND_SERVICE");
        assertThat(svcproxy.getEnv()).anySatisfy(env -> {
            assertThat(env.getName()).isEqualTo("NODE_NAME");
            assertThat(env.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
        });

        ProxyConfig config = svcproxyConfig(items, "svcproxy-kubernetes");
        assertThat(config.proxy().vipInterface()).isEqualTo("lo");
        assertThat(config.registry().kubernetes()).isNotNull();
        assertThat(config.registry().kubernetes().namespaces()).containsExactly("default");
        assertAdminOnEveryInterface(config);

        // Least RBAC: list and watch Services and EndpointSlices in the namespace; read and follow Nodes for the zone.
        Role role = one(items, Role.class);
        assertThat(role.getRules()).extracting(ExamplesTest::rule).containsExactlyInAnyOrder(
                "/services list,watch", "discovery.k8s.io/endpointslices list,watch");
        assertThat(one(items, ClusterRole.class).getRules()).extracting(ExamplesTest::rule)
                .containsExactly("/nodes get,list,watch");
        RoleBinding binding = one(items, RoleBinding.class);
        assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo("svcproxy");
        });
        assertThat(one(items, ClusterRoleBinding.class).getSubjects()).singleElement()
                .satisfies(s -> assertThat(s.getName()).isEqualTo("svcproxy"));
    }

    @Test
    void ingressExampleServesItsClassWithLeastRbac() throws Exception {
        List<HasMetadata> items = load("k8s/ingress.yaml");
        assertThat(items).extracting(HasMetadata::getKind).containsExactlyInAnyOrder("ServiceAccount", "Role",
                "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ClusterRole", "ClusterRoleBinding", "IngressClass",
                "ConfigMap", "Deployment", "Service", "Ingress");
        PodSpec pod = one(items, Deployment.class).getSpec().getTemplate().getSpec();
        assertThat(pod.getServiceAccountName()).isEqualTo("svcproxy-ingress");
        Container svcproxy = svcproxy(pod);
        assertProbe(svcproxy.getLivenessProbe(), "/healthz");
        assertProbe(svcproxy.getReadinessProbe(), "/readyz");
        assertThat(svcproxy.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(svcproxy.getSecurityContext().getCapabilities().getAdd()).containsExactly("NET_ADMIN",
                "NET_BIND_SERVICE");
        assertThat(svcproxy.getEnv()).anySatisfy(env -> {
            assertThat(env.getName()).isEqualTo("POD_IP");
            assertThat(env.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.podIP");
        });
        // Local-policy Services and topology hints behind the Ingress need this node's name (helper-95)
        assertThat(svcproxy.getEnv()).anySatisfy(env -> {
            assertThat(env.getName()).isEqualTo("NODE_NAME");
            assertThat(env.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
        });

        ProxyConfig config = svcproxyConfig(items, "svcproxy-ingress");
        // a rollout: the Pod leaves the endpoints during preStop, before SIGTERM closes the listeners; the grace
        // period covers that wait, the drain and the status withdrawal
        assertThat(svcproxy.getLifecycle().getPreStop().getExec().getCommand()).containsExactly("sleep", "5");
        assertThat(pod.getTerminationGracePeriodSeconds())
                .isGreaterThanOrEqualTo(5 + config.proxy().drainTimeout().toSeconds() + 5);
        assertThat(config.proxy().ingress().className()).isEqualTo(
                one(items, io.fabric8.kubernetes.api.model.networking.v1.IngressClass.class).getMetadata().getName());
        // ports no Service is likely to use: a wildcard listener takes its port on every address (helper-95's review:
        // at 8080, an Ingress to a Service on 8080 answered 503)
        assertThat(config.proxy().ingress().http().getPort()).isEqualTo(10080);
        assertThat(config.proxy().ingress().https().getPort()).isEqualTo(10443);
        assertThat(config.proxy().admin().getPort()).isEqualTo(10256);
        assertThat(config.registry().kubernetes().namespaces()).containsExactly("default");
        assertThat(one(items, io.fabric8.kubernetes.api.model.networking.v1.Ingress.class).getSpec()
                .getIngressClassName()).isEqualTo("svcproxy");

        // Least RBAC: what the informers, the status write and the Node's zone (NODE_NAME is set) need, nothing more:
        // no "get" on what is only watched (helper-130's review; IngressExampleRbacTest runs the example's rules)
        assertThat(one(items, Role.class).getRules()).extracting(ExamplesTest::rule).containsExactlyInAnyOrder(
                "/services list,watch", "discovery.k8s.io/endpointslices list,watch",
                "networking.k8s.io/ingresses list,watch", "networking.k8s.io/ingresses/status update",
                "/secrets list,watch");
        assertThat(items.stream().filter(ClusterRole.class::isInstance).map(ClusterRole.class::cast)
                .flatMap(c -> c.getRules().stream()).map(ExamplesTest::rule))
                .containsExactlyInAnyOrder("networking.k8s.io/ingressclasses list,watch", "/nodes get,list,watch");
        assertThat(one(items, RoleBinding.class).getSubjects()).singleElement()
                .satisfies(s -> assertThat(s.getName()).isEqualTo("svcproxy-ingress"));
        assertThat(items.stream().filter(ClusterRoleBinding.class::isInstance).map(ClusterRoleBinding.class::cast)
                .flatMap(b -> b.getSubjects().stream()).map(s -> s.getName())).hasSize(2)
                .containsOnly("svcproxy-ingress");
    }

    @Test
    void nodeProxyExampleRunsSvcproxyOnEveryNodeInTheHostNetworkWithLeastRbac() throws Exception {
        List<HasMetadata> items = load("k8s/node-proxy.yaml");
        assertThat(items).extracting(HasMetadata::getKind).containsExactlyInAnyOrder("ServiceAccount",
                "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet");

        PodSpec pod = one(items, io.fabric8.kubernetes.api.model.apps.DaemonSet.class).getSpec().getTemplate()
                .getSpec();
        assertThat(pod.getHostNetwork()).as("hostNetwork").isTrue();
        // on a node without kube-proxy the cluster DNS and the kubernetes Service are ClusterIPs that only this
        // proxy serves, once it has listed them from the API: the node's resolver, and the API server's address
        assertThat(pod.getDnsPolicy()).isEqualTo("Default");
        assertThat(pod.getServiceAccountName()).isEqualTo("svcproxy-node");
        assertThat(pod.getTolerations()).singleElement().satisfies(t -> assertThat(t.getOperator())
                .isEqualTo("Exists"));
        Container svcproxy = svcproxy(pod);
        assertThat(svcproxy.getArgs()).containsExactly("run", "--config", "/etc/svcproxy/svcproxy.yaml");
        assertProbe(svcproxy.getLivenessProbe(), "/healthz");
        assertProbe(svcproxy.getReadinessProbe(), "/readyz");
        assertThat(svcproxy.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(svcproxy.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(svcproxy.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(svcproxy.getSecurityContext().getCapabilities().getAdd())
                .containsExactly("NET_ADMIN", "NET_BIND_SERVICE");
        assertThat(svcproxy.getEnv()).anySatisfy(env -> {
            assertThat(env.getName()).isEqualTo("NODE_NAME");
            assertThat(env.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
        });
        assertThat(svcproxy.getEnv()).anySatisfy(env -> {
            assertThat(env.getName()).isEqualTo("KUBERNETES_SERVICE_HOST");
            assertThat(env.getValue()).isNotBlank();
        }).anySatisfy(env -> {
            assertThat(env.getName()).isEqualTo("KUBERNETES_SERVICE_PORT");
            assertThat(Integer.parseInt(env.getValue())).isBetween(1, 65535);
        });

        ProxyConfig config = svcproxyConfig(items, "svcproxy-node");
        assertThat(config.proxy().vipInterface()).isEqualTo("lo");
        assertThat(config.proxy().node().nodeAddresses()).isEmpty();
        assertThat(config.proxy().node().nodeAddressRanges()).as("the private ranges a node network is in")
                .hasSize(3).allSatisfy(c -> assertThat(c.network().isSiteLocalAddress()).isTrue());
        assertThat(config.proxy().node().nodeName()).as("from NODE_NAME, not the shared ConfigMap").isEmpty();
        assertThat(config.registry().kubernetes()).isNotNull();
        assertThat(config.registry().kubernetes().namespaces()).as("every namespace").isEmpty();
        assertThat(config.proxy().admin().getPort()).isEqualTo(svcproxy.getPorts().get(0).getContainerPort());

        // Least RBAC: list and watch Services and EndpointSlices everywhere; follow the Node for the zone.
        assertThat(one(items, ClusterRole.class).getRules()).extracting(ExamplesTest::rule).containsExactlyInAnyOrder(
                "/services list,watch", "discovery.k8s.io/endpointslices list,watch", "/nodes get,list,watch");
        assertThat(one(items, ClusterRoleBinding.class).getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getName()).isEqualTo("svcproxy-node");
            assertThat(s.getNamespace()).isEqualTo("kube-system");
        });
    }

    @Test
    void staticExampleRunsSvcproxyAsNonRootWithNoCapabilityAndNoApiAccess() throws Exception {
        List<HasMetadata> items = load("k8s/sidecar-static.yaml");
        assertThat(items).extracting(HasMetadata::getKind).containsExactlyInAnyOrder("ConfigMap", "Deployment");

        PodSpec pod = one(items, Deployment.class).getSpec().getTemplate().getSpec();
        assertSharesThePodNetworkWithTheApp(pod);
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(10001L);
        Container svcproxy = svcproxy(pod);
        assertThat(svcproxy.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(svcproxy.getSecurityContext().getRunAsUser()).isNull();
        assertThat(svcproxy.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(svcproxy.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();

        ProxyConfig config = svcproxyConfig(items, "svcproxy-static");
        assertThat(config.proxy().vipInterface()).isEmpty();
        assertThat(config.registry().kubernetes()).isNull();
        assertThat(config.services()).allSatisfy(s -> assertThat(s.clusterIP().isLoopbackAddress()).isTrue());
        assertAdminOnEveryInterface(config);
    }

    @Test
    @SuppressWarnings("unchecked")
    void composeFileRunsSvcproxyInTheAppsNetworkNamespace() throws Exception {
        Path compose = DOCKER.resolve("compose.yaml");
        if (dockerComposeAnswers()) {
            Process config = new ProcessBuilder("docker", "compose", "-f", compose.toString(), "config", "-q")
                    .redirectErrorStream(true).start();
            String out = new String(config.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(config.waitFor()).as("docker compose config: %s", out).isZero();
        }
        Map<String, Object> file = new Yaml().load(Files.readString(compose));
        Map<String, Map<String, Object>> services = map(file.get("services"));
        assertThat(services).containsKeys("app", "svcproxy", "web-1", "web-2", "web-3");
        Map<String, Object> svcproxy = services.get("svcproxy");
        assertThat(svcproxy.get("network_mode")).isEqualTo("service:app");
        assertThat(svcproxy).doesNotContainKey("ports");
        assertThat(svcproxy.get("read_only")).isEqualTo(true);
        assertThat((List<?>) svcproxy.get("tmpfs")).singleElement().asString().startsWith("/tmp:exec");
        assertThat((List<Object>) svcproxy.get("volumes")).containsExactly("./compose:/etc/svcproxy:ro");
        assertThat((List<Object>) services.get("app").get("ports")).containsExactly("127.0.0.1:9901:9901");
        // the image's HEALTHCHECK asks svcproxy's admin: every container of the image that runs something else
        // turns it off, or it would be "unhealthy" for ever
        for (Map.Entry<String, Map<String, Object>> service : services.entrySet()) {
            boolean proxy = service.getValue().get("command") instanceof List<?> command && !command.isEmpty()
                    && "run".equals(command.get(0));
            if (!proxy && "svcproxy:latest".equals(service.getValue().get("image"))) {
                assertThat(map(service.getValue().get("healthcheck"))).as(service.getKey())
                        .containsEntry("disable", true);
            }
        }

        ProxyConfig config = ConfigLoader.load(DOCKER.resolve("compose/svcproxy.yaml"));
        assertAdminOnEveryInterface(config);
        for (int i = 1; i <= 3; i++) {
            Map<String, Map<String, Object>> networks = map(services.get("web-" + i).get("networks"));
            String ip = (String) networks.get("mesh").get("ipv4_address");
            assertThat(config.pods()).anySatisfy(p -> assertThat(p.ip().getHostAddress()).isEqualTo(ip));
        }
    }

    private static void assertSharesThePodNetworkWithTheApp(PodSpec pod) {
        assertThat(pod.getHostNetwork()).as("hostNetwork").isNotEqualTo(Boolean.TRUE);
        assertThat(pod.getContainers()).extracting(Container::getName).containsExactly("app");
        Container svcproxy = svcproxy(pod);
        assertThat(svcproxy.getRestartPolicy()).as("a native sidecar").isEqualTo("Always");
        assertThat(svcproxy.getArgs()).containsExactly("run", "--config", "/etc/svcproxy/svcproxy.yaml");
        assertProbe(svcproxy.getLivenessProbe(), "/healthz");
        assertProbe(svcproxy.getReadinessProbe(), "/readyz");
        assertThat(svcproxy.getPorts()).singleElement()
                .satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(9901));
        assertThat(svcproxy.getResources().getLimits()).containsKeys("memory", "cpu");
        assertThat(svcproxy.getResources().getRequests()).containsKeys("memory", "cpu");
        assertThat(svcproxy.getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/etc/svcproxy");
            assertThat(m.getReadOnly()).isTrue();
        });
        String tmp = svcproxy.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/tmp")).findFirst()
                .orElseThrow().getName();
        Volume volume = pod.getVolumes().stream().filter(v -> v.getName().equals(tmp)).findFirst().orElseThrow();
        assertThat(volume.getEmptyDir().getMedium()).isEqualTo("Memory");
    }

    private static void assertProbe(Probe probe, String path) {
        assertThat(probe.getHttpGet().getPath()).isEqualTo(path);
        assertThat(probe.getHttpGet().getPort().getStrVal()).isEqualTo("admin");
    }

    private static void assertAdminOnEveryInterface(ProxyConfig config) {
        InetSocketAddress admin = config.proxy().admin();
        assertThat(admin.getAddress().isAnyLocalAddress()).as("admin %s", admin).isTrue();
        assertThat(admin.getPort()).isEqualTo(9901);
    }

    private static Container svcproxy(PodSpec pod) {
        return Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream())
                .filter(c -> c.getName().equals("svcproxy")).findFirst().orElseThrow();
    }

    private static ProxyConfig svcproxyConfig(List<HasMetadata> items, String name) throws Exception {
        ConfigMap map = items.stream().filter(i -> i instanceof ConfigMap && i.getMetadata().getName().equals(name))
                .map(ConfigMap.class::cast).findFirst().orElseThrow();
        return ConfigLoader.parse(map.getData().get("svcproxy.yaml"), name + "/svcproxy.yaml");
    }

    private static String rule(PolicyRule rule) {
        return String.join(",", rule.getApiGroups()) + "/" + String.join(",", rule.getResources()) + " "
                + String.join(",", rule.getVerbs());
    }

    private static <T> T one(List<HasMetadata> items, Class<T> kind) {
        List<T> found = items.stream().filter(kind::isInstance).map(kind::cast).toList();
        assertThat(found).as(kind.getSimpleName()).hasSize(1);
        return found.get(0);
    }

    private static List<HasMetadata> load(String file) throws IOException {
        try (InputStream in = Files.newInputStream(DOCKER.resolve(file))) {
            return client.load(in).items();
        }
    }

    @SuppressWarnings("unchecked")
    private static <V> Map<String, V> map(Object o) {
        return (Map<String, V>) o;
    }

    private static boolean dockerComposeAnswers() {
        try {
            Process version = new ProcessBuilder("docker", "compose", "version").redirectErrorStream(true).start();
            version.getInputStream().readAllBytes();
            return version.waitFor(30, TimeUnit.SECONDS) && version.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
