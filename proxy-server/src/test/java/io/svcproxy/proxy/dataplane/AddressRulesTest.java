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
        for (AddressKind kind : List.of(AddressKind.CLUSTER, AddressKind.NODE, AddressKind.EXTERNAL)) {
            AddressRules.Decision d = AddressRules.decide(port, kind, ip("127.0.22.1"), s);
            assertThat(d.refused()).as(kind.label()).isFalse();
            assertThat(d.eligible()).as("Cluster policy: every endpoint").isNull();
        }
        assertThat(port.rejectedCount(Rejection.SOURCE_RANGE)).isEqualTo(1);
    }

    @Test
    void localPolicyNarrowsNodeExternalAndLoadBalancerAddressesToThisNodesEndpoints() throws Exception {
        ServicePort port = port("Local");
        DataPlaneSettings s = node("node-b");
        assertThat(AddressRules.decide(port, AddressKind.CLUSTER, ip("127.0.21.1"), s).eligible()).isNull();
        for (AddressKind kind : List.of(AddressKind.NODE, AddressKind.EXTERNAL, AddressKind.LB)) {
            EligibleEndpoints local = AddressRules.decide(port, kind, ip("127.0.21.1"), s).eligible();
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

    /** A NodePort Service port as the Kubernetes source maps it: these endpoints and traffic policies. */
    private static ServicePort mapped(io.svcproxy.config.TrafficPolicy external,
                                      io.svcproxy.config.TrafficPolicy internal,
                                      io.svcproxy.config.EndpointTarget... endpoints) throws Exception {
        ServicePortSpec base = ServicePorts.resolve(ConfigLoader.parse("services:\n  - name: web\n"
                + "    type: NodePort\n    clusterIP: 127.0.10.1\n    ports: [{port: 80, nodePort: 30080}]\n",
                "svcproxy.yaml")).get(0);
        io.svcproxy.config.ServiceSpec s = base.service();
        io.svcproxy.config.ServiceExposure e = new io.svcproxy.config.ServiceExposure(s.exposure().type(),
                List.of(), List.of(), List.of(), external, internal);
        io.svcproxy.config.ServiceSpec service = new io.svcproxy.config.ServiceSpec(s.name(), s.namespace(),
                s.clusterIP(), s.selector(), s.scheduler(), s.schedulerFlags(), s.sessionAffinity(), s.ports(),
                s.endpoints(), s.maxConnections(), s.maxConnectionsPerClient(), s.healthCheck(), e);
        ServicePortSpec spec = new ServicePortSpec(base.key(), service, base.port(), List.of(endpoints));
        return new ServicePort(spec, BackendSet.of("rr", java.util.Set.of(),
                io.svcproxy.balancer.SessionAffinity.NONE, List.of(), System::nanoTime));
    }

    private static io.svcproxy.config.EndpointTarget endpoint(String ip, boolean ready, String node,
                                                              boolean localOnly) throws Exception {
        return new io.svcproxy.config.EndpointTarget(ip(ip), 80, 1, ready, true, !ready, node, localOnly);
    }

    @Test
    void internalLocalNarrowsTheClusterIpWhileNodeAddressesUseTheClusterPolicy() throws Exception {
        ServicePort port = mapped(io.svcproxy.config.TrafficPolicy.CLUSTER, io.svcproxy.config.TrafficPolicy.LOCAL,
                endpoint("127.0.0.1", true, "node-a", false), endpoint("127.0.0.2", true, "node-b", false));
        assertThat(AddressRules.decide(port, AddressKind.CLUSTER, ip("127.0.21.1"), node("node-b")).eligible()
                .endpoints()).containsExactly("127.0.0.2:80");
        assertThat(AddressRules.decide(port, AddressKind.NODE, ip("127.0.21.1"), node("node-b")).eligible())
                .as("NodePort traffic: every endpoint").isNull();
        assertThat(AddressRules.decide(port, AddressKind.CLUSTER, ip("127.0.21.1"), node("node-z")).rejection())
                .isEqualTo(Rejection.NO_LOCAL_ENDPOINT);
        assertThat(AddressRules.decide(port, AddressKind.NODE, ip("127.0.21.1"), node("node-z")).refused())
                .isFalse();
    }

    @Test
    void anEndpointOnlyTheLocalPolicyTakesIsLeftOutOfClusterPolicyTraffic() throws Exception {
        // node-a's Pod terminates while node-b's is ready: NodePort traffic on node-a goes to node-a's (kube-proxy)
        ServicePort port = mapped(io.svcproxy.config.TrafficPolicy.LOCAL, io.svcproxy.config.TrafficPolicy.CLUSTER,
                endpoint("127.0.0.1", true, "node-a", true), endpoint("127.0.0.2", true, "node-b", false));
        DataPlaneSettings a = node("node-a");
        assertThat(AddressRules.decide(port, AddressKind.NODE, ip("127.0.21.1"), a).eligible().endpoints())
                .containsExactly("127.0.0.1:80");
        assertThat(AddressRules.decide(port, AddressKind.CLUSTER, ip("127.0.21.1"), a).eligible().endpoints())
                .containsExactly("127.0.0.2:80");
    }

    @Test
    void anEndpointThatIsNotReadyIsNoLocalEndpoint() throws Exception {
        // an endpoint kept only to drain (ready false) cannot be picked: with no other, the refusal says why
        ServicePort port = mapped(io.svcproxy.config.TrafficPolicy.LOCAL, io.svcproxy.config.TrafficPolicy.CLUSTER,
                endpoint("127.0.0.1", false, "node-a", false), endpoint("127.0.0.2", true, "node-b", false));
        assertThat(AddressRules.decide(port, AddressKind.NODE, ip("127.0.21.1"), node("node-a")).rejection())
                .isEqualTo(Rejection.NO_LOCAL_ENDPOINT);
    }
}
