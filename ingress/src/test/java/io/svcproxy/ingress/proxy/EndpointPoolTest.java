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
    /** A's address, another port: another endpoint. */
    private static final InetSocketAddress A2 = new InetSocketAddress("127.0.0.195", 8080);

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final EndpointPool pool = new EndpointPool(2, now::get);

    @Test
    void givesTheMostRecentlyUsedConnectionOfTheEndpointFirst() {
        EmbeddedChannel first = new EmbeddedChannel();
        EmbeddedChannel second = new EmbeddedChannel();
        pool.release(A, first);
        pool.release(A, second);
        assertThat(acquire(B)).isNull();
        assertThat(acquire(A)).isSameAs(second);
        assertThat(acquire(A)).isSameAs(first);
        assertThat(acquire(A)).isNull();
    }

    @Test
    void closesConnectionsBeyondTheEndpointsRoomAndSkipsClosedOnes() {
        EmbeddedChannel[] chs = {new EmbeddedChannel(), new EmbeddedChannel(), new EmbeddedChannel()};
        for (EmbeddedChannel ch : chs) {
            pool.release(A, ch);
        }
        assertThat(chs[2].isOpen()).isFalse(); // a third idle one does not fit
        chs[1].close();
        assertThat(acquire(A)).isSameAs(chs[0]);
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
        pool.release(A, acquire(A)); // fresh again, and a sweep: old and gone are 65 s idle
        assertThat(old.isOpen()).isFalse();
        assertThat(gone.isOpen()).isFalse();
        assertThat(fresh.isOpen()).isTrue();
        assertThat(pool.idleCount()).isEqualTo(1);
        assertThat(acquire(B)).isNull();
    }

    @Test
    void keepsTheEndpointsOfOneAddressApartByPortAndForgetsEachAlone() {
        EmbeddedChannel a = new EmbeddedChannel();
        EmbeddedChannel a2 = new EmbeddedChannel();
        EmbeddedChannel a2b = new EmbeddedChannel();
        pool.release(A, a);
        pool.release(A2, a2);
        pool.release(A2, a2b);
        assertThat(pool.idleCount()).isEqualTo(3);
        pool.remove(A, a); // A's only idle connection closed by its endpoint: A2's stay
        assertThat(acquire(A)).isNull();
        assertThat(pool.idleCount()).isEqualTo(2);
        assertThat(acquire(A2)).isSameAs(a2b);
        pool.remove(A2, a2);
        assertThat(acquire(A2)).isNull();
        assertThat(pool.idleCount()).isZero();
        pool.release(A2, a2b); // and back: A's and A2's queues made again
        pool.release(A, a);
        assertThat(acquire(A)).isSameAs(a);
        assertThat(acquire(A2)).isSameAs(a2b);
    }

    @Test
    void aSweepKeepsTheOtherPortsOfAnAddress() {
        EmbeddedChannel old = new EmbeddedChannel();
        pool.release(A, old);
        now.addAndGet(TimeUnit.SECONDS.toNanos(30));
        EmbeddedChannel recent = new EmbeddedChannel();
        pool.release(A2, recent);
        now.addAndGet(TimeUnit.SECONDS.toNanos(35));
        EmbeddedChannel b = new EmbeddedChannel();
        pool.release(B, b); // a sweep: A's connection is 65 s idle, A2's 35 s
        assertThat(old.isOpen()).isFalse();
        assertThat(acquire(A)).isNull();
        assertThat(acquire(A2)).isSameAs(recent);
        assertThat(acquire(B)).isSameAs(b);
    }

    @Test
    void aSweepKeepsTheOtherPortsOfAnAddressWhenTheNewestPortExpires() {
        EmbeddedChannel recent = new EmbeddedChannel();
        pool.release(A, recent);
        assertThat(acquire(A)).isSameAs(recent); // A's queue made first, empty now
        EmbeddedChannel old = new EmbeddedChannel();
        pool.release(A2, old); // A2's queue made second: first in the address's chain
        now.addAndGet(TimeUnit.SECONDS.toNanos(9));
        pool.release(A, recent); // no sweep yet (one per 10 s): A's empty queue is still there
        now.addAndGet(TimeUnit.SECONDS.toNanos(53));
        EmbeddedChannel b = new EmbeddedChannel();
        pool.release(B, b); // a sweep: A2's connection is 62 s idle, A's 53 s
        assertThat(old.isOpen()).isFalse();
        assertThat(acquire(A2)).isNull();
        assertThat(acquire(A)).isSameAs(recent);
        assertThat(pool.idleCount()).isEqualTo(1);
    }

    private EmbeddedChannel acquire(InetSocketAddress endpoint) {
        return (EmbeddedChannel) pool.acquire(endpoint);
    }
}
