package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePortSpec;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceAddressesTest {

    private static Map<InetSocketAddress, AddressKind> addresses(String yaml) throws Exception {
        ProxyConfig config = ConfigLoader.parse(yaml, "t.yaml");
        List<ServicePortSpec> ports = io.svcproxy.config.ServicePorts.resolve(config);
        return ServiceAddresses.of(ports.get(0), config.proxy().node());
    }

    private static InetSocketAddress at(String ip, int port) {
        return new InetSocketAddress(ip, port);
    }

    @Test
    void aLoadBalancerServiceListensOnNodeExternalAndLoadBalancerAddressesOnceEachALoadBalancerIpAsLb() throws Exception {
        Map<InetSocketAddress, AddressKind> out = addresses("""
                proxy: {nodeAddresses: [127.0.20.1, 127.0.20.2]}
                services:
                  - name: web
                    type: LoadBalancer
                    clusterIP: 127.0.10.100
                    externalIPs: [127.0.30.1, 127.0.20.1]
                    loadBalancerIPs: [127.0.31.1, 127.0.30.1]
                    ports: [{port: 8080, nodePort: 30080}]
                    endpoints: [{ip: 127.0.40.1}]
                """);
        assertThat(out).containsExactly(Map.entry(at("127.0.20.1", 30080), AddressKind.NODE),
                Map.entry(at("127.0.20.2", 30080), AddressKind.NODE),
                Map.entry(at("127.0.30.1", 8080), AddressKind.LB), // also an externalIP: its source ranges apply
                Map.entry(at("127.0.20.1", 8080), AddressKind.EXTERNAL),
                Map.entry(at("127.0.31.1", 8080), AddressKind.LB));
    }

    @Test
    void aClusterIpServiceHasOnlyItsExternalIpsAndNoNodeAddressesWithoutThem() throws Exception {
        assertThat(addresses("""
                proxy: {nodeAddresses: [127.0.20.1]}
                services:
                  - {name: web, clusterIP: 127.0.10.100, externalIPs: [127.0.10.100, 127.0.30.1],
                     ports: [{port: 8080}], endpoints: [{ip: 127.0.40.1}]}
                """)).containsExactly(Map.entry(at("127.0.30.1", 8080), AddressKind.EXTERNAL));
        assertThat(addresses("""
                services:
                  - {name: web, type: NodePort, clusterIP: 127.0.10.100, ports: [{port: 8080, nodePort: 30080}],
                     endpoints: [{ip: 127.0.40.1}]}
                """)).isEmpty();
    }
    /**
     * Only the clusterIP's family: as kube-proxy's proxier of each family, so the two halves of a dual-stack Service
     * never both bind a node, external or LoadBalancer address (the second bind would fail forever).
     */
    @Test
    void aServicePortServesOnlyTheAddressesOfItsClusterIpsFamily() throws Exception {
        assertThat(addresses("""
                proxy: {nodeAddresses: [127.0.20.1, "::1"]}
                services:
                  - {name: web, type: LoadBalancer, clusterIP: 127.0.10.100, externalIPs: ["::1", 127.0.30.1],
                     loadBalancerIPs: ["::1", 127.0.31.1], ports: [{port: 8080, nodePort: 30080}],
                     endpoints: [{ip: 127.0.40.1}]}
                """)).containsExactly(Map.entry(at("127.0.20.1", 30080), AddressKind.NODE),
                Map.entry(at("127.0.30.1", 8080), AddressKind.EXTERNAL),
                Map.entry(at("127.0.31.1", 8080), AddressKind.LB));
        assertThat(addresses("""
                proxy: {nodeAddresses: [127.0.20.1, "::1"]}
                services:
                  - {name: web, type: NodePort, clusterIP: "::1", externalIPs: [127.0.30.1],
                     ports: [{port: 8080, nodePort: 30080}], endpoints: [{ip: "::1", port: 9}]}
                """)).containsExactly(Map.entry(at("::1", 30080), AddressKind.NODE));
    }
}
