package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The io_uring write stall of issue 15 reduced to Netty alone, without the relay: a plain {@link
 * IoUringSocketChannel} writes 4 MiB toward a peer that reads slowly. When the peer has sent its FIN first, the write
 * stops for good once the socket's buffers are full (every run, not one in three as in the torture test).
 *
 * <p>Why (docs/performance.md, "Issue 15, round 5"): after a send returns EAGAIN, Netty 4.2.18 arms a one-shot
 * POLL_ADD for POLLOUT and marks {@code POLL_OUT_SCHEDULED}; while that bit is set, {@code flush0} does nothing. The
 * kernel adds {@code EPOLLERR|EPOLLHUP|EPOLLNVAL|EPOLLRDHUP} to every io_uring poll ({@code IO_POLL_UNMASK} in
 * io_uring/poll.c), so on a socket whose peer has half-closed, that poll completes at once with {@code POLLRDHUP}
 * and without {@code POLLOUT}. Netty's {@code pollAddComplete} tells its polls apart by the bits of the result, not
 * by which poll completed: it takes the completion for its POLLRDHUP poll, never calls {@code pollOut}, and
 * {@code POLL_OUT_SCHEDULED} stays set with nothing armed ({@code ioState} 5 = POLL_IN | POLL_OUT seen after the
 * stall). Nothing flushes the channel again.
 */
class IoUringHalfClosedPeerWriteTest {
    static final String PEER_IP = "127.0.10.40";
    static final int TOTAL = 4 << 20;

    EventLoopGroup group;
    ServerSocket server;

    @BeforeEach
    void setUp() throws IOException {
        group = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory());
        server = new ServerSocket();
        server.setReceiveBufferSize(16 << 10); // small: the writer fills the peer's window quickly
        server.bind(new InetSocketAddress(PEER_IP, 0));
    }

    @AfterEach
    void tearDown() throws Exception {
        server.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** The control: the same write toward a slow reader that has not half-closed arrives whole. */
    @Test
    void writeTowardASlowReaderArrivesWhole() throws Exception {
        assertThat(writeSlowlyRead(false)).isEqualTo(TOTAL);
    }

    /**
     * The record of Netty's defect, run on every build: the write toward a slow reader that half-closed first stops
     * short, every run. The day this fails, the Netty in use delivers the whole write: then the {@code @Disabled}
     * io_uring relay tests (IoUringRelayTortureTest, IoUringRelayIntegrityTest) are to be run again, and
     * {@code proxy.transport: auto} reconsidered (it stays epoll because of this).
     */
    @Test
    void nettysIoUringStillStallsAWriteTowardASlowReaderThatHalfClosedFirst() throws Exception {
        assertThat(writeSlowlyRead(true)).isLessThan(TOTAL);
    }

    /** Returns the bytes the peer received before the end of stream or 5 s without a byte. */
    private long writeSlowlyRead(boolean peerFinFirst) throws Exception {
        AtomicBoolean inputShutdown = new AtomicBoolean();
        Channel ch = new Bootstrap().group(group).channel(IoUringSocketChannel.class)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ReferenceCountUtil.release(msg);
                    }

                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        if (evt instanceof ChannelInputShutdownEvent) {
                            inputShutdown.set(true);
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        ctx.close();
                    }
                })
                .connect(server.getLocalSocketAddress()).sync().channel();
        try (Socket peer = server.accept()) {
            if (peerFinFirst) {
                peer.shutdownOutput();
                await().atMost(Duration.ofSeconds(10)).untilTrue(inputShutdown);
            }
            ch.eventLoop().execute(() -> {
                for (int i = 0; i < TOTAL / 65536; i++) {
                    ch.write(Unpooled.wrappedBuffer(new byte[65536]), ch.voidPromise());
                }
                ch.flush();
            });
            // the writer fills the buffers on both sides and waits for POLLOUT
            await().atMost(Duration.ofSeconds(10)).until(() -> !ch.isWritable());
            peer.setSoTimeout(5000);
            InputStream in = peer.getInputStream();
            byte[] buf = new byte[4096];
            long received = 0;
            try {
                int n;
                while (received < TOTAL && (n = in.read(buf)) >= 0) {
                    received += n;
                }
            } catch (SocketTimeoutException stalled) {
                // what the peer got is the answer
            }
            return received;
        } finally {
            ch.close().sync();
        }
    }
}
