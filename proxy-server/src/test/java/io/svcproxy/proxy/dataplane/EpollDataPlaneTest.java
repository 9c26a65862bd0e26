package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.svcproxy.proxy.cli.TestBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The data plane on the native epoll transport, which Linux machines (and so CI) must have. */
class EpollDataPlaneTest extends DataPlaneTest {
    private static final Pattern SEGS_IN = Pattern.compile("\\bsegs_in:(\\d+)");

    @Override
    Transport transport() {
        return Transport.EPOLL;
    }

    /**
     * The process out of file descriptors (EMFILE) when it opens the socket to the endpoint, after the client's was
     * accepted: the client is refused as at the descriptor limit, and neither a claim on the endpoint nor a place in
     * the connect queue is kept (they were, for good: a removed endpoint then drained for ever, and the queue filled
     * up). The JVM's soft limit is set to one descriptor more than it has open by {@code prlimit}, from a shell that
     * then connects a client of its own, so that the accept takes the last descriptor.
     */
    @Test
    void anEndpointSocketThatCannotBeOpenedHoldsNoClaimAndNoConnectPlace() throws Exception {
        TestBackend a = fixture.backend("127.0.0.11", "a", TestBackend.Mode.NAME);
        fixture.proxy(service("rr", "  fdGuard: {pausePercent: 100, resumePercent: 99}\n", ProxyFixture.endpoints(a)));
        assertThat(readName()).isEqualTo("a");
        io.svcproxy.proxy.testing.LowDescriptorLimit.preload(FrontendHandler.class, "io/svcproxy/proxy/dataplane",
                "io/svcproxy/proxy/connlog", "io/svcproxy/proxy/metrics");
        Class.forName("io.netty.channel.ChannelException");
        Class.forName("io.netty.channel.unix.Errors$NativeIoException");
        String[] limits = io.svcproxy.proxy.testing.LowDescriptorLimit.limits();
        long pid = ProcessHandle.current().pid();
        List<java.io.Closeable> filled = new java.util.ArrayList<>();
        Process shell = new ProcessBuilder("bash", "-c", "read n; prlimit --pid " + pid + " --nofile=$n:" + limits[1]
                + " && echo lowered; exec 3<>/dev/tcp/" + VIP + "/" + PORT + "; answer=$(timeout 5 cat <&3); "
                + "prlimit --pid " + pid + " --nofile=" + limits[0] + ":" + limits[1] + "; echo \"answer=$answer\"")
                .redirectErrorStream(true).start();
        try (java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(
                shell.getInputStream(), StandardCharsets.US_ASCII))) {
            // the warm-up's sockets are closed by now, and nothing else opens or closes one: exactly one to spare
            ServicePort warm = servicePort();
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() ->
                    warm.backendSet().backends().get(0).counters().active()
                            + warm.backendSet().backends().get(0).counters().inactive() == 0);
            int spare = io.svcproxy.proxy.testing.LowDescriptorLimit.oneToSpare(filled);
            shell.getOutputStream().write((spare + "\n").getBytes(StandardCharsets.US_ASCII));
            shell.getOutputStream().flush();
            assertThat(out.readLine()).isEqualTo("lowered");
            assertThat(out.readLine()).as("refused: closed without an answer").isEqualTo("answer=");
        }
        assertThat(shell.waitFor(10, TimeUnit.SECONDS)).isTrue();
        for (java.io.Closeable c : filled) {
            c.close();
        }
        ServicePort port = servicePort();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                .until(() -> port.rejectedCount(Rejection.FD_LIMIT) == 1);
        assertThat(port.backendSet().backends().get(0).counters().active()
                + port.backendSet().backends().get(0).counters().inactive()).as("no claim kept").isZero();
        assertThat(fixture.server().listeners().connectsInProgress()).as("no connect place kept").isZero();
        assertThat(readName()).as("served again").isEqualTo("a");
    }

    @Test
    void epollIsAvailableHere() {
        assertThat(Epoll.isAvailable()).as("epoll: %s", Epoll.unavailabilityCause()).isTrue();
    }

    /**
     * An endpoint's answer and FIN read together leave for the client together: one segment with the bytes and the
     * FIN, not the bytes and then a FIN of their own (a packet, and an ACK from the client, less per connection of a
     * request-response protocol that closes after its answer). The endpoint sends its bytes and FIN in one segment
     * (TCP_CORK until its shutdown), so the proxy reads both in one event; the client sends nothing, so all it
     * receives is the SYN-ACK and that segment, counted by the kernel ({@code ss -ti}'s segs_in).
     */
    @Test
    void anAnswerAndTheFinReadTogetherReachTheClientInOneSegment() throws Exception {
        byte[] answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            Channel endpoint = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                    .childOption(EpollChannelOption.TCP_CORK, true)
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            ctx.writeAndFlush(Unpooled.wrappedBuffer(answer))
                                    .addListener(f -> ((EpollSocketChannel) ctx.channel()).shutdownOutput());
                        }
                    })
                    .bind("127.0.0.11", 0).sync().channel();
            int port = ((InetSocketAddress) endpoint.localAddress()).getPort();
            fixture.proxy(service("rr", "", "    endpoints: [{ip: 127.0.0.11, port: " + port + "}]\n"));
            try (Socket client = Net.connect(VIP, PORT)) {
                assertThat(Net.readAll(client)).isEqualTo(answer);
                // the client's socket is in CLOSE_WAIT until it closes: its counters are still there to read
                assertThat(segmentsIn(client)).as("segments the client received: the SYN-ACK, then the answer with"
                        + " the FIN").isEqualTo(2);
            }
            endpoint.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** The segments {@code socket} has received, from {@code ss -tinH} (iproute2, as the netns tests' {@code ip}). */
    private static int segmentsIn(Socket socket) throws IOException, InterruptedException {
        String local = socket.getLocalAddress().getHostAddress() + ":" + socket.getLocalPort();
        String remote = socket.getInetAddress().getHostAddress() + ":" + socket.getPort();
        Process ss = new ProcessBuilder(List.of("ss", "-tinH", "src", local, "dst", remote))
                .redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ss.getInputStream().transferTo(out);
        assertThat(ss.waitFor(10, TimeUnit.SECONDS)).as("ss ended").isTrue();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(ss.exitValue()).as("ss -tinH: %s", text).isZero();
        Matcher m = SEGS_IN.matcher(text);
        assertThat(m.find()).as("segs_in in `ss -tinH src %s dst %s`: %s", local, remote, text).isTrue();
        return Integer.parseInt(m.group(1));
    }
}
