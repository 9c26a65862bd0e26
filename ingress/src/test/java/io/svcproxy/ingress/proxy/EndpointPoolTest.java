package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The per-event-loop pool of kept-alive endpoint connections, on EmbeddedChannels with a test clock. */
class EndpointPoolTest {
    private static final InetSocketAddress A = new InetSocketAddress("127.0.0.195", 80);
    private static final InetSocketAddress B = new InetSocketAddress("127.0.0.196", 80);

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final EndpointPool pool = new EndpointPool(2, now::get);

    @Test
    void givesTheMostRecentlyUsedConnectionOfTheEndpointFirst() {
        EmbeddedChannel first = new EmbeddedChannel();
        EmbeddedChannel second = new EmbeddedChannel();
        pool.release(A, first);
        pool.release(A, second);
        assertThat(pool.acquire(B)).isNull();
        assertThat(pool.acquire(A)).isSameAs(second);
        assertThat(pool.acquire(A)).isSameAs(first);
        assertThat(pool.acquire(A)).isNull();
    }

    @Test
    void closesConnectionsBeyondTheEndpointsRoomAndSkipsClosedOnes() {
        EmbeddedChannel[] chs = {new EmbeddedChannel(), new EmbeddedChannel(), new EmbeddedChannel()};
        for (EmbeddedChannel ch : chs) {
            pool.release(A, ch);
        }
        assertThat(chs[2].isOpen()).isFalse(); // a third idle one does not fit
        chs[1].close();
        assertThat(pool.acquire(A)).isSameAs(chs[0]);
    }

    @Test
    void closesConnectionsIdleForLongerThanAMinuteOnTheNextSweep() {
        EmbeddedChannel old = new EmbeddedChannel();
        EmbeddedChannel gone = new EmbeddedChannel();
        pool.release(A, old);
        pool.release(B, gone); // B, say, left the Service: nothing picks it again
        now.addAndGet(TimeUnit.SECONDS.toNanos(50));
        EmbeddedChannel fresh = new EmbeddedChannel();
        pool.release(A, fresh); // a sweep: nothing idle for a minute yet
        assertThat(pool.idleCount()).isEqualTo(3);
        now.addAndGet(TimeUnit.SECONDS.toNanos(15));
        pool.release(A, pool.acquire(A)); // fresh again, and a sweep: old and gone are 65 s idle
        assertThat(old.isOpen()).isFalse();
        assertThat(gone.isOpen()).isFalse();
        assertThat(fresh.isOpen()).isTrue();
        assertThat(pool.idleCount()).isEqualTo(1);
        assertThat(pool.acquire(B)).isNull();
    }
}
