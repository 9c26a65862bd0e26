package io.svcproxy.config.source;

import static io.svcproxy.config.source.KubernetesServiceMapperTest.conditions;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.ep;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.ready;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.slice;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.ServicePortSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Unusual EndpointSlices and Services that svcproxy maps as kube-proxy does (checked by helper-96 against its
 * sources).
 */
class KubernetesSliceEdgeCasesTest {
    private static final KubernetesSettings SETTINGS = new KubernetesSettings(null, List.of());
    private final KubernetesServiceMapper mapper = new KubernetesServiceMapper(SETTINGS, "node-a", "zone-a");

    private static ServiceBuilder service(String name) {
        return new ServiceBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata();
    }

    @Test
    void theSameAddressAtTwoPortsInTwoSlicesIsTwoEndpoints() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.1").addNewPort().withName("http")
                .withPort(80).endPort().endSpec().build();
        EndpointSlice a = slice("web-a", "web", "IPv4", Map.of("http", 8080), ep("127.0.0.1"));
        EndpointSlice b = slice("web-b", "web", "IPv4", Map.of("http", 8081),
                conditions("127.0.0.1", false, true, true));
        assertThat(mapper.map(svc, List.of(a, b)).get(0).endpoints()).extracting(EndpointTarget::port)
                .containsExactly(8080, 8081);
    }

    @Test
    void aSlicePortOfTheNameButAnotherProtocolGivesNoEndpoint() {
        Service svc = service("dns").withNewSpec().withClusterIP("127.0.10.53").addNewPort().withName("dns")
                .withProtocol("UDP").withPort(53).endPort().endSpec().build();
        EndpointSlice s = slice("dns-1", "dns", "IPv4", Map.of("dns", 5353), ep("127.0.0.53")); // TCP
        assertThat(mapper.map(svc, List.of(s)).get(0).endpoints()).isEmpty();
    }

    @Test
    void aSlicePortWithoutNumberIsIgnored() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.1").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice s = new EndpointSliceBuilder().withNewMetadata().withName("web-1").withNamespace("default")
                .addToLabels("kubernetes.io/service-name", "web").endMetadata().withAddressType("IPv4")
                .addNewPort().withProtocol("TCP").endPort().withEndpoints(ep("127.0.0.1")).build();
        assertThat(mapper.map(svc, List.of(s)).get(0).endpoints()).isEmpty();
    }

    @Test
    void aSelectorlessServiceIsServedFromAHandMadeSlice() {
        Service svc = service("ext").withNewSpec().withClusterIP("127.0.10.2").addNewPort().withPort(5432)
                .endPort().endSpec().build();
        Endpoint noConditions = new EndpointBuilder().withAddresses("127.0.0.5").build();
        EndpointSlice s = slice("ext-hand", "ext", "IPv4", Map.of("", 5432), noConditions);
        assertThat(mapper.map(svc, List.of(s)).get(0).endpoints()).containsExactly(ready("127.0.0.5", 5432));
    }

    @Test
    void anIpv6OnlyServiceTakesOnlyIpv6Slices() {
        Service svc = service("v6").withNewSpec().withClusterIPs("::a").withClusterIP("::a")
                .withIpFamilies("IPv6").addNewPort().withPort(80).endPort().endSpec().build();
        EndpointSlice v4 = slice("v6-4", "v6", "IPv4", Map.of("", 80), ep("127.0.0.1"));
        EndpointSlice v6 = slice("v6-6", "v6", "IPv6", Map.of("", 80), ep("::1"));
        List<ServicePortSpec> out = mapper.map(svc, List.of(v4, v6));
        assertThat(out).singleElement().satisfies(p -> assertThat(p.endpoints()).containsExactly(ready("::1", 80)));
    }

    @Test
    void aServiceWithoutPortsHasNoListener() {
        Service svc = service("none").withNewSpec().withClusterIP("127.0.10.4").endSpec().build();
        assertThat(mapper.map(svc, List.of())).isEmpty();
    }

    @Test
    void anAffinityTimeoutOfZeroIsTheDefault() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.1").withSessionAffinity("ClientIP")
                .withNewSessionAffinityConfig().withNewClientIP().withTimeoutSeconds(0).endClientIP()
                .endSessionAffinityConfig().addNewPort().withPort(80).endPort().endSpec().build();
        assertThat(mapper.map(svc, List.of()).get(0).service().sessionAffinity())
                .isEqualTo(SessionAffinity.clientIp(Duration.ofSeconds(10800)));
    }

    @Test
    void dnsOnTcpAndUdpAtOnePortIsTwoListeners() {
        Service svc = service("kube-dns").withNewSpec().withClusterIP("127.0.10.53")
                .addNewPort().withName("dns").withProtocol("UDP").withPort(53).endPort()
                .addNewPort().withName("dns-tcp").withProtocol("TCP").withPort(53).endPort().endSpec().build();
        EndpointSlice s = new EndpointSliceBuilder().withNewMetadata().withName("kube-dns-1").withNamespace("default")
                .addToLabels("kubernetes.io/service-name", "kube-dns").endMetadata().withAddressType("IPv4")
                .addNewPort().withName("dns").withProtocol("UDP").withPort(5353).endPort()
                .addNewPort().withName("dns-tcp").withProtocol("TCP").withPort(5353).endPort()
                .withEndpoints(ep("127.0.0.53")).build();
        List<ServicePortSpec> out = mapper.map(svc, List.of(s));
        assertThat(out).extracting(p -> p.key().toString()).containsExactly("127.0.10.53:53/UDP", "127.0.10.53:53/TCP");
        assertThat(out).allSatisfy(p -> assertThat(p.endpoints()).containsExactly(ready("127.0.0.53", 5353)));
    }

    @Test
    void emptyForZonesOnOneEndpointTurnsZoneHintsOffForAll() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.1").addNewPort().withPort(80).endPort()
                .endSpec().build();
        Endpoint hinted = new EndpointBuilder(ep("127.0.0.1")).withNewHints().addNewForZone("zone-a").endHints()
                .build();
        Endpoint emptyHints = new EndpointBuilder(ep("127.0.0.2")).withNewHints().withForZones(List.of()).endHints()
                .build();
        EndpointSlice s = slice("web-1", "web", "IPv4", Map.of("", 80), hinted, emptyHints);
        assertThat(mapper.map(svc, List.of(s)).get(0).endpoints()).hasSize(2);
    }

    @Test
    void trafficDistributionAloneChangesNothingWithoutHints() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.1").withTrafficDistribution("PreferClose")
                .addNewPort().withPort(80).endPort().endSpec().build();
        EndpointSlice s = slice("web-1", "web", "IPv4", Map.of("", 80), ep("127.0.0.1"), ep("127.0.0.2"));
        assertThat(mapper.map(svc, List.of(s)).get(0).endpoints()).hasSize(2);
    }

    @Test
    void anIpv4MappedAddressInAnIpv4SliceIsItsIpv4Address() {
        Service svc = service("web").withNewSpec().withClusterIP("127.0.10.1").addNewPort().withPort(80).endPort()
                .endSpec().build();
        EndpointSlice s = slice("web-1", "web", "IPv4", Map.of("", 80), ep("::ffff:127.0.0.9"));
        assertThat(mapper.map(svc, List.of(s)).get(0).endpoints()).containsExactly(ready("127.0.0.9", 80));
    }
}
