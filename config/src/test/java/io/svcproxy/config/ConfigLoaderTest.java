package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.SessionAffinity;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading valid configs: defaults, the SPEC example, files that cannot be read, and the summary line. */
class ConfigLoaderTest {
    /** SPEC.md's "Config file" example, verbatim. */
    static final String SPEC_EXAMPLE = """
            proxy:
              scheduler: rr              # default for Services that name none
              admin: 127.0.0.1:9901      # admin HTTP listener; off (or false) disables it
              connectTimeout: 2s         # per attempt to reach one endpoint
              connectAttempts: 3         # distinct endpoints tried for one client connection
              idleTimeout: 1h            # a proxied connection with no bytes either way this long is closed
              drainTimeout: 30s          # how long connections may outlive their endpoint's removal, or shutdown
              vipInterface: ""           # keep every ClusterIP as a /32 (/128) on this interface; needs CAP_NET_ADMIN (below)
            registry:                    # optional watched sources of endpoints, merged with the inline ones
              files: [pods.yaml]         # more YAML files holding `pods:` lists; relative to this file
              kubernetes:                # optional: watch v1 Services and discovery.k8s.io/v1 EndpointSlices
                kubeconfig: ~/.kube/config   # omitted: in-cluster service account
                namespaces: [default]
            services:
              - name: my-service         # DNS-1035 label; unique per namespace
                namespace: default       # default "default"
                clusterIP: 127.0.10.1    # the virtual IP svcproxy binds; IPv4 or IPv6
                selector: {app: MyApp}   # Pods whose labels contain all these pairs are the endpoints
                scheduler: sed           # rr wrr lc wlc sed nq dh sh mh
                schedulerFlags: []       # IPVS flags: sh-fallback, sh-port (sh); mh-fallback, mh-port (mh)
                sessionAffinity: None    # or ClientIP
                sessionAffinityTimeout: 3h   # default 10800s, as in Kubernetes
                ports:
                  - name: http           # required when a Service has more than one port
                    protocol: TCP        # TCP; UDP where supported; anything else is a clear error
                    port: 80             # the port on the clusterIP
                    targetPort: 9376     # a number, or the name of a port of the Pod; default: port
                endpoints:               # only for a Service without selector
                  - ip: 10.0.0.5
                    port: 9376           # default: targetPort (must be a number then); only with one Service port
                    # ports: {http: 9376, metrics: 9090}   # several Service ports: by port name
                    weight: 1            # 0..65535, default 1; 0 = no new connections
            pods:                        # the inline registry
              - name: myapp-1
                namespace: default       # default "default"; a selector matches Pods of its Service's namespace
                ip: 127.0.0.11
                labels: {app: MyApp}
                ready: true              # default true; a Pod that is not ready gets no new connections
                weight: 1                # default 1
                ports: [{name: http, containerPort: 9376}]
            """;

