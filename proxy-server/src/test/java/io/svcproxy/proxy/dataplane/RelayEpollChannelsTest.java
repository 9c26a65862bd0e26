package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.RelayEpollServerSocketChannel;
import io.netty.channel.epoll.RelayEpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.ServerSocketChannelConfig;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.Version;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The relay's epoll channels ({@link RelayEpollSocketChannel}, {@link RelayEpollServerSocketChannel}) keep what the
 * relay relies on of Netty's while making fewer system calls: TCP_NODELAY on accepted sockets (from the listener),
 * the peer's FIN as a half-closure (the input marked shut down without {@code shutdown(SHUT_RD)}, writes still go
 * out), SO_LINGER 0 as a reset, and the fd closed before its epoll registration is cancelled (so Netty makes no
 * {@code EPOLL_CTL_DEL}). The exact counts per connection are bench/tcp_syscalls.py's; the relay suites
 * (EpollDataPlaneTest, EpollRelayIntegrityTest, EpollRelayTortureTest, FaultInjectionTest) run these channels.
 */
@Timeout(30)
class RelayEpollChannelsTest {
    private static final String HOST = "127.0.0.61";

    /** Per cancelled registration: was its fd still open when the registration was cancelled? */
    private final List<Boolean> openAtCancel = new CopyOnWriteArrayList<>();
    /** The interest sets submitted to the kernel for sockets other than listeners (accepted, connecting), in order. */
    private final List<EpollIoOps> childSubmits = new CopyOnWriteArrayList<>();
    private EventLoopGroup group;

    @BeforeAll
    static void nativeEpoll() {
        Epoll.ensureAvailability();
    }

