package io.svcproxy.proxy.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The leak detection the other tests rely on: it is on, at PARANOID, and a leaked buffer is caught. */
class LeakDetectionTest {
    @Test
    void runsAtParanoidWithTheRecordingDetector() {
        assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
        PooledByteBufAllocator.DEFAULT.directBuffer(8).release(); // makes sure the detector exists
        assertThat(LeakRecorder.installed()).isTrue();
    }

    @Test
    void catchesABufferThatIsNeverReleased() throws Exception {
        leak();
        List<String> leaks = List.of();
        for (int i = 0; i < 50 && leaks.isEmpty(); i++) {
            System.gc();
            Thread.sleep(20);
            PooledByteBufAllocator.DEFAULT.directBuffer(8).release(); // the detector polls when it tracks
            leaks = LeakRecorder.drain();
        }
        assertThat(leaks).isNotEmpty().allSatisfy(l -> assertThat(l).startsWith("LEAK: ByteBuf.release()"));
        assertThat(LogGuard.drain()).as("Netty's own report of the leak, provoked here on purpose").isNotEmpty();
    }

    private static void leak() {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        buf.writeInt(42);
        // dropped without release()
    }
}
