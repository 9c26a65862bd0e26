package io.svcproxy.proxy.dataplane;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one {@link TransferCase} with blocking sockets: the client and the endpoint each write their stream and
 * read the other's, four tasks in all, and each side records what it saw: how many bytes, whether they were the
 * bytes sent at those offsets, and how its stream ended (FIN, reset, or its own reset).
 */
final class Transfer {
    /** How a side's reading ended. */
    enum Ending { EOF, RESET, OWN_RESET, NOT_READ }

    private static final long STALL_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(400);

    private final TransferCase c;
    private final ExecutorService pool;
    private final Side client = new Side("client");
    private final Side endpoint = new Side("endpoint");

    Transfer(TransferCase c, ExecutorService pool) {
        this.c = c;
        this.pool = pool;
    }

    Side client() {
        return client;
    }

    Side endpoint() {
        return endpoint;
    }

    /** Connects through the proxy, accepts the endpoint side, runs the four tasks and closes both sockets. */
    void run(String vip, int port, ServerSocket server) throws Exception {
        server.setSoTimeout(10_000);
        try (Socket clientSocket = new Socket()) {
            clientSocket.setSoTimeout(30_000);
            clientSocket.connect(new InetSocketAddress(vip, port), 5000);
            try (Socket endpointSocket = server.accept()) {
                endpointSocket.setSoTimeout(30_000);
                client.socket = clientSocket;
                endpoint.socket = endpointSocket;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                Future<?> clientWrites = pool.submit(() -> write(client, c.upSize(), c.clientResetAt(),
                        c.clientWriteChunk(), c.seed() ^ 0x55));
                Future<?> clientReads = pool.submit(() -> read(client, c.seed() ^ 0xAA, c.clientReadChunk()));
                Future<?> endpointSide = pool.submit(this::endpointTasks);
                for (Future<?> f : new Future<?>[] {clientWrites, clientReads, endpointSide}) {
                    long left = deadline - System.nanoTime();
                    try {
                        f.get(Math.max(left, 1), TimeUnit.NANOSECONDS);
                    } catch (TimeoutException e) {
                        throw new TimeoutException("transfer still running after 90 s: " + this);
                    }
                }
            }
        }
    }

    private Void endpointTasks() throws Exception {
        Runnable writes = () -> write(endpoint, c.downSize(), c.endpointResetAt(), c.endpointWriteChunk(),
                c.seed() ^ 0xAA);
        Runnable reads = () -> read(endpoint, c.seed() ^ 0x55, c.endpointReadChunk());
        switch (c.order()) {
            case CONCURRENT -> {
                Future<?> w = pool.submit(writes);
                reads.run();
                w.get();
            }
            case ANSWER_FIRST -> {
                writes.run();
                reads.run();
            }
            case READ_FIRST -> {
                reads.run();
                writes.run();
            }
            case LATE_READ -> {
                Future<?> w = pool.submit(writes);
                Thread.sleep(c.lateReadMillis());
                reads.run();
                w.get();
            }
        }
        return null;
    }

    /** Writes {@code size} bytes of the stream of {@code streamSeed}; then FIN, or a reset at {@code resetAt}. */
    private void write(Side side, long size, long resetAt, int maxChunk, long streamSeed) {
        SplittableRandom r = new SplittableRandom(streamSeed ^ 0x3779);
        long stalled = 0;
        try {
            if (side.ownReset) {
                return; // its reading already ended by resetting (READ_FIRST after a reset of its own)
            }
            OutputStream out = side.socket.getOutputStream();
            PatternStream pattern = new PatternStream(streamSeed);
            byte[] buffer = new byte[maxChunk];
            long written = 0;
            while (written < size) {
                if (resetAt >= 0 && written >= resetAt) {
                    break;
                }
                long limit = resetAt >= 0 ? resetAt : size;
                int n = (int) Math.min(limit - written, 1 + r.nextInt(maxChunk));
                pattern.fill(buffer, n);
                out.write(buffer, 0, n);
                written += n;
                if (c.stall(r) && stalled < STALL_BUDGET_NANOS) {
                    long sleep = 1 + r.nextInt(20);
                    Thread.sleep(sleep);
                    stalled += TimeUnit.MILLISECONDS.toNanos(sleep);
                }
            }
            if (resetAt >= 0) {
                side.ownReset = true;
                side.socket.setSoLinger(true, 0);
                side.socket.close();
            } else {
                side.socket.shutdownOutput();
            }
        } catch (IOException e) {
            side.ioFailed(e, "write");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            side.error = "interrupted";
        }
    }

