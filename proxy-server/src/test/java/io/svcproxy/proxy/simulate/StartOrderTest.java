package io.svcproxy.proxy.simulate;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.sim.Connection;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Start order with ties in file order, in memory and through spilled runs, with the same result. */
class StartOrderTest {
    private static List<Connection> sorted(List<TraceRow> rows, int runSize) throws IOException {
        List<Connection> out = new ArrayList<>();
        try (StartOrder order = new StartOrder(runSize)) {
            for (TraceRow r : rows) {
                order.add(r);
            }
            order.replay(out::add);
        }
        return out;
    }

    @Test
    void spilledRunsMergeToTheSameOrderAsOneRunInMemory() throws IOException {
        Random random = new Random(3);
        List<TraceRow> rows = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            byte[] a = {10, 0, (byte) random.nextInt(256), (byte) random.nextInt(256)};
            rows.add(new TraceRow(random.nextInt(500) * 1000L, InetAddress.getByAddress(a), i % 65536,
                    random.nextInt(1000), null, null, i + 2));
        }
        List<Connection> memory = sorted(rows, Integer.MAX_VALUE);
        List<Connection> spilled = sorted(rows, 64);
        assertThat(spilled).isEqualTo(memory);
        for (int i = 1; i < memory.size(); i++) {
            Connection a = memory.get(i - 1);
            Connection b = memory.get(i);
            assertThat(a.start()).isLessThanOrEqualTo(b.start());
            if (a.start() == b.start()) {
                // ties in file order: clientPort was the row's index
                assertThat(a.clientPort()).isLessThan(b.clientPort());
            }
        }
        assertThat(memory).hasSize(5000);
    }
}
