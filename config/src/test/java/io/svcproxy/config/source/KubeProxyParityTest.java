package io.svcproxy.config.source;

import static io.svcproxy.config.source.KubernetesServiceMapperTest.conditions;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.ep;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.ready;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.slice;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.ServiceExposure;
import io.svcproxy.config.ServicePortSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Unusual but valid Kubernetes objects, mapped as kube-proxy maps them (helper-96's review). Each test names the
 * kube-proxy source it follows.
 */
class KubeProxyParityTest {
    private static final KubernetesSettings SETTINGS = new KubernetesSettings(null, List.of());

    /**
     * A Service of many ports (a slice may carry 20,000, pkg/apis/discovery/validation maxPorts) maps each port to
     * its own slice port: the slices' ports are looked up in an index made once per mapping (they were scanned again
     * per Service port, quadratic: 1.3 s for 20,000 ports on the source's one thread; kube-proxy's
     * endpointslicecache makes one pass). Its speed is measured, not asserted here (no timed assertions).
     */
    @Test
    void aServiceWithManyPortsMapsEachToItsSlicePort() {
        mapManyPorts(20_000, 3);
    }

    private static void mapManyPorts(int n, int endpoints) {
        List<ServicePort> ports = new ArrayList<>();
        List<EndpointPort> slicePorts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ports.add(new ServicePortBuilder().withName("p" + i).withProtocol("TCP").withPort(1000 + i).build());
            slicePorts.add(new EndpointPortBuilder().withName("p" + i).withProtocol("TCP").withPort(1000 + i).build());
        }
        Service svc = new ServiceBuilder().withNewMetadata().withName("media").withNamespace("default").endMetadata()
                .withNewSpec().withClusterIP("127.0.10.1").withClusterIPs("127.0.10.1").withPorts(ports).endSpec()
                .build();
        List<Endpoint> eps = new ArrayList<>();
        for (int i = 0; i < endpoints; i++) {
            eps.add(ep("127.0.0." + (i + 1)));
        }
        EndpointSlice slice = new EndpointSliceBuilder().withNewMetadata().withName("media-1")
                .withNamespace("default").addToLabels("kubernetes.io/service-name", "media").endMetadata()
                .withAddressType("IPv4").withPorts(slicePorts).withEndpoints(eps).build();
        KubernetesServiceMapper mapper = new KubernetesServiceMapper(SETTINGS, "node-a", null);
        List<ServicePortSpec> out = mapper.map(svc, List.of(slice));
        assertThat(out).hasSize(n);
        assertThat(out.get(n - 1).endpoints()).hasSize(endpoints);
        assertThat(out.get(n - 1).endpoints().get(0).port()).isEqualTo(1000 + n - 1);
    }

    /**
     * kube-proxy's node name is nodeutil.GetHostname(--hostname-override) (cmd/kube-proxy/app/server.go), which
     * trims and lower-cases it (pkg/util/node/node.go, GetHostname); EndpointSlice nodeNames are lower case. With
     * $NODE_NAME=Node-A, svcproxy found no local endpoint: an internalTrafficPolicy Local Service refused every
     * client where kube-proxy serves node-a's endpoint.
     */
    @Test
    void theNodeNameFromTheEnvironmentIsTakenAsKubeProxyTakesItsHostname() {
        assertThat(KubernetesSource.nodeNameFromEnvironment(" Node-A\n")).isEqualTo("node-a");
        assertThat(KubernetesSource.nodeNameFromEnvironment("  ")).isNull();
        assertThat(KubernetesSource.nodeNameFromEnvironment(null)).isNull();
    }

    /**
     * kube-proxy parses endpoint addresses and clusterIPs with netutils.ParseIPSloppy (pkg/proxy/
     * endpointslicecache.go addEndpoints: {@code utilnet.ParseIPSloppy(endpoint.Addresses[0]).String()};
     * pkg/proxy/serviceport.go newBaseServiceInfo: {@code netutils.ParseIPSloppy(clusterIP)}), which reads IPv4
     * octets with leading zeros as decimal. The API server accepted such addresses until its strict IP validation
     * (IsValidIPv4Address used ParseIPSloppy), so objects stored before it still hold them. svcproxy's
     * Addresses.parseIp refuses them: the endpoint is dropped (debug log), the clusterIP skipped (no listener).
     */
    @Test
    void legacyIpv4AddressesWithLeadingZerosAreReadAsKubeProxyReadsThem() {
        Service svc = new ServiceBuilder().withNewMetadata().withName("old").withNamespace("default").endMetadata()
                .withNewSpec().withClusterIP("127.0.10.010").addNewPort().withPort(80).endPort().endSpec().build();
        EndpointSlice s = slice("old-1", "old", "IPv4", Map.of("", 80), ep("127.0.0.011"));
        KubernetesServiceMapper mapper = new KubernetesServiceMapper(SETTINGS, "node-a", null);

        List<ServicePortSpec> out = mapper.map(svc, List.of(s));

        assertThat(out).as("ParseIPSloppy(\"127.0.10.010\") = 127.0.10.10").hasSize(1);
        assertThat(out.get(0).key().toString()).isEqualTo("127.0.10.10:80/TCP");
        assertThat(out.get(0).endpoints()).containsExactly(ready("127.0.0.11", 80));
    }

    /**
     * A loadBalancerSourceRange stored before the API's strict validation ({@code 127.0.1.010/32}) is read as
     * kube-proxy's ParseCIDRSloppy reads it (pkg/proxy/util MapCIDRsByIPFamily): it was skipped and, the only one,
     * left the LoadBalancer IPs admitting no client (helper-97's review).
     */
    @Test
    void aLegacySourceRangeWithLeadingZerosIsReadAsKubeProxyReadsIt() {
        Service svc = new ServiceBuilder().withNewMetadata().withName("lb").withNamespace("default").endMetadata()
                .withNewSpec().withType("LoadBalancer").withClusterIP("127.0.10.20").withClusterIPs("127.0.10.20")
                .addNewPort().withPort(80).withNodePort(30080).endPort()
                .withLoadBalancerSourceRanges("127.0.1.010/32").endSpec()
                .withNewStatus().withNewLoadBalancer().addNewIngress().withIp("127.0.10.21").endIngress()
                .endLoadBalancer().endStatus().build();
        EndpointSlice s = slice("lb-1", "lb", "IPv4", Map.of("", 80), ep("127.0.0.11"));
        KubernetesServiceMapper mapper = new KubernetesServiceMapper(new KubernetesSettings(null, List.of()),
                "node-a", null);

        List<ServicePortSpec> out = mapper.map(svc, List.of(s));

        assertThat(out).hasSize(1);
        ServiceExposure exposure = out.get(0).service().exposure();
        assertThat(exposure.loadBalancerIPs()).containsExactly(Addresses.parseIp("127.0.10.21"));
        assertThat(exposure.loadBalancerSourceRanges()).as("ParseCIDRSloppy(\"127.0.1.010/32\") = 127.0.1.10/32")
                .anyMatch(c -> c.contains(Addresses.parseIp("127.0.1.10")));
    }
}
