package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** This node's name for {@code externalTrafficPolicy: Local}: proxy.nodeName, registry.kubernetes.nodeName, $NODE_NAME. */
class DataPlaneSettingsTest {
    private static ProxyConfig config(String yaml) throws Exception {
        return ConfigLoader.parse(yaml + "services: []\n", "test.yaml");
    }

    @Test
    void proxyNodeNameComesFirst() throws Exception {
        ProxyConfig c = config("proxy: {nodeName: node-a}\nregistry: {kubernetes: {nodeName: node-b}}\n");
        assertThat(DataPlaneSettings.of(c, "node-c", List::of).node().nodeName()).isEqualTo("node-a");
    }

    @Test
    void thenTheKubernetesSourcesNodeName() throws Exception {
        ProxyConfig c = config("registry: {kubernetes: {nodeName: node-b}}\n");
        assertThat(DataPlaneSettings.of(c, "node-c", List::of).node().nodeName()).isEqualTo("node-b");
    }

    @Test
    void thenTheEnvironmentsNodeNameElseNone() throws Exception {
        assertThat(DataPlaneSettings.of(config(""), "node-c", List::of).node().nodeName()).isEqualTo("node-c");
        assertThat(DataPlaneSettings.of(config(""), null, List::of).node().nodeName()).isEmpty();
    }

    @Test
    void theNodeAddressesAndRangeAreKept() throws Exception {
        ProxyConfig c = config("proxy: {nodeAddresses: [127.0.20.9], nodePortRange: 31000-31999}\n");
        DataPlaneSettings s = DataPlaneSettings.of(c, null, List::of);
        assertThat(s.node().nodeAddresses()).extracting(a -> a.getHostAddress()).containsExactly("127.0.20.9");
        assertThat(s.node().range()).isEqualTo("31000-31999");
    }

    @Test
    void aCidrStandsForThisHostsAddressesInsideIt() throws Exception {
        ProxyConfig c = config("proxy: {nodeAddresses: [127.0.20.9, 127.0.21.0/24, 'fd00:20::/64']}\n");
        List<InetAddress> host = List.of(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("127.0.21.5"),
                InetAddress.getByName("127.0.20.9"), InetAddress.getByName("fd00:20::5"),
                InetAddress.getByName("fd00:21::5"));
        assertThat(DataPlaneSettings.of(c, null, () -> host).node().nodeAddresses())
                .extracting(InetAddress::getHostAddress)
                .containsExactly("127.0.20.9", "127.0.21.5", "fd00:20:0:0:0:0:0:5");
    }

    @Test
    void theHostsOwnAddressesIncludeLoopback() {
        assertThat(DataPlaneSettings.hostAddresses()).extracting(InetAddress::getHostAddress).contains("127.0.0.1");
    }
}
