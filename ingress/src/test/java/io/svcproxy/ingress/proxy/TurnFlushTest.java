package io.svcproxy.ingress.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.svcproxy.ingress.testing.WarnGuard;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link TurnFlush}: the writes of one turn of an event loop leave together, after the turn. In-VM channels on one
 * event loop; a task submitted to the loop stands for a turn (the flush it queues runs before the next task).
 */
class TurnFlushTest {
    /** One event loop as the proxy's are (its tasks run one by one, an exception a task throws logged). */
    private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
    private final EventLoop loop = group.next();
    private final LocalAddress address = new LocalAddress("turn-flush-" + System.nanoTime());
    /** What the accepted side of each connection received, by connection, in order. */
    private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
    private final List<Channel> opened = new ArrayList<>();

    @BeforeEach
    void listen() throws InterruptedException {
        opened.add(new ServerBootstrap().group(group).channel(LocalServerChannel.class)
                .childHandler(new Receiver()).bind(address).sync().channel());
    }

    /** The accepted side of every connection: adds what it reads to {@link #received}. */
    @ChannelHandler.Sharable
    private final class Receiver extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            received.add(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
    }

    @AfterEach
    void close() throws InterruptedException {
        for (Channel ch : opened) {
            ch.close().sync();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void theChannelsWrittenInATurnAreFlushedTogetherAfterIt() throws Exception {
        Channel a = connect();
        Channel b = connect();

        long[] pendingInTheTurn = loop.submit(() -> {
            a.write(text("a1"));
            TurnFlush.flushLater(a);
            b.write(text("b1"));
            TurnFlush.flushLater(b);
            a.write(text("a2"));
            TurnFlush.flushLater(a);
            return new long[] {pending(a), pending(b)};
        }).get();
        long[] pendingAfter = loop.submit(() -> new long[] {pending(a), pending(b)}).get();

        // Netty's count adds its per-message overhead to the bytes: what matters is that nothing left yet
        assertThat(pendingInTheTurn).as("nothing leaves during the turn").doesNotContain(0L);
        assertThat(pendingInTheTurn[0]).as("a's two writes").isEqualTo(2 * pendingInTheTurn[1]);
        assertThat(pendingAfter).as("everything left after it").containsExactly(0, 0);
        String all = next(6); // a's two writes may arrive as one read
        assertThat(all).contains("b1");
        assertThat(all.replace("b1", "")).isEqualTo("a1a2");

        // the next turn queues a flush of its own
        loop.submit(() -> {
            b.write(text("b2"));
            TurnFlush.flushLater(b);
        }).get();
        assertThat(next()).isEqualTo("b2");
    }

    @Test
    void aChannelClosedBeforeTheTurnEndsIsLeftAlone() throws Exception {
        Channel closing = connect();
        Channel open = connect();

        loop.submit(() -> {
            closing.write(text("dropped with the channel"));
            TurnFlush.flushLater(closing);
            open.write(text("kept"));
            TurnFlush.flushLater(open);
            closing.close();
        }).get();

        assertThat(next()).isEqualTo("kept");
        assertThat(received.poll(200, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void aChannelQueuedAgainRightAfterItselfIsFlushedOnce() throws Exception {
        AtomicInteger flushes = new AtomicInteger();
        Channel streams = connect();
        streams.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
            @Override
            public void flush(ChannelHandlerContext ctx) {
                flushes.incrementAndGet();
                ctx.flush();
            }
        });
        Channel other = connect();

        loop.submit(() -> {
            for (String s : List.of("s1", "s2", "s3")) { // the streams of one HTTP/2 connection, one after another
                streams.write(text(s));
                TurnFlush.flushLater(streams);
            }
            other.write(text("o1"));
            TurnFlush.flushLater(other);
            streams.write(text("s4"));
            TurnFlush.flushLater(streams);
        }).get();

        String all = next(10);
        assertThat(all.replace("o1", "")).isEqualTo("s1s2s3s4");
        // the in-VM peers read inline, during the turn's flushes (s4 already leaves with the first flush of `streams`,
        // o1 with the other's), so every byte can be in before the turn's last flush: that one is done once the
        // loop runs its next task
        loop.submit(() -> { }).get();
        assertThat(flushes).as("s1-s3 once, s4 after o1 once more").hasValue(2);
    }

    @Test
    void aChannelQueuedAgainDuringItsOwnFlushIsFlushedAgain() throws Exception {
        Channel ch = connect();
        ch.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
            private boolean wroteMore;

            @Override
            public void flush(ChannelHandlerContext ctx) {
                ctx.flush();
                if (!wroteMore) { // as a window update written by what the flush set off
                    wroteMore = true;
                    ctx.channel().write(text("more"));
                    TurnFlush.flushLater(ctx.channel());
                }
            }
        });

        loop.submit(() -> {
            ch.write(text("first"));
            TurnFlush.flushLater(ch);
        }).get();

        assertThat(next(9)).isEqualTo("firstmore");
    }

    @Test
    void afterAFlushThatThrowsTheNextTurnFlushesAgain() throws Exception {
        AtomicBoolean fails = new AtomicBoolean(true);
        Channel faulty = new Bootstrap().group(group)
                .channelFactory((ChannelFactory<LocalChannel>) () -> new LocalChannel() {
                    @Override
                    public Channel flush() {
                        if (fails.getAndSet(false)) {
                            throw new IllegalStateException("a flush that throws (TurnFlushTest)");
                        }
                        return super.flush();
                    }
                })
                .handler(new ChannelInboundHandlerAdapter()).connect(address).sync().channel();
        opened.add(faulty);
        Channel ch = connect();

        loop.submit(() -> {
            faulty.write(text("never flushed"));
            TurnFlush.flushLater(faulty);
        }).get();
        loop.submit(() -> {
            ch.write(text("next turn"));
            TurnFlush.flushLater(ch);
        }).get();

        assertThat(next()).isEqualTo("next turn");
        // the loop's task runner reported it: nothing swallowed
        assertThat(WarnGuard.drain()).singleElement().asString().contains("a flush that throws (TurnFlushTest)");
    }

    @Test
    void offItsEventLoopAChannelIsFlushedAtOnce() throws Exception {
        Channel ch = connect();

        ch.write(text("from the test thread"));
        TurnFlush.flushLater(ch);

        assertThat(next()).isEqualTo("from the test thread");
    }

    private Channel connect() throws InterruptedException {
        Channel ch = new Bootstrap().group(group).channel(LocalChannel.class)
                .handler(new ChannelInboundHandlerAdapter()).connect(address).sync().channel();
        opened.add(ch);
        return ch;
    }

    private String next() throws InterruptedException {
        return received.poll(10, TimeUnit.SECONDS);
    }

    /** The next reads, in the order they came, until they hold {@code length} characters (10 s at most). */
    private String next(int length) throws InterruptedException {
        StringBuilder s = new StringBuilder();
        for (String r; s.length() < length && (r = next()) != null; ) {
            s.append(r);
        }
        return s.toString();
    }

    private static long pending(Channel ch) {
        return ch.unsafe().outboundBuffer().totalPendingWriteBytes();
    }

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }
}
