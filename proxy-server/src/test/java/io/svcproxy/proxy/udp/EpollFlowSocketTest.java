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
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A flow's bare epoll socket, on the data plane's own epoll event loop: datagrams both ways, a refusal, close. */
@Timeout(30)
class EpollFlowSocketTest {
    private EventLoopGroup group;
    private IoEventLoop loop;
    private ByteBuf receiveBuffer;
    private UdpEcho echo;
    private final List<String> received = new CopyOnWriteArrayList<>();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final List<String> readCompletes = new CopyOnWriteArrayList<>();
    private final FlowSocket.Events events = new FlowSocket.Events() {
        @Override
        public void received(UdpFlow flow, ByteBuf datagram) {
            received.add(datagram.toString(StandardCharsets.UTF_8));
        }

        @Override
        public void readComplete() {
            readCompletes.add("x");
        }

        @Override
        public void failed(UdpFlow flow, Throwable cause) {
            failures.add(cause);
        }
    };

    @BeforeEach
    void setUp() throws Exception {
        group = Transport.EPOLL.newGroup(1, new DefaultThreadFactory("flow-socket-test"));
        loop = (IoEventLoop) group.next();
        receiveBuffer = ByteBufAllocator.DEFAULT.directBuffer(UdpListener.MAX_PAYLOAD + 1);
        echo = new UdpEcho("127.0.0.51", "e", false);
    }

    @AfterEach
    void tearDown() throws Exception {
        echo.close();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        receiveBuffer.release();
    }

    private UdpFlow flow() throws Exception {
        BackendState backend = BackendState.of(InetAddress.getByName("127.0.0.51"), 53, 1); // the flow only names it
        return new UdpFlow(new InetSocketAddress("127.0.10.51", 40000), backend, backend.counters().lease(),
                Long.MAX_VALUE, 0, 0);
    }

    private EpollFlowSocket open(UdpFlow flow, int port) throws Exception {
        return loop.submit(() -> EpollFlowSocket.connect(flow, events, loop,
                new InetSocketAddress("127.0.0.51", port), receiveBuffer, ByteBufAllocator.DEFAULT)).get();
    }

    private FlowSocket.Sent send(FlowSocket socket, String text) throws Exception {
        return loop.submit(() -> socket.send(Unpooled.directBuffer().writeBytes(text.getBytes(StandardCharsets.UTF_8))))
                .get();
    }

    @Test
    void sendsAtOnceAndHandsEachAnswerOver() throws Exception {
        assertThat(EpollFlowSocket.supported(loop)).isTrue();
        EpollFlowSocket socket = open(flow(), echo.port());
        assertThat(send(socket, "one")).isEqualTo(FlowSocket.Sent.YES);
        assertThat(send(socket, "two")).isEqualTo(FlowSocket.Sent.YES);
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
        assertThat(received).containsExactly("e:one", "e:two");
        assertThat(readCompletes).hasSize(2); // one datagram per readiness
        assertThat(failures).isEmpty();
        loop.submit(socket::close).get();
        assertThat(socket.fd().isOpen()).isFalse();
        assertThat(failures).isEmpty();
    }

    @Test
    void aClosedSocketLeavesTheLoopAndTheNextSocketOnItsFdWorks() throws Exception {
        for (int i = 0; i < 3; i++) { // closed before its registration is cancelled: no stale entry for the fd
            EpollFlowSocket socket = open(flow(), echo.port());
            assertThat(send(socket, "q" + i)).isEqualTo(FlowSocket.Sent.YES);
            int n = 2 * i + 1;
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == n);
            loop.submit(socket::close).get();
            assertThat(socket.fd().isOpen()).isFalse();
            EpollFlowSocket next = open(flow(), echo.port()); // usually on the fd just closed (the lowest free)
            assertThat(send(next, "r" + i)).isEqualTo(FlowSocket.Sent.YES);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == n + 1);
            loop.submit(next::close).get();
        }
        assertThat(received).containsExactly("e:q0", "e:r0", "e:q1", "e:r1", "e:q2", "e:r2");
        assertThat(failures).isEmpty();
    }

    @Test
    void aRefusingEndpointIsReportedAsFailed() throws Exception {
        int closedPort = echo.port();
        echo.close();
        EpollFlowSocket socket = open(flow(), closedPort);
        send(socket, "anyone?"); // the ICMP port unreachable comes back to the socket
        await().atMost(Duration.ofSeconds(10)).until(() -> !failures.isEmpty());
        assertThat(FlowEnd.refused(failures.get(0))).as(failures.get(0).toString()).isTrue();
        assertThat(received).isEmpty();
        loop.submit(socket::close).get();
    }
}