    /** Reads to the end, checking every byte against the stream of {@code streamSeed} at its offset. */
    private void read(Side side, long streamSeed, int maxChunk) {
        SplittableRandom r = new SplittableRandom(streamSeed ^ 0x7a11);
        if (side.ownReset) {
            side.ending = Ending.OWN_RESET;
            return;
        }
        PatternStream pattern = new PatternStream(streamSeed);
        byte[] buffer = new byte[maxChunk];
        byte[] expected = new byte[maxChunk];
        long stalled = 0;
        try {
            InputStream in = side.socket.getInputStream();
            int n;
            while ((n = in.read(buffer, 0, 1 + r.nextInt(maxChunk))) >= 0) {
                pattern.fill(expected, n);
                if (side.mismatchAt < 0) {
                    for (int i = 0; i < n; i++) {
                        if (buffer[i] != expected[i]) {
                            side.mismatchAt = side.received + i;
                            break;
                        }
                    }
                }
                side.received += n;
                if (c.stall(r) && stalled < STALL_BUDGET_NANOS) {
                    long sleep = 1 + r.nextInt(20);
                    Thread.sleep(sleep);
                    stalled += TimeUnit.MILLISECONDS.toNanos(sleep);
                }
            }
            side.ending = Ending.EOF;
        } catch (IOException e) {
            side.ioFailed(e, "read");
            if (side.ending == null) {
                side.ending = side.ownReset ? Ending.OWN_RESET : side.resetSeen ? Ending.RESET : null;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            side.error = "interrupted";
        }
    }

    @Override
    public String toString() {
        Socket socket = client.socket;
        return (socket == null ? "" : "client port " + socket.getLocalPort() + ": ") + client + "; " + endpoint;
    }

    /** What one side saw. Written by its tasks, read after they ended (the futures publish the writes). */
    static final class Side {
        private final String name;
        private volatile Socket socket;
        private volatile long received;
        private volatile long mismatchAt = -1;
        private volatile Ending ending;
        private volatile boolean resetSeen;
        private volatile boolean ownReset;
        private volatile String error;

        Side(String name) {
            this.name = name;
        }

        /** Classifies an I/O failure: a reset from the peer, this side's own reset, or an error of the test. */
        void ioFailed(IOException e, String op) {
            String message = String.valueOf(e.getMessage());
            if (ownReset && (e instanceof SocketException) && message.contains("closed")) {
                return; // this side reset its own socket while the other task used it
            }
            if (message.contains("reset") || message.contains("Broken pipe")) {
                resetSeen = true;
                return;
            }
            if (e instanceof SocketTimeoutException) {
                error = op + " timed out after " + received + " bytes received";
                return;
            }
            error = op + ": " + e;
        }

        long received() {
            return received;
        }

        long mismatchAt() {
            return mismatchAt;
        }

        Ending ending() {
            return ending == null ? Ending.NOT_READ : ending;
        }

        boolean resetSeen() {
            return resetSeen;
        }

        String error() {
            return error;
        }

        @Override
        public String toString() {
            return name + "{received=" + received + ", ending=" + ending() + ", resetSeen=" + resetSeen
                    + (ownReset ? ", ownReset" : "") + (mismatchAt >= 0 ? ", mismatchAt=" + mismatchAt : "")
                    + (error != null ? ", error=" + error : "") + "}";
        }
    }

    /** A stream of pseudo-random bytes that depends only on its seed and the offset, not on the chunking. */
    static final class PatternStream {
        private static final int BLOCK = 64 << 10;
        private final long seed;
        private final byte[] block = new byte[BLOCK];
        private long blockIndex = -1;
        private long offset;

        PatternStream(long seed) {
            this.seed = seed;
        }

        /** Fills {@code out[0, n)} with the next {@code n} bytes of the stream. */
        void fill(byte[] out, int n) {
            int done = 0;
            while (done < n) {
                long index = offset / BLOCK;
                if (index != blockIndex) {
                    SplittableRandom r = new SplittableRandom(seed * 31 + index);
                    for (int i = 0; i < BLOCK; i += 8) {
                        long v = r.nextLong();
                        for (int k = 0; k < 8; k++) {
                            block[i + k] = (byte) (v >>> (k * 8));
                        }
                    }
                    blockIndex = index;
                }
                int at = (int) (offset % BLOCK);
                int len = Math.min(n - done, BLOCK - at);
                System.arraycopy(block, at, out, done, len);
                done += len;
                offset += len;
            }
        }
    }
}
