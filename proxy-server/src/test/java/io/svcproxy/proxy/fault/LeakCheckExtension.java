package io.svcproxy.proxy.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test, or its class, when Netty's leak detector reported a buffer that was garbage-collected without
 * being released. Registered for every proxy-server test (JUnit's extension auto-detection, see
 * {@code META-INF/services}). After each test it looks at what was reported; after each class it forces garbage
 * collection first, so that leaks of the class surface before the next one starts.
 */
public final class LeakCheckExtension implements AfterEachCallback, AfterAllCallback {
    @Override
    public void afterEach(ExtensionContext context) {
        assertNoLeaks(context.getDisplayName());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        collect();
        assertNoLeaks(context.getDisplayName());
    }

    /** Forces collection and lets the detectors look at what was collected, then fails on any leak. */
    public static void collectAndAssertNoLeaks(String where) {
        collect();
        assertNoLeaks(where);
    }

    private static void assertNoLeaks(String where) {
        List<String> leaks = LeakRecorder.drain();
        assertThat(leaks).as("Netty leak reports after " + where).isEmpty();
    }

    /**
     * Runs the collector a few times; the detectors only look at their reference queue when a new resource is
     * tracked, so each round also allocates (and releases) buffers of both kinds.
     */
    private static void collect() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            System.runFinalization();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            for (int k = 0; k < 4; k++) {
                ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(16);
                a.release();
                ByteBuf b = PooledByteBufAllocator.DEFAULT.heapBuffer(16);
                b.release();
                ByteBuf c = UnpooledByteBufAllocator.DEFAULT.directBuffer(16);
                c.release();
            }
        }
    }
}
