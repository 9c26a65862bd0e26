package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Source ranges and the Local traffic policy per kind of address, as TCP connections and UDP flows meet them. */
class AddressRulesTest {
    private static final String ENDPOINTS = "    endpoints: [{ip: 127.0.0.1, nodeName: node-a}, {ip: 127.0.0.2, "
            + "nodeName: node-b}]\n";

    private static ServicePort port(String policy) throws Exception {
        ProxyConfig config = ConfigLoader.parse("services:\n  - name: web\n    type: LoadBalancer\n"
                + "    clusterIP: 127.0.10.1\n    loadBalancerIPs: [127.0.31.1]\n"
                + "    loadBalancerSourceRanges: [127.0.21.0/24, '::1/128']\n    externalTrafficPolicy: " + policy
                + "\n    ports: [{port: 80, nodePort: 30080}]\n" + ENDPOINTS, "svcproxy.yaml");
        ServicePortSpec spec = ServicePorts.resolve(config).get(0);
        return new ServicePort(spec, BackendSet.of("rr", java.util.Set.of(),
                io.svcproxy.balancer.SessionAffinity.NONE, List.of(), System::nanoTime));
    }

    private static DataPlaneSettings node(String nodeName) throws Exception {
        ProxyConfig c = ConfigLoader.parse("proxy: {nodeName: " + nodeName + "}\nservices: []\n", "p.yaml");
        return DataPlaneSettings.of(c, null, List::of);
    }

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    @Test
    void sourceRangesApplyOnTheLoadBalancerIpsOnly() throws Exception {
        ServicePort port = port("Cluster");
        DataPlaneSettings s = node("node-a");
        assertThat(AddressRules.decide(port, AddressKind.LB, ip("127.0.21.200"), s).refused()).isFalse();
        assertThat(AddressRules.decide(port, AddressKind.LB, ip("::1"), s).refused()).isFalse();
        assertThat(AddressRules.decide(port, AddressKind.LB, ip("127.0.22.1"), s).rejection())
                .isEqualTo(Rejection.SOURCE_RANGE);
        assertThat(AddressRules.decide(port, AddressKind.LB, null, s).rejection())
                .as("a channel closed before its address was read").isEqualTo(Rejection.SOURCE_RANGE);
        for (AddressKind kind : List.of(AddressKind.CLUSTER, AddressKind.NODE, AddressKind.EXTERNAL)) {
            AddressRules.Decision d = AddressRules.decide(port, kind, ip("127.0.22.1"), s);
            assertThat(d.refused()).as(kind.label()).isFalse();
            assertThat(d.eligible()).as("Cluster policy: every endpoint").isNull();
        }
        assertThat(port.rejectedCount(Rejection.SOURCE_RANGE)).isEqualTo(2);
    }

    @Test
    void localPolicyNarrowsNodeExternalAndLoadBalancerAddressesToThisNodesEndpoints() throws Exception {
        ServicePort port = port("Local");
        DataPlaneSettings s = node("node-b");
        assertThat(AddressRules.decide(port, AddressKind.CLUSTER, ip("127.0.21.1"), s).eligible()).isNull();
        for (AddressKind kind : List.of(AddressKind.NODE, AddressKind.EXTERNAL, AddressKind.LB)) {
            LocalEndpoints local = AddressRules.decide(port, kind, ip("127.0.21.1"), s).eligible();
            assertThat(local).as(kind.label()).isNotNull();
            assertThat(local.endpoints()).containsExactly("127.0.0.2:80");
        }
        assertThat(AddressRules.decide(port, AddressKind.LB, ip("127.0.22.1"), s).rejection())
                .as("source ranges before the policy").isEqualTo(Rejection.SOURCE_RANGE);

        DataPlaneSettings elsewhere = node("node-z");
        assertThat(AddressRules.decide(port, AddressKind.NODE, ip("127.0.21.1"), elsewhere).rejection())
                .isEqualTo(Rejection.NO_LOCAL_ENDPOINT);
        assertThat(AddressRules.decide(port, AddressKind.CLUSTER, ip("127.0.21.1"), elsewhere).refused()).isFalse();
        assertThat(port.rejectedCount(Rejection.NO_LOCAL_ENDPOINT)).isEqualTo(1);
    }
}
