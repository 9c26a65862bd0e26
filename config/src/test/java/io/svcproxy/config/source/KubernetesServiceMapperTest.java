package io.svcproxy.config.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.ForNode;
import io.fabric8.kubernetes.api.model.discovery.v1.ForZone;
import io.svcproxy.balancer.SchedulerFlag;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.Cidr;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceType;
import io.svcproxy.config.TargetPort;
import io.svcproxy.config.TrafficPolicy;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KubernetesServiceMapperTest {
    private static final KubernetesSettings SETTINGS = new KubernetesSettings(null, List.of());

    private final KubernetesServiceMapper mapper = new KubernetesServiceMapper(SETTINGS, "node-a", "zone-a");

    // ------------------------------------------------------------------ which Services

    @Test
    void mapsAClusterIpServiceToOneEntryPerPort() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").withClusterIPs("127.0.10.10")
                .addNewPort().withName("http").withPort(80).withTargetPort(new IntOrString(8080)).endPort()
                .addNewPort().withName("admin").withPort(81).withTargetPort(new IntOrString("admin")).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("http", 8080, "admin", 9090),
                ep("127.0.1.2"), ep("127.0.1.1"));

        List<ServicePortSpec> out = mapper.map(svc, List.of(slice));

        assertThat(out).hasSize(2);
        ServicePortSpec http = out.get(0);
        assertThat(http.key().toString()).isEqualTo("127.0.10.10:80/TCP");
        assertThat(http.port()).isEqualTo(new PortSpec("http", Protocol.TCP, 80, TargetPort.of(8080)));
        assertThat(http.service().name()).isEqualTo("web");
        assertThat(http.service().namespace()).isEqualTo("default");
        assertThat(http.service().selector()).isNull();
        assertThat(http.service().scheduler()).isNull();
        assertThat(http.service().sessionAffinity()).isEqualTo(SessionAffinity.NONE);
        assertThat(http.endpoints()).containsExactly(ready("127.0.1.1", 8080), ready("127.0.1.2", 8080));
        ServicePortSpec admin = out.get(1);
        assertThat(admin.port().targetPort()).isEqualTo(TargetPort.named("admin"));
        assertThat(admin.endpoints()).containsExactly(ready("127.0.1.1", 9090), ready("127.0.1.2", 9090));
    }

    @Test
    void skipsHeadlessServices() {
        Service svc = service("db").withNewSpec().withClusterIP("None").withClusterIPs("None")
                .addNewPort().withPort(5432).endPort().endSpec().build();
        assertThat(mapper.map(svc, List.of())).isEmpty();
    }

    @Test
    void skipsServicesWithoutClusterIp() {
        Service svc = service("db").withNewSpec().addNewPort().withPort(5432).endPort().endSpec().build();
        assertThat(mapper.map(svc, List.of())).isEmpty();
    }

    @Test
    void skipsExternalNameServices() {
        Service svc = service("ext").withNewSpec().withType("ExternalName").withExternalName("example.com")
                .withClusterIP("127.0.10.11").addNewPort().withPort(80).endPort().endSpec().build();
        assertThat(mapper.map(svc, List.of())).isEmpty();
    }

    @Test
    void mapsNodePortAndLoadBalancerServicesOnTheirClusterIp() {
        Service np = service("np").withNewSpec().withType("NodePort").withClusterIP("127.0.10.12")
                .addNewPort().withPort(80).withNodePort(30080).endPort().endSpec().build();
        Service lb = service("lb").withNewSpec().withType("LoadBalancer").withClusterIP("127.0.10.13")
                .addNewPort().withPort(80).endPort().endSpec().build();
        assertThat(mapper.map(np, List.of())).singleElement()
                .satisfies(s -> assertThat(s.key().toString()).isEqualTo("127.0.10.12:80/TCP"));
        assertThat(mapper.map(lb, List.of())).singleElement()
                .satisfies(s -> assertThat(s.key().toString()).isEqualTo("127.0.10.13:80/TCP"));
    }

    @Test
    void mapsTheServiceTypeNodePortsExternalAndLoadBalancerAddressesRangesAndPolicy() {
        Service lb = service("lb").withNewSpec().withType("LoadBalancer").withClusterIP("127.0.10.13")
                .withExternalIPs("192.0.2.10", "bad", "192.0.2.10").withLoadBalancerSourceRanges("203.0.113.0/24",
                        "127.0.0.1/8").withExternalTrafficPolicy("Local").withHealthCheckNodePort(30099)
                .addNewPort().withPort(80).withNodePort(30080).endPort().endSpec()
                .withNewStatus().withNewLoadBalancer().addNewIngress().withIp("198.51.100.7").endIngress()
                .addNewIngress().withHostname("lb.example.com").endIngress().endLoadBalancer().endStatus().build();
        EndpointSlice slice = slice("lb-1", "lb", "IPv4", Map.of("", 80),
                onNode(ep("127.0.1.1"), "node-a"), onNode(ep("127.0.1.2"), "node-b"), ep("127.0.1.3"));

        ServicePortSpec out = mapper.map(lb, List.of(slice)).get(0);

        ServiceExposure e = out.service().exposure();
        assertThat(e.type()).isEqualTo(ServiceType.LOAD_BALANCER);
        assertThat(e.externalIPs()).containsExactly(Addresses.parseIp("192.0.2.10"));
        assertThat(e.loadBalancerIPs()).containsExactly(Addresses.parseIp("198.51.100.7"));
        // a range with host bits set is the network it names, as kube-proxy reads it (the API server only warns)
        assertThat(e.loadBalancerSourceRanges()).containsExactly(Cidr.parse("203.0.113.0/24"),
                Cidr.parse("127.0.0.0/8"));
        assertThat(e.externalTrafficPolicy()).isEqualTo(TrafficPolicy.LOCAL);
        assertThat(e.healthCheckNodePort()).isEqualTo(30099);
        assertThat(out.port().nodePort()).isEqualTo(30080);
        // not served under the Cluster policy, as kube-proxy (the API server allocates it for Local only)
        Service cluster = new io.fabric8.kubernetes.api.model.ServiceBuilder(lb).editSpec()
                .withExternalTrafficPolicy("Cluster").endSpec().build();
        assertThat(mapper.map(cluster, List.of(slice)).get(0).service().exposure().healthCheckNodePort()).isZero();
        // externalTrafficPolicy filters per address in the data plane: the list keeps every endpoint, with its node
        assertThat(out.endpoints()).extracting(EndpointTarget::nodeName).containsExactly("node-a", "node-b", "");
    }

    /** The exposure of a LoadBalancer Service at 198.51.100.7 with {@code loadBalancerSourceRanges} as written. */
    private ServiceExposure loadBalancerWithRanges(String... ranges) {
        Service lb = service("lb").withNewSpec().withType("LoadBalancer").withClusterIP("127.0.10.13")
                .withLoadBalancerSourceRanges(ranges)
                .addNewPort().withPort(80).withNodePort(30080).endPort().endSpec()
                .withNewStatus().withNewLoadBalancer().addNewIngress().withIp("198.51.100.7").endIngress()
                .endLoadBalancer().endStatus().build();
        return mapper.map(lb, List.of()).get(0).service().exposure();
    }

    @Test
    void aSourceRangeWithHostBitsStillClosesTheLoadBalancerToClientsOutsideItsNetwork() {
        ServiceExposure e = loadBalancerWithRanges("192.0.2.7/24", "not-a-range");

        assertThat(e.loadBalancerSourceRanges()).containsExactly(Cidr.parse("192.0.2.0/24"));
        assertThat(e.admitsOnLoadBalancer(Addresses.parseIp("198.51.100.9"))).isFalse();
        assertThat(e.admitsOnLoadBalancer(Addresses.parseIp("192.0.2.200"))).isTrue();
    }

    @Test
    void sourceRangesNoneOfWhichCanBeReadAdmitNoClientNotEveryClient() {
        // (0127.0.21.0/24 is readable: kube-proxy's ParseCIDRSloppy takes it as 127.0.21.0/24; KubeProxyParityTest)
        ServiceExposure e = loadBalancerWithRanges("127.0.21.0/40", "not-a-range");

        assertThat(e.admitsOnLoadBalancer(Addresses.parseIp("127.0.21.1"))).isFalse();
        assertThat(e.admitsOnLoadBalancer(Addresses.parseIp("198.51.100.9"))).isFalse();
        assertThat(e.admitsOnLoadBalancer(Addresses.parseIp("2001:db8::1"))).isFalse();
    }

    @Test
    void aLoadBalancerIngressOfIpModeProxyIsNotServedAsKubeProxyDoes() {
        Service lb = service("lb").withNewSpec().withType("LoadBalancer").withClusterIP("127.0.10.13")
                .addNewPort().withPort(80).withNodePort(30080).endPort().endSpec()
                .withNewStatus().withNewLoadBalancer()
                .addNewIngress().withIp("198.51.100.7").withIpMode("Proxy").endIngress()
                .addNewIngress().withIp("198.51.100.8").withIpMode("VIP").endIngress()
                .addNewIngress().withIp("198.51.100.9").endIngress()
                .endLoadBalancer().endStatus().build();

        ServiceExposure e = mapper.map(lb, List.of()).get(0).service().exposure();

        assertThat(e.loadBalancerIPs()).containsExactly(Addresses.parseIp("198.51.100.8"),
                Addresses.parseIp("198.51.100.9"));
    }

    @Test
    void aClusterIpServiceHasNoNodePortAndNoLoadBalancerAddresses() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").withExternalIPs("192.0.2.11")
                .withLoadBalancerSourceRanges("203.0.113.0/24")
                .addNewPort().withPort(80).withNodePort(30081).endPort().endSpec()
                .withNewStatus().withNewLoadBalancer().addNewIngress().withIp("198.51.100.7").endIngress()
                .endLoadBalancer().endStatus().build();

        ServicePortSpec out = mapper.map(svc, List.of()).get(0);

        assertThat(out.port().nodePort()).isZero();
        assertThat(out.service().exposure()).isEqualTo(new ServiceExposure(ServiceType.CLUSTER_IP,
                List.of(Addresses.parseIp("192.0.2.11")), List.of(), List.of(), TrafficPolicy.CLUSTER));
    }

    @Test
    void mapsUdpPortsBesideTcpAndSkipsSctp() {
        Service svc = service("dns").withNewSpec().withClusterIP("127.0.10.10")
                .addNewPort().withName("dns").withProtocol("UDP").withPort(53).withNewTargetPort(5353).endPort()
                .addNewPort().withName("dns-tcp").withProtocol("TCP").withPort(53).withNewTargetPort(5353).endPort()
                .addNewPort().withName("sctp").withProtocol("SCTP").withPort(99).endPort()
                .endSpec().build();
        EndpointSlice slice = new EndpointSliceBuilder(slice("dns-abc", "dns", "IPv4", Map.of("dns-tcp", 5353),
                ep("127.0.1.5"))).addNewPort().withName("dns").withProtocol("UDP").withPort(5353).endPort().build();
        List<io.svcproxy.config.ServicePortSpec> specs = mapper.map(svc, List.of(slice));
        assertThat(specs).extracting(s -> s.key().toString())
                .containsExactly("127.0.10.10:53/UDP", "127.0.10.10:53/TCP");
        assertThat(specs).allSatisfy(s -> assertThat(s.endpoints()).singleElement()
                .satisfies(e -> assertThat(e.port()).isEqualTo(5353)));
    }

    /**
     * {@code udpResponses} for API Services: a UDP port 53 (DNS) takes 1 without an annotation, so a lookup's flow ends
     * at its answer instead of holding a socket and an ephemeral port for the idle timeout; the annotation
     * {@code svcproxy.io/udp-responses} sets every UDP port's ({@code 0}: wait for the idle timeout); a bad one is
     * warned of and the default kept; TCP ports have none.
     */
    @Test
    void udpResponsesComeFromTheAnnotationElseOneForDns() {
        java.util.function.Function<String, List<Integer>> responses = annotation -> {
            var b = service("dns");
            if (annotation != null) {
                b.editMetadata().addToAnnotations(KubernetesServiceMapper.UDP_RESPONSES_ANNOTATION, annotation)
                        .endMetadata();
            }
            Service svc = b.withNewSpec().withClusterIP("127.0.10.10")
                    .addNewPort().withName("dns").withProtocol("UDP").withPort(53).endPort()
                    .addNewPort().withName("dns-tcp").withProtocol("TCP").withPort(53).endPort()
                    .addNewPort().withName("syslog").withProtocol("UDP").withPort(514).endPort()
                    .endSpec().build();
            return mapper.map(svc, List.of()).stream().map(p -> p.port().udpResponses()).toList();
        };
        assertThat(responses.apply(null)).containsExactly(1, 0, 0);
        assertThat(responses.apply("0")).containsExactly(0, 0, 0);
        assertThat(responses.apply(" 2 ")).containsExactly(2, 0, 2);
        assertThat(responses.apply("many")).containsExactly(1, 0, 0);
    }

    @Test
    void aUdpPortTakesOnlyTheSlicesUdpPortOfItsName() {
        Service svc = service("dns").withNewSpec().withClusterIP("127.0.10.10")
                .addNewPort().withName("dns").withProtocol("UDP").withPort(53).endPort().endSpec().build();
        // the slice has a TCP port named dns only: no endpoint for the UDP Service port
        EndpointSlice slice = slice("dns-abc", "dns", "IPv4", Map.of("dns", 53), ep("127.0.1.5"));
        assertThat(mapper.map(svc, List.of(slice))).singleElement()
                .satisfies(s -> assertThat(s.endpoints()).isEmpty());
    }

    @Test
    void defaultsTheTargetPortToThePort() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        assertThat(mapper.map(svc, List.of()).get(0).port())
                .isEqualTo(new PortSpec("", Protocol.TCP, 80, TargetPort.of(80)));
    }

    @Test
    void listensOnEveryClusterIpWithEndpointsOfItsFamily() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10")
                .withClusterIPs("127.0.10.10", "fd00:10:96::a").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice v4 = slice("web-v4", "web", "IPv4", Map.of("", 8080), ep("127.0.1.1"));
        EndpointSlice v6 = slice("web-v6", "web", "IPv6", Map.of("", 8080), ep("fd00:1::1"));
        EndpointSlice fqdn = slice("web-fqdn", "web", "FQDN", Map.of("", 8080), ep("web.example.com"));

        List<ServicePortSpec> out = mapper.map(svc, List.of(v6, fqdn, v4));

        assertThat(out).hasSize(2);
        assertThat(out.get(0).key().toString()).isEqualTo("127.0.10.10:80/TCP");
        assertThat(out.get(0).service().clusterIP()).isEqualTo(Addresses.parseIp("127.0.10.10"));
        assertThat(out.get(0).endpoints()).containsExactly(ready("127.0.1.1", 8080));
        assertThat(out.get(1).key().clusterIP()).isEqualTo(Addresses.parseIp("fd00:10:96::a"));
        assertThat(out.get(1).key().port()).isEqualTo(80);
        assertThat(out.get(1).endpoints()).containsExactly(ready("fd00:1::1", 8080));
    }

    // ------------------------------------------------------------------ endpoints and their ports

    @Test
    void resolvesPortsBySliceNameWithDifferentNumbersPerSlice() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10")
                .addNewPort().withName("http").withPort(80).withTargetPort(new IntOrString("web")).endPort()
                .endSpec().build();
        // During a rollout the old Pods serve "web" on 8080 and the new ones on 8081.
        EndpointSlice old = slice("web-old", "web", "IPv4", Map.of("http", 8080), ep("127.0.1.1"));
        EndpointSlice fresh = slice("web-new", "web", "IPv4", Map.of("http", 8081), ep("127.0.1.2"));
        EndpointSlice other = slice("web-other", "web", "IPv4", Map.of("metrics", 9090), ep("127.0.1.3"));

        assertThat(mapper.map(svc, List.of(old, fresh, other)).get(0).endpoints())
                .containsExactly(ready("127.0.1.1", 8080), ready("127.0.1.2", 8081));
    }

    @Test
    void ignoresSlicesOfOtherServicesAndNamespaces() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice other = slice("api-1", "api", "IPv4", Map.of("", 80), ep("127.0.1.1"));
        EndpointSlice elsewhere = slice("web-1", "web", "IPv4", Map.of("", 80), ep("127.0.1.2"));
        elsewhere.getMetadata().setNamespace("prod");

        assertThat(mapper.map(svc, List.of(other, elsewhere)).get(0).endpoints()).isEmpty();
    }

    @Test
    void usesTheFirstAddressAndDropsDuplicates() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        Endpoint twoAddresses = new EndpointBuilder().withAddresses("127.0.1.5", "127.0.1.6").build();
        EndpointSlice a = slice("web-a", "web", "IPv4", Map.of("", 80), twoAddresses, ep("127.0.1.1"));
        EndpointSlice b = slice("web-b", "web", "IPv4", Map.of("", 80), ep("127.0.1.1"), ep("not-an-ip"));

        assertThat(mapper.map(svc, List.of(a, b)).get(0).endpoints())
                .containsExactly(ready("127.0.1.1", 80), ready("127.0.1.5", 80));
    }

    @Test
    void anAddressInTwoSlicesIsTheCopyThatIsNotTerminatingAsInKubeProxysCache() {
        // a Pod IP taken by a new Pod (ready, in web-b) while the old Pod that had it terminates (in web-a)
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice a = slice("web-a", "web", "IPv4", Map.of("", 80), conditions("127.0.1.5", false, true, true));
        EndpointSlice b = slice("web-b", "web", "IPv4", Map.of("", 80), ep("127.0.1.5"));
        EndpointSlice c = slice("web-c", "web", "IPv4", Map.of("", 80), ep("127.0.1.6"),
                conditions("127.0.1.6", false, true, true));

        assertThat(mapper.map(svc, List.of(a, b, c)).get(0).endpoints())
                .as("the ready copy wins whichever slice comes first; a later terminating copy does not replace it")
                .containsExactly(ready("127.0.1.5", 80), ready("127.0.1.6", 80));
    }

    @Test
    void treatsMissingConditionsAsKubeProxyDoes() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        Endpoint noConditions = new EndpointBuilder().withAddresses("127.0.1.1").build();
        Endpoint readyNil = new EndpointBuilder().withAddresses("127.0.1.2").withNewConditions().endConditions()
                .build();
        Endpoint notReadyServingNil = conditions("127.0.1.3", false, null, null);
        Endpoint ready = conditions("127.0.1.4", true, null, null);
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80), noConditions, readyNil,
                notReadyServingNil, ready);

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(
                ready("127.0.1.1", 80), ready("127.0.1.2", 80), notReady("127.0.1.3", 80, true),
                ready("127.0.1.4", 80));
    }

    /** A terminating endpoint without {@code serving} is serving (the API, and kube-proxy): the fallback takes it. */
    @Test
    void aTerminatingEndpointWithoutServingIsAServingFallback() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80), conditions("127.0.1.7", false, null, true),
                conditions("127.0.1.8", false, false, true));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(
                target("127.0.1.7", 80, true, true, true),
                target("127.0.1.8", 80, false, false, true));
    }

    @Test
    void listsEndpointsThatAreNotReadyForNoConnection() {
        // listed as the YAML registry lists one (svcproxy_endpoints' not_ready), taking no connection
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80), ep("127.0.1.1"),
                conditions("127.0.1.2", false, false, false));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(ready("127.0.1.1", 80),
                notReady("127.0.1.2", 80, false));
    }

    @Test
    void keepsTerminatingEndpointsToDrainBesideReadyOnes() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80), ep("127.0.1.1"),
                conditions("127.0.1.2", false, true, true), conditions("127.0.1.3", false, false, true));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(
                ready("127.0.1.1", 80),
                target("127.0.1.2", 80, false, true, true),
                target("127.0.1.3", 80, false, false, true));
    }

    @Test
    void fallsBackToServingTerminatingEndpointsWhenNoneIsReady() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                conditions("127.0.1.1", false, true, true), conditions("127.0.1.2", false, false, true),
                conditions("127.0.1.3", false, false, false));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(
                target("127.0.1.1", 80, true, true, true),
                target("127.0.1.2", 80, false, false, true),
                notReady("127.0.1.3", 80, false));
    }

    /**
     * A terminating endpoint its slice calls ready (the EndpointSlice controller's {@code ready: true} for a Service
     * that publishes not-ready addresses) is ready for kube-proxy ({@code IsReady}): taken with the ready ones, and
     * it keeps its ready condition, which a healthCheckNodePort counts; the fallback beside it does not have one.
     */
    @Test
    void aTerminatingEndpointReadyByItsSliceKeepsItsReadyCondition() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80), conditions("127.0.1.1", true, true, true),
                conditions("127.0.1.2", false, true, true));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(
                new EndpointTarget(Addresses.parseIp("127.0.1.1"), 80, 1, true, true, true, "", false, true),
                target("127.0.1.2", 80, false, true, true));
    }

    @Test
    void listsOnlyTheNotReadyWhenNoEndpointIsUsable() {
        // a terminating one is not listed then: the data plane's fallback would take a serving one
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                conditions("127.0.1.2", false, false, true), conditions("127.0.1.3", false, false, false));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints())
                .containsExactly(notReady("127.0.1.3", 80, false));
    }

    // ------------------------------------------------------------------ internalTrafficPolicy

    @Test
    void keepsOnlyThisNodesEndpointsWithLocalPolicy() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").withInternalTrafficPolicy("Local")
                .addNewPort().withPort(80).endPort().endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                onNode(ep("127.0.1.1"), "node-a"), onNode(ep("127.0.1.2"), "node-b"), ep("127.0.1.3"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints())
                .containsExactly(EndpointTarget.ready(Addresses.parseIp("127.0.1.1"), 80, 1, "node-a"),
                        bypassed("127.0.1.2", "node-b"), bypassed("127.0.1.3", ""));
    }

    @Test
    void fallsBackToThisNodesTerminatingEndpointsWithLocalPolicy() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").withInternalTrafficPolicy("Local")
                .addNewPort().withPort(80).endPort().endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                onNode(conditions("127.0.1.1", false, true, true), "node-a"), onNode(ep("127.0.1.2"), "node-b"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints())
                .containsExactly(new EndpointTarget(Addresses.parseIp("127.0.1.1"), 80, 1, true, true, true, "node-a",
                        false, false), bypassed("127.0.1.2", "node-b"));
    }

    @Test
    void hasNoLocalEndpointsWhenTheNodeNameIsUnknown() {
        KubernetesServiceMapper nameless = new KubernetesServiceMapper(SETTINGS, null, null);
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").withInternalTrafficPolicy("Local")
                .addNewPort().withPort(80).endPort().endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80), onNode(ep("127.0.1.1"), "node-a"));

        assertThat(nameless.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(bypassed("127.0.1.1",
                "node-a"));
    }

    @Test
    void internalLocalNarrowsTheClusterIpOnlyExternalTrafficUsesTheClusterPolicy() {
        // kube-proxy: the clusterIP uses the Local endpoints, NodePorts and external IPs the Cluster ones
        Service svc = service("web").withNewSpec().withType("NodePort").withClusterIP("127.0.10.10")
                .withInternalTrafficPolicy("Local").addNewPort().withPort(80).withNodePort(30080).endPort().endSpec()
                .build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                onNode(ep("127.0.1.1"), "node-b"), onNode(ep("127.0.1.2"), "node-c"));

        ServicePortSpec out = mapper.map(svc, List.of(slice)).get(0);

        assertThat(out.service().exposure().internalTrafficPolicy()).isEqualTo(TrafficPolicy.LOCAL);
        assertThat(out.endpoints()).as("no local endpoint on node-a: the clusterIP refuses, the NodePort serves")
                .extracting(EndpointTarget::ready, EndpointTarget::localOnly)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(true, false),
                        org.assertj.core.groups.Tuple.tuple(true, false));
    }

    @Test
    void externalLocalTakesThisNodesTerminatingEndpointWhileOthersAreReadyForItsTrafficOnly() {
        // a rolling update: node-a's Pod terminates (still serving), node-b's is ready
        Service svc = service("web").withNewSpec().withType("NodePort").withClusterIP("127.0.10.10")
                .withExternalTrafficPolicy("Local").addNewPort().withPort(80).withNodePort(30080).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                onNode(conditions("127.0.1.1", false, true, true), "node-a"), onNode(ep("127.0.1.2"), "node-b"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(
                new EndpointTarget(Addresses.parseIp("127.0.1.1"), 80, 1, true, true, true, "node-a", true, false),
                EndpointTarget.ready(Addresses.parseIp("127.0.1.2"), 80, 1, "node-b"));
    }

    @Test
    void externalLocalTakesThisNodesReadyEndpointThatTopologyHintsLeaveOut() {
        // node-a's Pod is hinted for zone-b; the Cluster policy of this zone-a node takes zone-a's Pod only
        Service svc = service("web").withNewSpec().withType("NodePort").withClusterIP("127.0.10.10")
                .withExternalTrafficPolicy("Local").addNewPort().withPort(80).withNodePort(30080).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                zones(onNode(ep("127.0.1.1"), "node-a"), "zone-b"),
                zones(onNode(ep("127.0.1.2"), "node-b"), "zone-a"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(
                new EndpointTarget(Addresses.parseIp("127.0.1.1"), 80, 1, true, true, false, "node-a", true),
                EndpointTarget.ready(Addresses.parseIp("127.0.1.2"), 80, 1, "node-b"));
    }

    // ------------------------------------------------------------------ topology hints

    @Test
    void honoursZoneHintsWhenEveryReadyEndpointHasThem() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").withTrafficDistribution("PreferClose")
                .addNewPort().withPort(80).endPort().endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                zones(ep("127.0.1.1"), "zone-a"), zones(ep("127.0.1.2"), "zone-b"),
                zones(ep("127.0.1.3"), "zone-b", "zone-a"),
                conditions("127.0.1.4", false, false, false)); // not ready: its missing hints do not count

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints())
                .containsExactly(ready("127.0.1.1", 80), bypassed("127.0.1.2", ""), ready("127.0.1.3", 80),
                        notReady("127.0.1.4", 80, false));
    }

    @Test
    void ignoresZoneHintsWhenOneReadyEndpointLacksThem() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                zones(ep("127.0.1.1"), "zone-a"), zones(ep("127.0.1.2"), "zone-b"), ep("127.0.1.3"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints())
                .containsExactly(ready("127.0.1.1", 80), ready("127.0.1.2", 80), ready("127.0.1.3", 80));
    }

    @Test
    void ignoresZoneHintsWhenNoneIsForThisZone() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                zones(ep("127.0.1.1"), "zone-b"), zones(ep("127.0.1.2"), "zone-c"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints())
                .containsExactly(ready("127.0.1.1", 80), ready("127.0.1.2", 80));
    }

    @Test
    void ignoresZoneHintsWhenTheZoneIsUnknown() {
        KubernetesServiceMapper zoneless = new KubernetesServiceMapper(SETTINGS, "node-a", null);
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                zones(ep("127.0.1.1"), "zone-a"), zones(ep("127.0.1.2"), "zone-b"));

        assertThat(zoneless.map(svc, List.of(slice)).get(0).endpoints())
                .containsExactly(ready("127.0.1.1", 80), ready("127.0.1.2", 80));
    }

    @Test
    void prefersNodeHintsOverZoneHints() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10")
                .withTrafficDistribution("PreferSameNode").addNewPort().withPort(80).endPort().endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                nodes(zones(ep("127.0.1.1"), "zone-a"), "node-a"),
                nodes(zones(ep("127.0.1.2"), "zone-a"), "node-b"),
                nodes(zones(ep("127.0.1.3"), "zone-b"), "node-c"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(ready("127.0.1.1", 80),
                bypassed("127.0.1.2", ""), bypassed("127.0.1.3", ""));
    }

    @Test
    void fallsBackToZoneHintsWhenNoNodeHintIsForThisNode() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                nodes(zones(ep("127.0.1.1"), "zone-a"), "node-x"),
                nodes(zones(ep("127.0.1.2"), "zone-a"), "node-b"),
                nodes(zones(ep("127.0.1.3"), "zone-b"), "node-c"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints())
                .containsExactly(ready("127.0.1.1", 80), ready("127.0.1.2", 80), bypassed("127.0.1.3", ""));
    }

    @Test
    void ignoresNodeHintsWhenOneReadyEndpointLacksThem() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                nodes(ep("127.0.1.1"), "node-a"), ep("127.0.1.2"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints())
                .containsExactly(ready("127.0.1.1", 80), ready("127.0.1.2", 80));
    }

    @Test
    void fallsBackToTerminatingEndpointsWithoutTopology() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice slice = slice("web-1", "web", "IPv4", Map.of("", 80),
                zones(conditions("127.0.1.1", false, true, true), "zone-b"),
                zones(conditions("127.0.1.2", false, true, true), "zone-a"));

        assertThat(mapper.map(svc, List.of(slice)).get(0).endpoints()).containsExactly(
                target("127.0.1.1", 80, true, true, true), target("127.0.1.2", 80, true, true, true));
    }

    // ------------------------------------------------------------------ scheduler and affinity

    @Test
    void takesTheSchedulerFromTheYamlBeforeTheAnnotation() {
        KubernetesSettings settings = new KubernetesSettings(null, List.of(), null, null, List.of(
                new KubernetesSettings.ServiceScheduler("default", "web", "sh", Set.of(SchedulerFlag.SH_PORT))));
        KubernetesServiceMapper withYaml = new KubernetesServiceMapper(settings, null, null);
        Service svc = service("web").editMetadata().addToAnnotations("svcproxy.io/scheduler", "lc").endMetadata()
                .withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort().endSpec().build();

        assertThat(withYaml.map(svc, List.of()).get(0).service().scheduler()).isEqualTo("sh");
        assertThat(withYaml.map(svc, List.of()).get(0).service().schedulerFlags())
                .containsExactly(SchedulerFlag.SH_PORT);
    }

    @Test
    void takesTheSchedulerAndFlagsFromTheAnnotations() {
        Service svc = service("web").editMetadata()
                .addToAnnotations("svcproxy.io/scheduler", "mh")
                .addToAnnotations("svcproxy.io/scheduler-flags", "mh-port, mh-fallback,sh-port").endMetadata()
                .withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort().endSpec().build();

        ServicePortSpec out = mapper.map(svc, List.of()).get(0);
        assertThat(out.service().scheduler()).isEqualTo("mh");
        assertThat(out.service().schedulerFlags())
                .containsExactlyInAnyOrder(SchedulerFlag.MH_PORT, SchedulerFlag.MH_FALLBACK);
    }

    @Test
    void usesTheDefaultSchedulerForABadAnnotation() {
        Service svc = service("web").editMetadata().addToAnnotations("svcproxy.io/scheduler", "fifo")
                .addToAnnotations("svcproxy.io/scheduler-flags", "sh-port").endMetadata()
                .withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort().endSpec().build();

        ServicePortSpec out = mapper.map(svc, List.of()).get(0);
        assertThat(out.service().scheduler()).isNull();
        assertThat(out.service().schedulerFlags()).isEmpty();
    }

    @Test
    void leavesTheSchedulerToTheProxyDefaultWithoutYamlOrAnnotation() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").addNewPort().withPort(80).endPort()
                .endSpec().build();
        assertThat(mapper.map(svc, List.of()).get(0).service().scheduler()).isNull();
    }

    @Test
    void defaultsTheClientIpAffinityTimeoutTo10800Seconds() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").withSessionAffinity("ClientIP")
                .addNewPort().withPort(80).endPort().endSpec().build();
        assertThat(mapper.map(svc, List.of()).get(0).service().sessionAffinity())
                .isEqualTo(SessionAffinity.clientIp(Duration.ofSeconds(10800)));
    }

    @Test
    void takesTheClientIpAffinityTimeoutFromTheService() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.10").withSessionAffinity("ClientIP")
                .withNewSessionAffinityConfig().withNewClientIP().withTimeoutSeconds(60).endClientIP()
                .endSessionAffinityConfig().addNewPort().withPort(80).endPort().endSpec().build();
        assertThat(mapper.map(svc, List.of()).get(0).service().sessionAffinity())
                .isEqualTo(SessionAffinity.clientIp(Duration.ofSeconds(60)));
    }

    // ------------------------------------------------------------------ helpers

    private static ServiceBuilder service(String name) {
        return new ServiceBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata();
    }

    static EndpointSlice slice(String name, String service, String addressType, Map<String, Integer> ports,
                               Endpoint... endpoints) {
        EndpointSliceBuilder b = new EndpointSliceBuilder().withNewMetadata().withName(name).withNamespace("default")
                .addToLabels("kubernetes.io/service-name", service).endMetadata()
                .withAddressType(addressType).withEndpoints(Arrays.asList(endpoints));
        ports.forEach((portName, port) -> b.addNewPort().withName(portName.isEmpty() ? null : portName)
                .withProtocol("TCP").withPort(port).endPort());
        return b.build();
    }

    static Endpoint ep(String ip) {
        return new EndpointBuilder().withAddresses(ip).withNewConditions().withReady(true).withServing(true)
                .withTerminating(false).endConditions().build();
    }

    static Endpoint conditions(String ip, Boolean ready, Boolean serving, Boolean terminating) {
        return new EndpointBuilder().withAddresses(ip).withNewConditions().withReady(ready).withServing(serving)
                .withTerminating(terminating).endConditions().build();
    }

    private static Endpoint onNode(Endpoint e, String node) {
        e.setNodeName(node);
        return e;
    }

    private static Endpoint zones(Endpoint e, String... zones) {
        return new EndpointBuilder(e).editOrNewHints()
                .withForZones(Arrays.stream(zones).map(ForZone::new).toList()).endHints().build();
    }

    private static Endpoint nodes(Endpoint e, String... nodes) {
        return new EndpointBuilder(e).editOrNewHints()
                .withForNodes(Arrays.stream(nodes).map(ForNode::new).toList()).endHints().build();
    }

    static EndpointTarget ready(String ip, int port) {
        return EndpointTarget.ready(Addresses.parseIp(ip), port, 1);
    }

    /** A not-ready, not-terminating endpoint as mapped: listed, taking no connection. */
    static EndpointTarget notReady(String ip, int port, boolean serving) {
        return new EndpointTarget(Addresses.parseIp(ip), port, 1, false, serving, false, "", false, false);
    }

    /**
     * A ready endpoint that this node's traffic leaves out (hints, a Local policy): listed so that its connections go
     * on without a drain deadline. Its node is {@code ""} where the test's slices name nodes only in hints.
     */
    private static EndpointTarget bypassed(String ip, String node) {
        return EndpointTarget.bypassed(Addresses.parseIp(ip), 80, true, node);
    }

    /** An endpoint as mapped; a terminating one was not ready by its slice's condition (a fallback, or draining). */
    private static EndpointTarget target(String ip, int port, boolean ready, boolean serving, boolean terminating) {
        return new EndpointTarget(Addresses.parseIp(ip), port, 1, ready, serving, terminating, "", false,
                ready && !terminating);
    }
}
