package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendState;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The memory of refused clients alone: once, for a while, and bounded (forged sources); time is injected. */
class RefusedClientsTest {
    final BackendState a = BackendState.of(FlowTableTest.ip("127.0.0.124"), 53, 1);
    final InetSocketAddress client = new InetSocketAddress("127.0.122.20", 40000);

    @Test
    void aClientsNextFlowAvoidsTheEndpointThatRefusedItOnce() {
        RefusedClients refused = new RefusedClients();
        refused.add(client, a, 0, 30);
        assertThat(refused.take(new InetSocketAddress("127.0.122.20", 40001), 1)).as("another port").isNull();
        assertThat(refused.take(client, 1)).isSameAs(a);
        assertThat(refused.take(client, 2)).as("the flow after the retry is a first one").isNull();
    }

    @Test
    void aRefusalIsForgottenAfterItsTime() {
        RefusedClients refused = new RefusedClients();
        refused.add(client, a, 0, 30);
        assertThat(refused.take(client, 30)).isNull();
        refused.add(client, a, 0, 30);
        refused.add(new InetSocketAddress("127.0.122.21", 40000), a, 40, 70);
        assertThat(refused.size()).as("the expired one went as a later one came").isEqualTo(1);
    }

    @Test
    void forgedClientsAreRememberedUpToTheBoundTheOldestForgottenFirst() throws Exception {
        RefusedClients refused = new RefusedClients();
        refused.add(client, a, 0, Long.MAX_VALUE);
        for (int k = 0; k < 3 * RefusedClients.MAX; k++) {
            byte[] ip = {10, (byte) (k >>> 16), (byte) (k >>> 8), (byte) k};
            refused.add(new InetSocketAddress(InetAddress.getByAddress(ip), 53), a, 1, Long.MAX_VALUE);
        }
        assertThat(refused.size()).isEqualTo(RefusedClients.MAX);
        assertThat(refused.take(client, 2)).as("the first remembered, pushed out").isNull();
    }
}
