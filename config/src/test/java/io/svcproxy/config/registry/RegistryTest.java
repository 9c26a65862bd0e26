package io.svcproxy.config.registry;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.config.ServiceType;
import io.svcproxy.config.TrafficPolicy;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The registry's merge of the config file and the Kubernetes API. */
class RegistryTest {
    /** The Service ports of {@code yaml} as the Kubernetes source would give them. */
    static List<ServicePortSpec> fromApi(String yaml) throws Exception {
        return ServicePorts.resolve(ConfigLoader.parse(yaml, "api.yaml"));
    }

    /** The Service ports of each Service given alone (the API server allows what one config file refuses). */
    static List<ServicePortSpec> eachFromApi(String... services) throws Exception {
        List<ServicePortSpec> all = new java.util.ArrayList<>();
        for (String s : services) {
            all.addAll(fromApi("services:\n" + s));
        }
        return all;
    }

    static String service(String clusterIP, int port, String endpointIp) {
        return "services:\n  - name: web\n    clusterIP: " + clusterIP + "\n    ports: [{port: " + port + "}]\n"
                + "    endpoints: [{ip: " + endpointIp + "}]\n";
    }

    /** Records the WARN lines of the registry package while {@code body} runs. */
    static List<String> warnings(ThrowingRunnable body) throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(Registry.class.getPackageName());
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            body.run();
        } finally {
            logger.detachAppender(appender);
        }
        return appender.list.stream().filter(e -> e.getLevel() == Level.WARN)
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void aKubernetesServicePortAtTheAddressOfAnOwnListenerIsLeftOutAndSaidOnceOneAtItsPortOnEveryAddressStays()
            throws Exception {
        // the admin server listens at 127.0.0.1:42818: a Service there could not be bound, nor be told apart. The
        // Ingress listens on every address at 42817: a Service port there listens at its own address beside it and
        // takes the connections to it (it was left out, and the Ingress's backends on it answered 503)
        ProxyConfig file = ConfigLoader.parse("proxy: {admin: 127.0.0.1:42818, ingress: {http: 0.0.0.0:42817}}\n"
                + "services: []\n", "svcproxy.yaml");
        AtomicReference<DesiredState> published = new AtomicReference<>();
        Registry registry = new Registry(true, published::set);
        registry.setConfig(file);
        List<String> warned = warnings(() -> {
            registry.setKubernetes(fromApi(service("127.0.10.76", 42817, "127.0.0.51")
                    + "  - name: admin\n    clusterIP: 127.0.0.1\n    ports: [{port: 42818}]\n"
                    + "    endpoints: [{ip: 127.0.0.52}]\n"
                    + "  - name: other\n    clusterIP: 127.0.10.77\n    ports: [{port: 42819}]\n"
                    + "    endpoints: [{ip: 127.0.0.53}]\n"), true);
            for (String ip : List.of("127.0.0.54", "127.0.0.55", "127.0.0.56")) { // the admin one's endpoints change
                registry.setKubernetes(fromApi(service("127.0.10.76", 42817, "127.0.0.51")
                        + "  - name: admin\n    clusterIP: 127.0.0.1\n    ports: [{port: 42818}]\n"
                        + "    endpoints: [{ip: " + ip + "}]\n"
                        + "  - name: other\n    clusterIP: 127.0.10.77\n    ports: [{port: 42819}]\n"
                        + "    endpoints: [{ip: 127.0.0.53}]\n"), true);
            }
        });
        assertThat(published.get().servicePorts()).extracting(p -> p.key().toString())
                .containsExactly("127.0.10.76:42817/TCP", "127.0.10.77:42819/TCP");
        assertThat(warned).containsExactly(
                "Kubernetes service port ignored: svcproxy's own listener is bound at its address "
                        + "service=default/admin address=127.0.0.1:42818/TCP listener=proxy.admin 127.0.0.1:42818");
        registry.setKubernetes(fromApi(service("127.0.0.1", 42818, "127.0.0.51").replace("{port: 42818}",
                "{port: 42818, protocol: UDP}")), true);
        assertThat(published.get().servicePorts()).as("a UDP port there: the TCP listener does not take it")
                .singleElement().satisfies(p -> assertThat(p.key().toString()).isEqualTo("127.0.0.1:42818/UDP"));
    }

    static String external(String name, String clusterIP, String externalIP, String endpointIp) {
        return "  - name: " + name + "\n    clusterIP: " + clusterIP + "\n    externalIPs: [" + externalIP + "]\n"
                + "    ports: [{name: http, port: 42002}]\n    endpoints: [{ip: " + endpointIp + "}]\n";
    }

    static List<String> externalIPs(DesiredState state, String service) {
        return state.servicePorts().stream().filter(p -> p.service().name().equals(service))
                .flatMap(p -> p.service().exposure().externalIPs().stream()).map(ip -> ip.getHostAddress()).toList();
    }

    /**
     * The Services are synced once their source has listed, whatever the Ingresses' source says: a refused Ingress
     * kind (RBAC on Secrets) held every health check node port at "serviceProxyHealthy": false, so cloud load
     * balancers took the node out of every Local Service (From helper-130's review); /readyz still waits for both.
     */
    @Test
    void theServicesAreSyncedWithoutTheIngressesSource() throws Exception {
        AtomicReference<DesiredState> published = new AtomicReference<>();
        Registry registry = new Registry(true, published::set);
        registry.expectKubernetesIngresses();
        registry.setConfig(ConfigLoader.parse("proxy: {admin: off}\nservices: []\n", "svcproxy.yaml"));
        assertThat(published.get().servicesSynced()).isFalse();
        registry.setKubernetes(fromApi(service("127.0.10.71", 42001, "127.0.0.50")), true);
        assertThat(published.get().servicesSynced()).isTrue();
        assertThat(published.get().synced()).as("the Ingresses' source has not listed").isFalse();
        registry.setKubernetesIngresses(List.of(), true);
        assertThat(published.get().synced()).isTrue();
    }

    @Test
    void anExternalIpTwoKubernetesServicesListGoesToTheFirstByNameAndTheOtherIsSaidOnce() throws Exception {
        AtomicReference<DesiredState> published = new AtomicReference<>();
        Registry registry = new Registry(true, published::set);
        registry.setConfig(ConfigLoader.parse("proxy: {admin: off}\nservices: []\n", "svcproxy.yaml"));
        List<String> warned = warnings(() -> {
            for (String ip : List.of("127.0.0.51", "127.0.0.52", "127.0.0.53")) { // b's endpoints change
                registry.setKubernetes(eachFromApi(external("b", "127.0.10.72", "127.0.10.73", ip),
                        external("a", "127.0.10.71", "127.0.10.73", "127.0.0.50")), true);
            }
        });
        assertThat(externalIPs(published.get(), "a")).containsExactly("127.0.10.73");
        assertThat(externalIPs(published.get(), "b")).as("listed by a first").isEmpty();
        assertThat(published.get().servicePorts()).filteredOn(p -> p.service().name().equals("b")).singleElement()
                .satisfies(p -> assertThat(p.endpoints().get(0).ip().getHostAddress()).isEqualTo("127.0.0.53"));
        assertThat(warned).containsExactly("Kubernetes service address ignored: another listener takes it "
                + "service=default/b address=127.0.10.73:42002/TCP holder=default/a");

        warned = warnings(() -> registry.setKubernetes(fromApi("services:\n"
                + external("b", "127.0.10.72", "127.0.10.73", "127.0.0.53")), true)); // a is deleted
        assertThat(externalIPs(published.get(), "b")).containsExactly("127.0.10.73");
        assertThat(warned).isEmpty();
    }

    @Test
    void anExternalIpAtAClusterIpOrAnOwnListenerIsLeftOutOfItsService() throws Exception {
        AtomicReference<DesiredState> published = new AtomicReference<>();
        Registry registry = new Registry(true, published::set);
        registry.setConfig(ConfigLoader.parse("proxy: {admin: 0.0.0.0:42003, ingress: {http: 127.0.10.76:42002}}\n"
                + "services: []\n", "svcproxy.yaml"));
        registry.setKubernetes(eachFromApi(external("a", "127.0.10.71", "127.0.10.73", "127.0.0.50")
                .replace("{name: http, port: 42002}", "{name: http, port: 42003}"),
                external("c", "127.0.10.74", "127.0.10.71", "127.0.0.51")
                .replace("{name: http, port: 42002}", "{name: http, port: 42003}"),
                external("d", "127.0.10.75", "127.0.10.76", "127.0.0.52"),
                external("e", "127.0.10.77", "127.0.10.78", "127.0.0.53")
                .replace("{name: http, port: 42002}", "{name: http, port: 42003}")), true);
        assertThat(externalIPs(published.get(), "a")).containsExactly("127.0.10.73");
        assertThat(externalIPs(published.get(), "c")).as("a's clusterIP and port").isEmpty();
        assertThat(externalIPs(published.get(), "d")).as("the Ingress's address and port").isEmpty();
        assertThat(externalIPs(published.get(), "e")).as("at the port of the admin server on every address")
                .containsExactly("127.0.10.78");
        assertThat(published.get().servicePorts()).extracting(p -> p.service().name())
                .containsExactly("a", "c", "d", "e");
    }

    /**
     * A NodePort Service from the API whose node port an own listener on every address has keeps it: its node
     * addresses' listeners take the connections to those addresses, as kube-proxy's rules do (it was left out).
     */
    @Test
    void aNodePortAtThePortOfAnOwnListenerOnEveryAddressStays() throws Exception {
        AtomicReference<DesiredState> published = new AtomicReference<>();
        Registry registry = new Registry(true, published::set);
        registry.setConfig(ConfigLoader.parse("proxy: {admin: off, ingress: {http: 0.0.0.0:30080}}\nservices: []\n",
                "svcproxy.yaml"));
        String nodePorts = "  - name: web\n    type: NodePort\n    clusterIP: 127.0.10.78\n"
                + "    ports: [{name: a, port: 80, nodePort: 30080}, {name: b, port: 81, nodePort: 30081}]\n"
                + "    endpoints: [{ip: %s}]\n";
        List<String> warned = warnings(() -> {
            for (String ip : List.of("127.0.0.51", "127.0.0.52")) {
                registry.setKubernetes(eachFromApi(nodePorts.formatted(ip)), true);
            }
        });
        assertThat(published.get().servicePorts()).extracting(p -> p.port().name() + "=" + p.port().nodePort())
                .containsExactly("a=30080", "b=30081");
        assertThat(published.get().servicePorts().get(0).endpoints().get(0).ip().getHostAddress())
                .isEqualTo("127.0.0.52");
        assertThat(warned).isEmpty();
    }

    @Test
    void aKubernetesServicePortTheConfigFileServesIsSaidOnceNotAtEveryEndpointChange() throws Exception {
        ProxyConfig file = ConfigLoader.parse("proxy: {admin: off}\n" + service("127.0.10.74", 42004, "127.0.0.50"),
                "svcproxy.yaml");
        AtomicReference<DesiredState> published = new AtomicReference<>();
        Registry registry = new Registry(true, published::set);
        registry.setConfig(file);
        List<String> warned = warnings(() -> {
            for (String ip : List.of("127.0.0.51", "127.0.0.52", "127.0.0.53", "127.0.0.54")) {
                registry.setKubernetes(fromApi(service("127.0.10.74", 42004, ip)), true);
            }
            registry.setConfig(ConfigLoader.parse("proxy: {admin: off, scheduler: wlc}\n"
                    + service("127.0.10.74", 42004, "127.0.0.50"), "svcproxy.yaml")); // a reload, still serving it
        });
        assertThat(warned).containsExactly("Kubernetes service port ignored: the config file serves its address "
                + "service=default/web address=127.0.10.74:42004/TCP");
        assertThat(published.get().servicePorts()).singleElement().satisfies(p ->
                assertThat(p.endpoints().get(0).ip().getHostAddress()).isEqualTo("127.0.0.50"));

        warned = warnings(() -> { // the config file lets it go, then takes it again: said again
            registry.setConfig(ConfigLoader.parse("proxy: {admin: off}\nservices: []\n", "svcproxy.yaml"));
            registry.setConfig(file);
        });
        assertThat(warned).hasSize(1);
    }

    @Test
    void aKubernetesServiceWithoutASchedulerTakesTheDefaultAndKeepsEverythingElse() throws Exception {
        ProxyConfig file = ConfigLoader.parse("proxy: {scheduler: wlc}\nservices: []\n", "svcproxy.yaml");
        ProxyConfig shape = ConfigLoader.parse("proxy: {nodeAddresses: [127.0.20.1]}\nservices:\n  - name: web\n"
                + "    type: LoadBalancer\n    clusterIP: 127.0.10.1\n    externalIPs: [127.0.30.1]\n"
                + "    loadBalancerIPs: [127.0.31.1]\n    externalTrafficPolicy: Local\n"
                + "    ports: [{port: 80, nodePort: 30080}]\n    endpoints: [{ip: 127.0.0.1}]\n", "shape.yaml");
        ServicePortSpec fromApi = ServicePorts.resolve(shape).get(0);
        ServiceSpec s = fromApi.service();
        ServiceSpec unnamed = new ServiceSpec(s.name(), s.namespace(), s.clusterIP(), s.selector(), null,
                s.schedulerFlags(), s.sessionAffinity(), s.ports(), s.endpoints(), s.maxConnections(),
                s.maxConnectionsPerClient(), s.healthCheck(), s.exposure());
        AtomicReference<DesiredState> published = new AtomicReference<>();
        Registry registry = new Registry(true, published::set);
        registry.setConfig(file);
        registry.setKubernetes(List.of(new ServicePortSpec(fromApi.key(), unnamed, fromApi.port(),
                fromApi.endpoints())), true);

        ServiceSpec merged = published.get().servicePorts().get(0).service();
        assertThat(merged.scheduler()).isEqualTo("wlc");
        assertThat(merged.exposure()).isEqualTo(s.exposure());
        assertThat(merged.exposure().type()).isEqualTo(ServiceType.LOAD_BALANCER);
        assertThat(merged.exposure().externalTrafficPolicy()).isEqualTo(TrafficPolicy.LOCAL);
        assertThat(merged.withScheduler(null)).isEqualTo(unnamed);
    }
}