    @Test
    void rejectsTheSpecExampleAsWrittenOnlyForSelectorWithEndpoints(@TempDir Path dir) throws Exception {
        // The example shows every key at once, including both selector and endpoints, which SPEC.md rejects.
        Files.writeString(dir.resolve("svcproxy.yaml"), SPEC_EXAMPLE);
        Files.writeString(dir.resolve("pods.yaml"), "pods: []\n");
        assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("svcproxy.yaml")))
                .isInstanceOf(ConfigException.class)
                .extracting(e -> ((ConfigException) e).errors().stream().map(ConfigError::message).toList())
                .isEqualTo(List.of("endpoints: not allowed with a selector (expected: either selector or endpoints)"));
    }

    @Test
    void loadsTheSpecExampleWithoutItsEndpoints(@TempDir Path dir) throws Exception {
        String yaml = SPEC_EXAMPLE.replace("sessionAffinity: None ", "sessionAffinity: ClientIP ")
                .replaceAll("(?s)    endpoints:.*?weight: 1 [^\\n]*\\n", "");
        Path file = dir.resolve("svcproxy.yaml");
        Files.writeString(file, yaml);
        Files.writeString(dir.resolve("pods.yaml"), """
                pods:
                  - {name: myapp-2, ip: 127.0.0.12, labels: {app: MyApp}, ports: [{name: http, containerPort: 9376}]}
                """);

        ProxyConfig config = ConfigLoader.load(file);

        assertThat(config.source()).isEqualTo(file);
        assertThat(config.proxy()).isEqualTo(ProxySettings.defaults());
        assertThat(config.registry().files()).containsExactly(dir.resolve("pods.yaml"));
        assertThat(config.registry().kubernetes().kubeconfig())
                .isEqualTo(Values.home().resolve(".kube").resolve("config"));
        assertThat(config.registry().kubernetes().namespaces()).containsExactly("default");
        ServiceSpec service = config.services().get(0);
        assertThat(service.qualifiedName()).isEqualTo("default/my-service");
        assertThat(service.clusterIP().getHostAddress()).isEqualTo("127.0.10.1");
        assertThat(service.selector()).isEqualTo(Map.of("app", "MyApp"));
        assertThat(service.scheduler()).isEqualTo("sed");
        assertThat(service.schedulerFlags()).isEmpty();
        assertThat(service.sessionAffinity()).isEqualTo(SessionAffinity.clientIp(Duration.ofHours(3)));
        assertThat(service.ports()).containsExactly(new PortSpec("http", Protocol.TCP, 80, TargetPort.of(9376)));
        assertThat(service.endpoints()).isEmpty();
        assertThat(config.pods()).extracting(PodSpec::name).containsExactly("myapp-1", "myapp-2");
        assertThat(config.pods().get(0).ports())
                .isEqualTo(Map.of("http", new PodSpec.ContainerPort(9376, Protocol.TCP)));
        assertThat(ConfigLoader.summary(config))
                .isEqualTo(file + ": ok: 1 service, 1 port, 2 pods, 1 registry file, kubernetes");
    }

    @Test
    void treatsAnEmptyFileAsAConfigWithNoServices() {
        for (String yaml : List.of("", "\n", "# nothing yet\n", "---\n")) {
            ProxyConfig config = parse(yaml);
            assertThat(config.proxy()).isEqualTo(ProxySettings.defaults());
            assertThat(config.registry()).isEqualTo(RegistrySettings.none());
            assertThat(config.services()).isEmpty();
            assertThat(config.pods()).isEmpty();
        }
    }

    @Test
    void treatsNullSectionsAsAbsent() {
        ProxyConfig config = parse("""
                proxy:
                registry:
                services:
                pods: ~
                """);
        assertThat(config.proxy()).isEqualTo(ProxySettings.defaults());
        assertThat(config.services()).isEmpty();
    }

    @Test
    void appliesDefaults() {
        ProxyConfig config = parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                pods:
                  - {name: web-1, ip: 10.0.0.1}
                """);
        ServiceSpec service = config.services().get(0);
        assertThat(service.namespace()).isEqualTo("default");
        assertThat(service.selector()).isNull();
        assertThat(service.scheduler()).isEqualTo("rr");
        assertThat(service.sessionAffinity()).isEqualTo(SessionAffinity.NONE);
        assertThat(service.ports()).containsExactly(new PortSpec("", Protocol.TCP, 80, TargetPort.of(80)));
        assertThat(config.pods().get(0)).isEqualTo(new PodSpec("web-1", "default",
                Addresses.parseIp("10.0.0.1"), Map.of(), true, 1, Map.of()));
    }

    @Test
    void readsEveryProxySetting() {
        ProxyConfig config = parse("""
                proxy:
                  scheduler: wlc
                  admin: "[::1]:0"
                  connectTimeout: 250ms
                  connectAttempts: 5
                  idleTimeout: 5m
                  drainTimeout: 0
                  vipInterface: svcproxy0
                services:
                  - name: web
                    clusterIP: fd00::10
                    scheduler: mh
                    schedulerFlags: [mh-fallback, mh-port]
                    sessionAffinity: ClientIP
                    ports: [{name: http, port: 80, targetPort: web}]
                """);
        assertThat(config.proxy()).isEqualTo(new ProxySettings("wlc",
                new InetSocketAddress(Addresses.parseIp("::1"), 0), Duration.ofMillis(250), 5,
                Duration.ofMinutes(5), Duration.ZERO, "svcproxy0"));
        ServiceSpec service = config.services().get(0);
        assertThat(service.clusterIP()).isEqualTo(Addresses.parseIp("fd00::10"));
        assertThat(service.schedulerFlags()).isEqualTo(Set.of(SchedulerFlag.MH_FALLBACK, SchedulerFlag.MH_PORT));
        assertThat(service.sessionAffinity()).isEqualTo(SessionAffinity.clientIp(Duration.ofSeconds(10800)));
        assertThat(service.ports().get(0).targetPort()).isEqualTo(TargetPort.named("web"));
    }

    @Test
    void disablesAdminWithOffOrFalse() {
        for (String value : List.of("off", "false", "\"off\"", "Off")) {
            assertThat(parse("proxy:\n  admin: " + value + "\n").proxy().admin()).as(value).isNull();
        }
    }

    @Test
    void servicesWithoutSelectorOrEndpointsAreValid() {
        assertThat(parse("""
                services:
                  - {name: web, clusterIP: 127.0.10.1, ports: [{port: 80}]}
                """).services()).hasSize(1);
    }

    @Test
    void readsLabelValuesOfAnyScalarAsText() {
        ProxyConfig config = parse("""
                pods:
                  - {name: a, ip: 10.0.0.1, labels: {version: 1, canary: yes, app.kubernetes.io/name: web}}
                """);
        assertThat(config.pods().get(0).labels())
                .isEqualTo(Map.of("version", "1", "canary", "yes", "app.kubernetes.io/name", "web"));
    }

    @Test
    void keepsNamedContainerPortsWithTheirProtocol() {
        ProxyConfig config = parse("""
                pods:
                  - name: a
                    ip: 10.0.0.1
                    ports:
                      - {name: http, containerPort: 8080}
                      - {containerPort: 9090}
                      - {name: dns, containerPort: 53, protocol: UDP}
                """);
        assertThat(config.pods().get(0).ports()).isEqualTo(Map.of("http", new PodSpec.ContainerPort(8080,
                Protocol.TCP), "dns", new PodSpec.ContainerPort(53, Protocol.UDP)));
    }

    @Test
    void reportsAMissingFileWithLineZero(@TempDir Path dir) {
        Path file = dir.resolve("missing.yaml");
        assertThatThrownBy(() -> ConfigLoader.load(file))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> {
                    ConfigError error = ((ConfigException) e).errors().get(0);
                    assertThat(((ConfigException) e).errors()).hasSize(1);
                    assertThat(error.line()).isZero();
                    assertThat(error.column()).isZero();
                    assertThat(error).hasToString(file + ": cannot read: no such file");
                });
    }

    @Test
    void reportsAFolderAsUnreadable(@TempDir Path dir) {
        assertThatThrownBy(() -> ConfigLoader.load(dir))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(dir + ": cannot read: ");
    }

    @Test
    void reportsAFileThatIsNotUtf8(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("latin1.yaml");
        Files.write(file, "pods: []\n# caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> ConfigLoader.load(file))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ":2:6: cannot read: not UTF-8 text (byte 0xe9)");
    }

    @Test
    void countsColumnsInCharactersAndNotTheByteOrderMark(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mixed.yaml");
        byte[] head = "\uFEFF# \u00e9t\u00e9 ".getBytes(StandardCharsets.UTF_8); // BOM, then 6 characters
        byte[] bytes = java.util.Arrays.copyOf(head, head.length + 2);
        bytes[head.length] = (byte) 0xff;
        bytes[head.length + 1] = '\n';
        Files.write(file, bytes);
        assertThatThrownBy(() -> ConfigLoader.load(file))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ":1:7: cannot read: not UTF-8 text (byte 0xff)");
    }

    @Test
    void acceptsAByteOrderMark(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bom.yaml");
        Files.write(file, "\uFEFFproxy: {scheduler: lc}\n".getBytes(StandardCharsets.UTF_8));
        assertThat(ConfigLoader.load(file).proxy().scheduler()).isEqualTo("lc");
    }

    @Test
    void printsLineAndColumnOnlyForAPositionInTheFile() {
        assertThat(new ConfigError("a.yaml", 3, 7, "proxy.admin", "admin: x (expected: IP:PORT)"))
                .hasToString("a.yaml:3:7: admin: x (expected: IP:PORT)");
        assertThat(new ConfigError("a.yaml", 0, 0, "", "cannot read: no such file"))
                .hasToString("a.yaml: cannot read: no such file");
    }

    @Test
    void summarisesWithPlurals() {
        ProxyConfig config = parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{name: http, port: 80}, {name: https, port: 443}]
                  - name: api
                    clusterIP: 127.0.10.2
                    ports: [{port: 80}]
                pods:
                  - {name: a, ip: 10.0.0.1}
                """);
        assertThat(ConfigLoader.summary(config)).isEqualTo("svcproxy.yaml: ok: 2 services, 3 ports, 1 pod, "
                + "0 registry files");
    }

    @Test
    void parsesTheSameAsItLoads(@TempDir Path dir) throws Exception {
        String yaml = "services:\n  - {name: web, clusterIP: 127.0.10.1, ports: [{port: 80}]}\n";
        Path file = dir.resolve("c.yaml");
        Files.writeString(file, yaml);
        assertThat(ConfigLoader.load(file)).isEqualTo(ConfigLoader.parse(yaml, file.toString()));
        assertThat(errors("services: 1\n")).hasSize(1);
    }
}
