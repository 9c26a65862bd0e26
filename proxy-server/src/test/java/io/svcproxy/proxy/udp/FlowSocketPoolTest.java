package io.svcproxy.proxy.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.proxy.dataplane.Transport;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The parked sockets of ended flows, with real epoll flow sockets and a clock passed in: the quarantine, the oldest
 * first, one endpoint's sockets for that endpoint only, dirty sockets closed, the sweep, the bound, closing all.
 */
@Timeout(30)
class FlowSocketPoolTest {
    private static final long Q = FlowSocketPool.QUARANTINE_NANOS;
    /** The tests' clock: an hour ahead of the real one, so that the pool's own sweep timer never ends a test socket. */
    private static final long T = System.nanoTime() + java.util.concurrent.TimeUnit.HOURS.toNanos(1);

    private EventLoopGroup group;
    private IoEventLoop loop;
    private ByteBuf receiveBuffer;
    private UdpEcho echo;
    private UdpEcho other;
    private final List<String> received = new CopyOnWriteArrayList<>();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final FlowSocket.Events events = new FlowSocket.Events() {
        @Override
        public void received(UdpFlow flow, ByteBuf datagram) {
            received.add(datagram.toString(StandardCharsets.UTF_8));
        }

        @Override
        public void readComplete() {
        }

        @Override
        public void failed(UdpFlow flow, Throwable cause) {
            failures.add(cause);
        }
    };

    @BeforeEach
    void setUp() throws Exception {
        group = Transport.EPOLL.newGroup(1, new DefaultThreadFactory("flow-socket-pool-test"));
        loop = (IoEventLoop) group.next();
        receiveBuffer = ByteBufAllocator.DEFAULT.directBuffer(UdpListener.MAX_PAYLOAD + 1);
        echo = new UdpEcho("127.0.0.52", "e", false);
        other = new UdpEcho("127.0.0.53", "o", false);
    }

    @AfterEach
    void tearDown() throws Exception {
        echo.close();
        other.close();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        receiveBuffer.release();
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return loop.submit(task).get();
    }

    private static UdpFlow flow(int clientPort) throws Exception {
        BackendState backend = BackendState.of(InetAddress.getByName("127.0.0.52"), 53, 1); // the flow only names it
        return new UdpFlow(new InetSocketAddress("127.0.10.52", clientPort), backend, backend.counters().lease(), 0);
    }

    private EpollFlowSocket open(UdpEcho to) throws Exception {
        return onLoop(() -> EpollFlowSocket.connect(flow(40000), events, loop,
                new InetSocketAddress(to.ip(), to.port()), receiveBuffer, ByteBufAllocator.DEFAULT));
    }

    private static ByteBuf text(String s) {
        return Unpooled.directBuffer().writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aSocketIsReusedOnlyAfterTheQuarantineAndTheOldestFirst() throws Exception {
        FlowSocketPool pool = new FlowSocketPool(loop);
        EpollFlowSocket s1 = open(echo);
        EpollFlowSocket s2 = open(echo);
        InetSocketAddress endpoint = s1.endpoint();
        assertThat(onLoop(() -> pool.take(endpoint, T))).as("an empty pool").isNull();
        assertThat(onLoop(() -> pool.park(s1, T + 1_000))).isTrue();
        assertThat(onLoop(() -> pool.park(s2, T + 2_000))).isTrue();
        assertThat(pool.size()).isEqualTo(2);
        assertThat(onLoop(() -> pool.take(endpoint, T + 1_000 + Q - 1))).as("within the quarantine").isNull();
        assertThat(onLoop(() -> pool.take(endpoint, T + 1_000 + Q))).isSameAs(s1);
        assertThat(onLoop(() -> pool.take(endpoint, T + 1_000 + Q))).as("s2 is still too young").isNull();
        assertThat(onLoop(() -> pool.take(endpoint, T + 2_000 + Q))).isSameAs(s2);
        assertThat(pool.size()).isZero();

        // the reused socket carries its new flow's datagrams and answers
        UdpFlow next = flow(40001);
        assertThat(onLoop(() -> {
            s1.adopt(next);
            return s1.send(text("again"));
        })).isEqualTo(FlowSocket.Sent.YES);
        await().atMost(Duration.ofSeconds(10)).until(() -> received.contains("e:again"));
        assertThat(s1.isOpen()).isTrue();
        assertThat(failures).isEmpty();
        onLoop(() -> {
            s1.close();
            s2.close();
            return null;
        });
        assertThat(s1.fd().isOpen()).isFalse();
    }

    @Test
    void aSocketServesOnlyItsOwnEndpoint() throws Exception {
        FlowSocketPool pool = new FlowSocketPool(loop);
        EpollFlowSocket s = open(echo);
        onLoop(() -> pool.park(s, T));
        assertThat(onLoop(() -> pool.take(new InetSocketAddress(other.ip(), other.port()), T + Q))).isNull();
        assertThat(onLoop(() -> pool.take(new InetSocketAddress(echo.ip(), echo.port()), T + Q))).isSameAs(s);
        onLoop(() -> {
            s.close();
            return null;
        });
    }

    @Test
    void aDatagramThatComesWhileParkedIsDroppedAndTheSocketIsClosedInsteadOfReused() throws Exception {
        FlowSocketPool pool = new FlowSocketPool(loop);
        EpollFlowSocket s = open(echo);
        onLoop(() -> { // sent, and parked before the answer can be read: the answer comes to a parked socket
            s.send(text("late"));
            return pool.park(s, T);
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> onLoop(s::dirty));
        assertThat(received).as("nothing handed over while parked").isEmpty();
        assertThat(failures).isEmpty();
        assertThat(onLoop(() -> pool.take(s.endpoint(), T + Q))).isNull();
        assertThat(s.isOpen()).isFalse();
        assertThat(s.fd().isOpen()).isFalse();
        assertThat(pool.size()).isZero();
        assertThat(onLoop(() -> pool.park(s, T + Q))).as("a closed socket is not parked").isFalse();
    }

    @Test
    void theSweepClosesSocketsParkedTooLongAndThePoolIsBounded() throws Exception {
        FlowSocketPool pool = new FlowSocketPool(loop, 2);
        EpollFlowSocket s1 = open(echo);
        EpollFlowSocket s2 = open(echo);
        EpollFlowSocket s3 = open(echo);
        assertThat(onLoop(() -> pool.park(s1, T))).isTrue();
        assertThat(onLoop(() -> pool.park(s2, T + 10))).isTrue();
        assertThat(onLoop(() -> pool.park(s3, T + 20))).as("full").isFalse();
        onLoop(() -> {
            pool.sweep(T + FlowSocketPool.MAX_PARKED_NANOS);
            return null;
        });
        assertThat(s1.isOpen()).as("parked the longest time").isFalse();
        assertThat(s2.isOpen()).isTrue();
        assertThat(pool.size()).isEqualTo(1);
        assertThat(onLoop(() -> pool.park(s3, T + 20))).isTrue();
        onLoop(() -> {
            pool.closeAll();
            return null;
        });
        assertThat(pool.size()).isZero();
        assertThat(s2.fd().isOpen()).isFalse();
        assertThat(s3.fd().isOpen()).isFalse();
    }

    @Test
    void parkedSocketsAreClosedByTheSweepTimerOnTheirOwn() throws Exception {
        FlowSocketPool pool = new FlowSocketPool(loop);
        EpollFlowSocket s = open(echo);
        onLoop(() -> pool.park(s, System.nanoTime()));
        await().atMost(Duration.ofSeconds(10)).until(() -> !s.fd().isOpen());
        assertThat(pool.size()).isZero();
    }
}
