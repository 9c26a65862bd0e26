package io.svcproxy.proxy.connlog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** The in-memory ring of a Service port's last ended connections. */
class RecentConnectionsTest {
    private static ConnectionLog.Entry entry(int i) {
        return new ConnectionLog.Entry(i, InetAddress.getLoopbackAddress(), 1000 + i, "shop/web", "80", "127.0.0.201:80", 1, 0, 0, "fin");
    }

    @Test
    void keepsTheLastEntriesOldestFirst() {
        RecentConnections ring = new RecentConnections(3);
        assertThat(ring.snapshot()).isEmpty();
        for (int i = 0; i < 5; i++) {
            ring.add(entry(i));
        }
        assertThat(ring.snapshot()).extracting(ConnectionLog.Entry::clientPort).containsExactly(1002, 1003, 1004);
        assertThat(ring.total()).isEqualTo(5);
        assertThat(ring.capacity()).isEqualTo(3);
    }

    @Test
    void keepsEverythingUntilFull() {
        RecentConnections ring = new RecentConnections(4);
        ring.add(entry(0));
        ring.add(entry(1));
        assertThat(ring.snapshot()).extracting(ConnectionLog.Entry::clientPort).containsExactly(1000, 1001);
    }

    @Test
    void refusesACapacityBelowOne() {
        assertThatThrownBy(() -> new RecentConnections(0)).hasMessage("capacity: 0 (expected: >= 1)");
    }
}
