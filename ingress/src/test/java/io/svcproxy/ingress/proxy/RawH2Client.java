package io.svcproxy.ingress.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An HTTP/2 client at the frame level, for what a well-behaved client library will not do: open more streams than
 * the server allows, or look at every frame (interim HEADERS, trailers, resets) of a stream in order. It keeps no
 * stream state of its own; received DATA is given back to both windows at once (until {@link #stopReading}). Bodies it sends must fit the
 * server's initial windows (it does no send-side flow control).
 */
final class RawH2Client implements AutoCloseable {
    /** A frame the server sent on a stream. */
    sealed interface Frame permits Headers, Data, Reset {
        int streamId();
    }

    record Headers(int streamId, Http2Headers headers, boolean endStream) implements Frame {
    }

    record Data(int streamId, byte[] bytes, boolean endStream) implements Frame {
    }

    record Reset(int streamId, long errorCode) implements Frame {
    }

    private final DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter();
    private final Map<Integer, BlockingQueue<Frame>> streams = new ConcurrentHashMap<>();
    private final CompletableFuture<Http2Settings> serverSettings = new CompletableFuture<>();
    private final CompletableFuture<Long> goAway = new CompletableFuture<>();
    private volatile int goAwayLastStream = -1;
    /** The error codes of every GOAWAY the server sent, in order. */
    private final List<Long> goAwayCodes = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final AtomicLong pings = new AtomicLong();
    /** WINDOW_UPDATE increments the server sent, by stream (0: the connection); guarded by itself. */
    private final Map<Integer, Long> windowIncrements = new java.util.HashMap<>();
    private final Map<Long, CompletableFuture<Void>> pingAcks = new ConcurrentHashMap<>();
    private final Channel channel;
    private volatile ChannelHandlerContext ctx;
    /** Whether received DATA is given back to the windows (a client that reads); see {@link #stopReading}. */
    private volatile boolean returnWindows = true;

    private RawH2Client(EventLoopGroup group, InetSocketAddress server) throws InterruptedException {
        channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new Decoder());
                    }
                }).connect(server).sync().channel();
        // a PING the server will never acknowledge
        channel.closeFuture().addListener(f -> pingAcks.values().forEach(this::failClosed));
        run(c -> {
            c.write(Http2CodecUtil.connectionPrefaceBuf());
            writer.writeSettings(c, new Http2Settings(), c.newPromise());
        });
    }

    /** Connects, sends the preface and waits for the server's SETTINGS. */
    static RawH2Client connect(EventLoopGroup group, InetSocketAddress server) throws Exception {
        RawH2Client client = new RawH2Client(group, server);
        client.serverSettings.get(10, TimeUnit.SECONDS);
        return client;
    }

    /** From now on, received DATA is not given back to the windows: a client that stopped reading. */
    void stopReading() {
        returnWindows = false;
    }

    Http2Settings serverSettings() {
        return serverSettings.join();
    }

    void headers(int streamId, Http2Headers headers, boolean endStream) {
        run(c -> writer.writeHeaders(c, streamId, headers, 0, endStream, c.newPromise()));
    }

    void reset(int streamId, long errorCode) {
        run(c -> writer.writeRstStream(c, streamId, errorCode, c.newPromise()));
    }

    /** A request's HEADERS and its RST_STREAM in one write: the server reads both in one go. */
    void headersThenReset(int streamId, Http2Headers headers, long errorCode) {
        run(c -> {
            writer.writeHeaders(c, streamId, headers, 0, true, c.newPromise());
            writer.writeRstStream(c, streamId, errorCode, c.newPromise());
        });
    }

    void windowUpdate(int streamId, int increment) {
        run(c -> writer.writeWindowUpdate(c, streamId, increment, c.newPromise()));
    }

    /** A PRIORITY frame: {@code streamId} depends on the connection (stream 0), with the default weight. */
    void priority(int streamId) {
        run(c -> writer.writePriority(c, streamId, 0, Http2CodecUtil.DEFAULT_PRIORITY_WEIGHT, false,
                c.newPromise()));
    }

    void data(int streamId, byte[] bytes, boolean endStream) {
        run(c -> writer.writeData(c, streamId, Unpooled.wrappedBuffer(bytes), 0, endStream, c.newPromise()));
    }

    /**
     * Sends {@code bytes} as DATA frames of {@code frameSize} bytes each (the last one ending the stream if
     * {@code endStream}), flushed every 1,024 frames; returns once they are all written to the socket.
     */
    void dataInFrames(int streamId, byte[] bytes, int frameSize, boolean endStream) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        channel.eventLoop().execute(() -> {
            ChannelHandlerContext c = ctx;
            int frames = 0;
            for (int off = 0; off < bytes.length; off += frameSize) {
                int len = Math.min(frameSize, bytes.length - off);
                boolean last = endStream && off + len == bytes.length;
                writer.writeData(c, streamId, Unpooled.wrappedBuffer(bytes, off, len), 0, last, c.newPromise());
                if (++frames % 1024 == 0) {
                    c.flush();
                }
            }
            c.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
                if (f.isSuccess()) {
                    done.complete(null);
                } else {
                    done.completeExceptionally(f.cause());
                }
            });
        });
        done.get(120, TimeUnit.SECONDS);
    }

    /**
     * Sends a PING and waits for its acknowledgement: the server has read every frame sent before it (a server
     * acknowledges a PING as it reads it, in order). Fails at once if the connection closes first.
     */
    void ping() throws Exception {
        long payload = pings.incrementAndGet();
        CompletableFuture<Void> ack = new CompletableFuture<>();
        pingAcks.put(payload, ack);
        if (!channel.isOpen()) {
            failClosed(ack);
        }
        run(c -> writer.writePing(c, false, payload, c.newPromise()));
        ack.get(60, TimeUnit.SECONDS);
    }

    private void failClosed(CompletableFuture<Void> ack) {
        ack.completeExceptionally(new java.io.IOException("connection closed (GOAWAY codes: " + goAwayCodes + ")"));
    }

    /** The sum of the WINDOW_UPDATE increments the server sent for {@code streamId} so far. */
    long windowIncrements(int streamId) {
        synchronized (windowIncrements) {
            return windowIncrements.getOrDefault(streamId, 0L);
        }
    }

    /** Waits until the server gave {@code streamId} at least {@code bytes} of window back; false after the timeout. */
    boolean awaitWindowIncrements(int streamId, long bytes, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (windowIncrements) {
            while (windowIncrements.getOrDefault(streamId, 0L) < bytes) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return false;
                }
                windowIncrements.wait(left);
            }
            return true;
        }
    }

    /**
     * The next frame the server sent on {@code streamId}, waiting at most 20 s, and no longer than the connection
     * (whose frames are all queued once it is closed: it closes on the event loop that queues them).
     */
    Frame next(int streamId) throws InterruptedException {
        BlockingQueue<Frame> queue = queue(streamId);
        for (int i = 0; i < 200; i++) {
            boolean open = channel.isOpen();
            Frame f = queue.poll(100, TimeUnit.MILLISECONDS);
            if (f != null) {
                return f;
            }
            if (!open) {
                throw new AssertionError("no frame on stream " + streamId + " before the connection closed"
                        + " (GOAWAY codes: " + goAwayCodes + ")");
            }
        }
        throw new AssertionError("no frame on stream " + streamId + " within 20 s");
    }

    /** Frames of {@code streamId} up to and including the one ending the stream (or its reset). */
    List<Frame> untilEnd(int streamId) throws InterruptedException {
        List<Frame> frames = new java.util.ArrayList<>();
        while (true) {
            Frame f = next(streamId);
            frames.add(f);
            if (f instanceof Reset || f instanceof Headers h && h.endStream() || f instanceof Data d && d.endStream()) {
                return frames;
            }
        }
    }

    /** Whether a frame of {@code streamId} has arrived and not been taken yet. */
    boolean hasFrame(int streamId) {
        return !queue(streamId).isEmpty();
    }

    boolean isActive() {
        return channel.isActive() && !goAway.isDone();
    }

    /** Waits for the server's GOAWAY: its last stream id and error code. */
    long[] awaitGoAway() throws Exception {
        long code = goAway.get(10, TimeUnit.SECONDS);
        return new long[] {goAwayLastStream, code};
    }

    /** The error codes of the GOAWAY frames the server sent so far, in order. */
    List<Long> goAwayCodes() {
        return goAwayCodes;
    }

    /** Whether the server closed the connection within {@code timeoutMillis}. */
    boolean awaitClosed(long timeoutMillis) {
        return channel.closeFuture().awaitUninterruptibly(timeoutMillis);
    }

    private BlockingQueue<Frame> queue(int streamId) {
        return streams.computeIfAbsent(streamId, k -> new LinkedBlockingQueue<>());
    }

    private void run(java.util.function.Consumer<ChannelHandlerContext> write) {
        channel.eventLoop().execute(() -> {
            ChannelHandlerContext c = ctx;
            write.accept(c);
            c.flush();
        });
    }

    @Override
    public void close() throws InterruptedException {
        channel.close().sync();
    }

    private final class Decoder extends ByteToMessageDecoder {
        private final DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader();
        private final Http2FrameAdapter listener = new Http2FrameAdapter() {
            @Override
            public void onSettingsRead(ChannelHandlerContext c, Http2Settings settings) {
                writer.writeSettingsAck(c, c.newPromise());
                c.flush();
                serverSettings.complete(settings);
            }

            @Override
            public void onHeadersRead(ChannelHandlerContext c, int streamId, Http2Headers headers, int padding,
                                      boolean endStream) {
                queue(streamId).add(new Headers(streamId, headers, endStream));
            }

            @Override
            public void onHeadersRead(ChannelHandlerContext c, int streamId, Http2Headers headers,
                                      int streamDependency, short weight, boolean exclusive, int padding,
                                      boolean endStream) {
                onHeadersRead(c, streamId, headers, padding, endStream);
            }

            @Override
            public int onDataRead(ChannelHandlerContext c, int streamId, ByteBuf data, int padding,
                                  boolean endOfStream) {
                int n = data.readableBytes() + padding;
                queue(streamId).add(new Data(streamId, ByteBufUtil.getBytes(data), endOfStream));
                if (n > 0 && returnWindows) {
                    writer.writeWindowUpdate(c, 0, n, c.newPromise());
                    if (!endOfStream) {
                        writer.writeWindowUpdate(c, streamId, n, c.newPromise());
                    }
                    c.flush();
                }
                return n;
            }

            @Override
            public void onRstStreamRead(ChannelHandlerContext c, int streamId, long errorCode) {
                queue(streamId).add(new Reset(streamId, errorCode));
            }

            @Override
            public void onWindowUpdateRead(ChannelHandlerContext c, int streamId, int windowSizeIncrement) {
                synchronized (windowIncrements) {
                    windowIncrements.merge(streamId, (long) windowSizeIncrement, Long::sum);
                    windowIncrements.notifyAll();
                }
            }

            @Override
            public void onPingAckRead(ChannelHandlerContext c, long data) {
                CompletableFuture<Void> ack = pingAcks.remove(data);
                if (ack != null) {
                    ack.complete(null);
                }
            }

            @Override
            public void onGoAwayRead(ChannelHandlerContext c, int lastStreamId, long errorCode, ByteBuf debugData) {
                goAwayLastStream = lastStreamId;
                goAwayCodes.add(errorCode);
                goAway.complete(errorCode);
            }
        };

        @Override
        public void handlerAdded(ChannelHandlerContext c) {
            ctx = c;
        }

        @Override
        protected void decode(ChannelHandlerContext c, ByteBuf in, List<Object> out) throws Exception {
            reader.readFrame(c, in, listener);
        }
    }
}
