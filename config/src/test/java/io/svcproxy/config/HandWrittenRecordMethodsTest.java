package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link ServiceKey} and {@link NodeSettings} write their {@code equals} and {@code hashCode} out instead of the
 * record's generated ones (start-up: no invokedynamic linking on the main thread): they must still mean what a
 * record's mean, equal exactly when every component is equal, with equal hashes then.
 */
class HandWrittenRecordMethodsTest {
    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void serviceKeysAreEqualExactlyWhenAddressPortAndProtocolAre() throws Exception {
        ServiceKey key = new ServiceKey(ip("127.0.10.1"), 80, Protocol.TCP);
        ServiceKey same = new ServiceKey(ip("127.0.10.1"), 80, Protocol.TCP);
        assertThat(key).isEqualTo(same).hasSameHashCodeAs(same);
        assertThat(key).isNotEqualTo(new ServiceKey(ip("127.0.10.2"), 80, Protocol.TCP))
                .isNotEqualTo(new ServiceKey(ip("127.0.10.1"), 81, Protocol.TCP))
                .isNotEqualTo(new ServiceKey(ip("127.0.10.1"), 80, Protocol.UDP))
                .isNotEqualTo(null)
                .isNotEqualTo("127.0.10.1:80/TCP");
        // the hash spreads over each component (a map of ports keys by it)
        assertThat(key.hashCode()).isNotEqualTo(new ServiceKey(ip("127.0.10.1"), 81, Protocol.TCP).hashCode())
                .isNotEqualTo(new ServiceKey(ip("127.0.10.1"), 80, Protocol.UDP).hashCode())
                .isNotEqualTo(new ServiceKey(ip("127.0.10.2"), 80, Protocol.TCP).hashCode());
    }

    @Test
    void nodeSettingsAreEqualExactlyWhenEveryComponentIs() throws Exception {
        NodeSettings s = new NodeSettings(List.of(ip("127.0.20.1")), 30000, 32767, "node-a",
                List.of(Cidr.parse("127.0.20.0/24")));
        NodeSettings same = new NodeSettings(List.of(ip("127.0.20.1")), 30000, 32767, "node-a",
                List.of(Cidr.parse("127.0.20.0/24")));
        assertThat(s).isEqualTo(same).hasSameHashCodeAs(same);
        assertThat(s).isNotEqualTo(new NodeSettings(List.of(ip("127.0.20.2")), 30000, 32767, "node-a",
                        List.of(Cidr.parse("127.0.20.0/24"))))
                .isNotEqualTo(new NodeSettings(List.of(ip("127.0.20.1")), 30001, 32767, "node-a",
                        List.of(Cidr.parse("127.0.20.0/24"))))
                .isNotEqualTo(new NodeSettings(List.of(ip("127.0.20.1")), 30000, 32766, "node-a",
                        List.of(Cidr.parse("127.0.20.0/24"))))
                .isNotEqualTo(new NodeSettings(List.of(ip("127.0.20.1")), 30000, 32767, "node-b",
                        List.of(Cidr.parse("127.0.20.0/24"))))
                .isNotEqualTo(new NodeSettings(List.of(ip("127.0.20.1")), 30000, 32767, "node-a",
                        List.of(Cidr.parse("127.0.21.0/24"))))
                .isNotEqualTo(null);
        assertThat(NodeSettings.defaults()).isEqualTo(new NodeSettings(List.of(), 30000, 32767, ""))
                .hasSameHashCodeAs(new NodeSettings(List.of(), 30000, 32767, ""));
    }
}
