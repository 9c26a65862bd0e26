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

/**
 * loadBalancerSourceRanges against kube-proxy's firewall (pkg/proxy/iptables/proxier.go syncProxyRules, the
 * {@code usesFWChain} block; pkg/proxy/ipvs/proxier.go, KUBE-LOAD-BALANCER-SOURCE-IP; nftables likewise): when a range
 * contains the node's IP ({@code allowFromNode}), clients whose source is a LoadBalancer IP itself are admitted too,
 * since "a request from a node to the VIP will not hit the loadbalancer but will loop back with the source IP set to
 * the VIP". From helper-113's review.
 */
class LoadBalancerSourceRangeFromNodeTest {
    @Test
    void aConnectionFromThisNodeToItsLoadBalancerIpIsAdmittedWhenTheRangesAdmitTheNode() throws Exception {
        ProxyConfig config = ConfigLoader.parse("proxy: {nodeName: node-a, nodeAddresses: [127.0.0.250], "
                + "nodePortRange: 48000-48999}\n"
                + "services:\n  - name: web\n    type: LoadBalancer\n    clusterIP: 127.0.10.250\n"
                + "    loadBalancerIPs: [127.0.10.253]\n    loadBalancerSourceRanges: [127.0.0.0/24]\n"
                + "    ports: [{port: 48130, nodePort: 48131}]\n"
                + "    endpoints: [{ip: 127.0.0.251, port: 48132}]\n", "svcproxy.yaml");
        ServicePortSpec spec = ServicePorts.resolve(config).get(0);
        ServicePort port = new ServicePort(spec, BackendSet.of("rr", java.util.Set.of(),
                io.svcproxy.balancer.SessionAffinity.NONE, List.of(), System::nanoTime));
        DataPlaneSettings settings = DataPlaneSettings.of(config, null, List::of);
        assertThat(settings.node().nodeAddresses()).containsExactly(InetAddress.getByName("127.0.0.250"));

        assertThat(AddressRules.decide(port, AddressKind.LB, InetAddress.getByName("127.0.0.250"), settings)
                .refused()).as("the node's own address is inside the ranges").isFalse();
        assertThat(AddressRules.decide(port, AddressKind.LB, InetAddress.getByName("127.0.1.9"), settings)
                .rejection()).as("outside the ranges").isEqualTo(Rejection.SOURCE_RANGE);
        // a process of this node connecting to the LoadBalancer IP (bound locally, on lo with vipInterface) has that
        // IP as its source: kube-proxy's allowFromNode rule admits it
        assertThat(AddressRules.decide(port, AddressKind.LB, InetAddress.getByName("127.0.10.253"), settings)
                .rejection()).as("kube-proxy: allowFromNode -> -s <lbIP> -j <external chain>").isNull();
    }

    @Test
    void aLoadBalancerIpAsTheSourceIsRefusedWhenNoRangeHoldsTheNode() throws Exception {
        ProxyConfig config = ConfigLoader.parse("proxy: {nodeName: node-a, nodeAddresses: [127.0.0.250], "
                + "nodePortRange: 48000-48999}\n"
                + "services:\n  - name: web\n    type: LoadBalancer\n    clusterIP: 127.0.10.250\n"
                + "    loadBalancerIPs: [127.0.10.253]\n    loadBalancerSourceRanges: [127.0.1.0/24]\n"
                + "    ports: [{port: 48130, nodePort: 48131}]\n"
                + "    endpoints: [{ip: 127.0.0.251, port: 48132}]\n", "svcproxy.yaml");
        ServicePort port = new ServicePort(ServicePorts.resolve(config).get(0), BackendSet.of("rr",
                java.util.Set.of(), io.svcproxy.balancer.SessionAffinity.NONE, List.of(), System::nanoTime));
        DataPlaneSettings settings = DataPlaneSettings.of(config, null, List::of);
        assertThat(AddressRules.decide(port, AddressKind.LB, InetAddress.getByName("127.0.10.253"), settings)
                .rejection()).as("no range holds a node address: no allowFromNode").isEqualTo(Rejection.SOURCE_RANGE);
        assertThat(AddressRules.decide(port, AddressKind.LB, InetAddress.getByName("127.0.1.9"), settings)
                .refused()).isFalse();
    }
}