    @AfterEach
    void stop() throws Exception {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void theNettyVersionIsTheOneTheseChannelsWereReadFrom() {
        // the channels use Netty's package-private API (doClose order, EpollStreamUnsafe, shutdownInput, the fd's
        // state bits); a Netty upgrade must re-read it (docs/performance.md "TCP new connections, round 10")
        Map<String, Version> versions = Version.identify();
        assertThat(versions.get("netty-transport-classes-epoll").artifactVersion()).isEqualTo("4.2.18.Final");
        assertThat(versions.get("netty-transport-native-unix-common").artifactVersion()).isEqualTo("4.2.18.Final");
    }

    @Test
    void anAcceptedSocketHasNoDelayFromItsListener() throws Exception {
        BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
        Channel server = listen(RelayEpollServerSocketChannel.class, ch -> accepted.add(ch), false);
        try (Socket client = new Socket(HOST, port(server))) {
            Channel child = accepted.poll(10, TimeUnit.SECONDS);
            assertThat(child).isInstanceOf(RelayEpollSocketChannel.class);
            assertThat(((SocketChannel) child).config().isTcpNoDelay()).isTrue();
            assertThat(((SocketChannel) child).config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
        } finally {
            server.close().sync();
        }
    }

    @ParameterizedTest
    @ValueSource(classes = {RelayEpollServerSocketChannel.class, EpollServerSocketChannel.class})
    void thePeersFinIsAHalfClosureAndTheAnswerStillGoesOutAsWithNettysChannel(Class<? extends ServerChannel> type)
            throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        Channel server = listen(type, ch -> ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                events.add("read " + b.toString(StandardCharsets.US_ASCII));
                b.release();
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt == ChannelInputShutdownEvent.INSTANCE) {
                    events.add("input shut down, active=" + ctx.channel().isActive() + ", inputShutdown="
                            + ((SocketChannel) ctx.channel()).isInputShutdown());
                    ctx.writeAndFlush(Unpooled.copiedBuffer("pong", StandardCharsets.US_ASCII));
                } else if (evt == ChannelInputShutdownReadComplete.INSTANCE) {
                    events.add("read complete");
                    ctx.close();
                }
            }
        }), true);
        pingFinPong(server);
        assertThat(events).containsExactly("read ping", "input shut down, active=true, inputShutdown=true",
                "read complete");
    }

    @ParameterizedTest
    @ValueSource(classes = {RelayEpollServerSocketChannel.class, EpollServerSocketChannel.class})
    void thePeersFinTakesEpollinOutOfTheInterestSetInTheTurnItIsReadNettysOnlyOnTheNextEvent(
            Class<? extends ServerChannel> type) throws Exception {
        AtomicInteger submitsAtFin = new AtomicInteger(-1);
        BlockingQueue<Channel> finished = new LinkedBlockingQueue<>();
        Channel server = listen(type, ch -> ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void handlerAdded(ChannelHandlerContext ctx) throws InterruptedException {
                // the loop busy while the client sends its bytes and its FIN: the wait after this turn reports both
                // at once (EPOLLIN|EPOLLRDHUP), as when a relayed endpoint answers and closes, and the read loop of
                // EPOLLIN stops at the bytes (a short read), so the FIN is read by the EPOLLRDHUP part
                Thread.sleep(200);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ((ByteBuf) msg).release();
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt == ChannelInputShutdownEvent.INSTANCE) {
                    submitsAtFin.set(childSubmits.size());
                    // the other direction stays open a while: the loop waits for events meanwhile
                    ctx.executor().schedule(() -> {
                        finished.add(ctx.channel());
                        ctx.writeAndFlush(Unpooled.copiedBuffer("pong", StandardCharsets.US_ASCII))
                                .addListener(ChannelFutureListener.CLOSE);
                    }, 100, TimeUnit.MILLISECONDS);
                }
            }
        }), true);
        pingFinPong(server);
        assertThat(finished.poll(10, TimeUnit.SECONDS)).isNotNull();
        List<EpollIoOps> afterFin = childSubmits.subList(submitsAtFin.get(), childSubmits.size());
        assertThat(afterFin).as("interest sets submitted after the FIN was read").isNotEmpty();
        if (type == RelayEpollServerSocketChannel.class) {
            // one submission, in the FIN's own turn, with neither: the end of stream is not reported again
            assertThat(afterFin).hasSize(1);
            assertThat(afterFin.get(0).contains(EpollIoOps.EPOLLIN)).isFalse();
            assertThat(afterFin.get(0).contains(EpollIoOps.EPOLLRDHUP)).isFalse();
        } else {
            // the contrast: Netty's level-triggered channel leaves EPOLLIN in that turn, and takes it out only when
            // the next wait has reported the end of stream again
            assertThat(afterFin.get(0).contains(EpollIoOps.EPOLLIN)).isTrue();
            assertThat(afterFin).anyMatch(ops -> !ops.contains(EpollIoOps.EPOLLIN));
        }
    }

    @ParameterizedTest
    @ValueSource(classes = {RelayEpollServerSocketChannel.class, EpollServerSocketChannel.class})
    void aListenerBindsItsPortAgainWhileConnectionsItClosedAreInTimeWaitAsNettysDoes(
            Class<? extends ServerChannel> type) throws Exception {
        // a restarted proxy: the connections it closed first hold the listening port in TIME_WAIT
        BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
        Channel server = listen(type, accepted::add, false);
        InetSocketAddress bound = (InetSocketAddress) server.localAddress();
        assertThat(((ServerSocketChannelConfig) server.config()).isReuseAddress()).isTrue();
        try (Socket client = new Socket(HOST, bound.getPort())) {
            accepted.poll(10, TimeUnit.SECONDS).close().sync(); // the listener's side closes first: its TIME_WAIT
            assertThat(client.getInputStream().read()).isEqualTo(-1);
        }
        server.close().sync();
        Channel again = listenOn(bound, type, accepted::add, false);
        assertThat(again.localAddress()).isEqualTo(bound);
        again.close().sync();
    }

    @ParameterizedTest
    @ValueSource(strings = {HOST, "0.0.0.0"})
    void anAcceptedChannelsAddressesAreItsSocketsOwn(String bindTo) throws Exception {
        BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
        Channel server = listenOn(bindTo, RelayEpollServerSocketChannel.class, accepted::add, false);
        try (Socket client = new Socket(HOST, port(server))) {
            Channel child = accepted.poll(10, TimeUnit.SECONDS);
            // a wildcard listener's sockets are read (getsockname) on first use; a bound one's are its own
            assertThat(child.localAddress()).isEqualTo(new InetSocketAddress(HOST, port(server)));
            assertThat(child.localAddress()).isEqualTo(client.getRemoteSocketAddress());
            assertThat(child.remoteAddress()).isEqualTo(client.getLocalSocketAddress());
            assertThat(child.parent()).isSameAs(server);
            assertThat(child.isActive()).isTrue();
        } finally {
            server.close().sync();
        }
    }

    @Test
    void aConnectingChannelKnowsItsPeerAndReadsItsLocalAddressOnlyOnceConnected() throws Exception {
        BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
        Channel server = listen(RelayEpollServerSocketChannel.class, accepted::add, false);
        RelayEpollSocketChannel out = new RelayEpollSocketChannel(io.netty.channel.socket.SocketProtocolFamily.INET);
        out.pipeline().addLast(new ChannelInboundHandlerAdapter());
        try {
            group.register(out).sync();
            assertThat(out.localAddress()).isNull(); // not connected: no address yet (and none cached)
            out.connect(server.localAddress()).sync();
            Channel child = accepted.poll(10, TimeUnit.SECONDS);
            assertThat(out.remoteAddress()).isEqualTo(server.localAddress());
            assertThat(out.localAddress()).isEqualTo(child.remoteAddress());
        } finally {
            out.close().sync();
            server.close().sync();
        }
    }

    @ParameterizedTest
    @ValueSource(classes = {RelayEpollSocketChannel.class, EpollSocketChannel.class})
    void aConnectTheKernelCompletedWithinItsCallIsDoneAtOnceWithoutEpolloutNettysWaitsForTheEvent(
            Class<? extends SocketChannel> type) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getByName(HOST))) {
            InetSocketAddress to = new InetSocketAddress(HOST, listener.getLocalPort());
            SocketChannel out = registeredConnecting(type);
            try {
                // on loopback the SYN and SYN-ACK are processed before connect() returns EINPROGRESS
                ConnectCall call = connectOnTheLoop(out, to);
                assertThat(call.future().sync().isSuccess()).isTrue();
                listener.accept().close();
                assertThat(out.remoteAddress()).isEqualTo(to);
                awaitSubmitted(ops -> ops.contains(EpollIoOps.EPOLLIN)); // active, reading: the connect's sets are in
                if (type == RelayEpollSocketChannel.class) {
                    assertThat(call.doneInTheCall()).isTrue();
                    assertThat(childSubmits).noneMatch(ops -> ops.contains(EpollIoOps.EPOLLOUT));
                } else { // the contrast: Netty's waits for EPOLLOUT, then asks SO_ERROR and getpeername
                    assertThat(call.doneInTheCall()).isFalse();
                    assertThat(childSubmits).anyMatch(ops -> ops.contains(EpollIoOps.EPOLLOUT));
                }
                awaitEpolloutOut();
            } finally {
                out.close().sync();
            }
        }
    }

    @Test
    void aConnectWhoseSynTheListenerDroppedWaitsForEpolloutAndCompletesOnTheRetransmission() throws Exception {
        // backlog 1 and two connections waiting in it: the kernel drops the next SYN, connect() leaves the socket
        // in SYN_SENT, so getpeername fails and the channel waits for EPOLLOUT as Netty's does
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getByName(HOST));
             Socket filler1 = new Socket(HOST, full.getLocalPort());
             Socket filler2 = new Socket(HOST, full.getLocalPort())) {
            SocketChannel out = registeredConnecting(RelayEpollSocketChannel.class);
            try {
                ConnectCall call = connectOnTheLoop(out, (InetSocketAddress) full.getLocalSocketAddress());
                assertThat(call.doneInTheCall()).isFalse();
                awaitSubmitted(ops -> ops.contains(EpollIoOps.EPOLLOUT));
                full.accept().close();
                full.accept().close(); // the queue drains: the retransmitted SYN gets in
                assertThat(call.future().await(10, TimeUnit.SECONDS)).isTrue();
                assertThat(call.future().isSuccess()).isTrue();
                full.accept().close();
                assertThat(out.remoteAddress()).isEqualTo(full.getLocalSocketAddress());
                awaitEpolloutOut(); // once connected
            } finally {
                out.close().sync();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(classes = {RelayEpollSocketChannel.class, EpollSocketChannel.class})
    void aRefusedConnectFailsAsWithNettysChannel(Class<? extends SocketChannel> type) throws Exception {
        int closedPort;
        try (ServerSocket gone = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            closedPort = gone.getLocalPort();
        }
        SocketChannel out = registeredConnecting(type);
        try {
            ConnectCall call = connectOnTheLoop(out, new InetSocketAddress(HOST, closedPort));
            assertThat(call.future().await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(call.future().cause()).isInstanceOf(java.net.ConnectException.class)
                    .hasMessageContaining("refused");
            assertThat(out.isActive()).isFalse();
        } finally {
            out.close().sync();
        }
    }

    /**
     * Waits until an interest set that {@code matches} was submitted: the event loop submits a turn's changes to the
     * kernel just before it next waits (EpollHalfCloseFix), so after the turn that made them.
     */
    private void awaitSubmitted(java.util.function.Predicate<EpollIoOps> matches) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                .until(() -> childSubmits.stream().anyMatch(matches));
    }

    /** Waits until the last interest set submitted has no EPOLLOUT (the connect is done, nothing left to write). */
    private void awaitEpolloutOut() {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> !childSubmits.isEmpty()
                && !childSubmits.get(childSubmits.size() - 1).contains(EpollIoOps.EPOLLOUT));
    }

    /** A connecting channel of {@code type}, registered on the recording event loop. */
    private SocketChannel registeredConnecting(Class<? extends SocketChannel> type) throws Exception {
        SocketChannel out = type.getConstructor().newInstance();
        out.pipeline().addLast(new ChannelInboundHandlerAdapter());
        recordingGroup().register(out).sync(); // no interest set yet: its EPOLL_CTL_ADD comes with the connect's
        childSubmits.clear();
        return out;
    }

    /** The connect's future, and whether it was done when {@code connect} returned (called on the event loop). */
    private record ConnectCall(ChannelFuture future, boolean doneInTheCall) {
    }

    private static ConnectCall connectOnTheLoop(Channel out, InetSocketAddress to) throws Exception {
        return out.eventLoop().submit(() -> {
            ChannelFuture f = out.connect(to);
            return new ConnectCall(f, f.isDone());
        }).get(10, TimeUnit.SECONDS);
    }

    @Test
    void withoutHalfClosureThePeersFinClosesTheChannel() throws Exception {
        BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
        Channel server = listen(RelayEpollServerSocketChannel.class, accepted::add, false);
        try (Socket client = new Socket(HOST, port(server))) {
            Channel child = accepted.poll(10, TimeUnit.SECONDS);
            client.shutdownOutput();
            assertThat(child.closeFuture().await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(client.getInputStream().read()).isEqualTo(-1);
        } finally {
            server.close().sync();
        }
    }

    @Test
    void soLingerZeroResetsTheConnection() throws Exception {
        BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
        Channel server = listen(RelayEpollServerSocketChannel.class, accepted::add, true);
        try (Socket client = new Socket(HOST, port(server))) {
            Channel child = accepted.poll(10, TimeUnit.SECONDS);
            child.config().setOption(ChannelOption.SO_LINGER, 0);
            assertThat(child.config().getOption(ChannelOption.SO_LINGER)).isZero();
            child.close().sync();
            InputStream in = client.getInputStream();
            assertThatThrownBy(in::read).isInstanceOf(SocketException.class)
                    .hasMessageContaining("reset");
        } finally {
            server.close().sync();
        }
    }

    @Test
    void aClosedChannelsFdIsClosedBeforeItsRegistrationIsCancelledNettysIsNot() throws Exception {
        assertThat(closeOneAccepted(RelayEpollServerSocketChannel.class)).isFalse();
        // the contrast: Netty's own channel deregisters first (EPOLL_CTL_DEL), then closes
        assertThat(closeOneAccepted(EpollServerSocketChannel.class)).isTrue();
    }

    /** Accepts one connection on a listener of {@code type}, closes it; was its fd open at the cancel? */
    private boolean closeOneAccepted(Class<? extends ServerChannel> type) throws Exception {
        openAtCancel.clear();
        BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
        Channel server = listen(type, accepted::add, true);
        try (Socket client = new Socket(HOST, port(server))) {
            Channel child = accepted.poll(10, TimeUnit.SECONDS);
            child.close().sync();
            assertThat(client.getInputStream().read()).isEqualTo(-1);
            assertThat(openAtCancel).hasSize(1);
            return openAtCancel.get(0);
        } finally {
            server.close().sync();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            group = null;
        }
    }

    /** A client of {@code server} sends "ping" and its FIN and reads "pong", then the end; the server is closed after. */
    private static void pingFinPong(Channel server) throws Exception {
        try (Socket client = new Socket(HOST, port(server))) {
            client.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            client.shutdownOutput();
            assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("pong");
        } finally {
            server.close().sync();
        }
    }

    private Channel listen(Class<? extends ServerChannel> type, java.util.function.Consumer<Channel> child,
                           boolean halfClosure) throws InterruptedException {
        return listenOn(HOST, type, child, halfClosure);
    }

    private Channel listenOn(String address, Class<? extends ServerChannel> type,
                             java.util.function.Consumer<Channel> child, boolean halfClosure)
            throws InterruptedException {
        return listenOn(new InetSocketAddress(address, 0), type, child, halfClosure);
    }

    private Channel listenOn(InetSocketAddress address, Class<? extends ServerChannel> type,
                             java.util.function.Consumer<Channel> child, boolean halfClosure)
            throws InterruptedException {
        return new ServerBootstrap().group(recordingGroup()).channel(type)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, halfClosure)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void handlerAdded(ChannelHandlerContext ctx) {
                        ctx.pipeline().remove(this);
                        child.accept(ctx.channel());
                    }
                })
                .bind(address).sync().channel();
    }

    /** One event loop, its registrations recorded ({@link CancelRecording}), made on first use. */
    private EventLoopGroup recordingGroup() {
        if (group == null) {
            group = new MultiThreadIoEventLoopGroup(1, new EpollHalfCloseFix(executor -> new CancelRecording(
                    EpollIoHandler.newFactory().newHandler(executor), openAtCancel, childSubmits)));
        }
        return group;
    }

    private static int port(Channel server) {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /**
     * Netty's epoll handler, recording for each socket's registration (accepted or connecting; not a listener's)
     * whether its fd was open at cancel, and the interest sets submitted to the kernel for those sockets (after
     * EpollHalfCloseFix merged a turn's).
     */
    private record CancelRecording(IoHandler delegate, List<Boolean> openAtCancel, List<EpollIoOps> childSubmits)
            implements IoHandler {
        @Override
        public void initialize() {
            delegate.initialize();
        }

        @Override
        public int run(IoHandlerContext context) {
            return delegate.run(context);
        }

        @Override
        public void prepareToDestroy() {
            delegate.prepareToDestroy();
        }

        @Override
        public void destroy() {
            delegate.destroy();
        }

        @Override
        public IoRegistration register(IoHandle handle) throws Exception {
            IoRegistration registration = delegate.register(handle);
            boolean socket = !handle.getClass().getName().contains("ServerSocketUnsafe"); // not a listener's
            return new IoRegistration() {
                @Override
                public <T> T attachment() {
                    return registration.attachment();
                }

                @Override
                public long submit(IoOps ops) {
                    if (socket) {
                        childSubmits.add((EpollIoOps) ops);
                    }
                    return registration.submit(ops);
                }

                @Override
                public boolean isValid() {
                    return registration.isValid();
                }

                @Override
                public boolean cancel() {
                    // the first cancel (Netty cancels again when the closed channel is deregistered)
                    if (registration.isValid() && socket) {
                        openAtCancel.add(((EpollIoHandle) handle).fd().isOpen());
                    }
                    return registration.cancel();
                }
            };
        }

        @Override
        public void wakeup() {
            delegate.wakeup();
        }

        @Override
        public boolean isCompatible(Class<? extends IoHandle> handleType) {
            return delegate.isCompatible(handleType);
        }
    }
}
