package io.svcproxy.proxy.fault;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An endpoint that misbehaves on purpose, in the manner of Toxiproxy's toxics, on blocking sockets with a thread
 * per connection (test code: plain beats clever). Every connection is served by the {@link Fault} it was started
 * with; {@link #setFault} changes it for connections accepted from then on. Tracks what it saw, so that tests
 * can assert that svcproxy closed its side.
 */
public final class FaultyBackend implements AutoCloseable {
    /** What the endpoint does with each connection. */
    public enum Fault {
        /** Echoes every byte back until the client closes (the well-behaved endpoint). */
        ECHO,
        /** Reads the request, sends {@code bytes} of a longer answer, then dies: its socket closes mid-transfer. */
        DIE_MID_TRANSFER,
        /** Reads the request, sends {@code bytes}, then resets the connection (SO_LINGER 0). */
        RESET_MID_TRANSFER,
        /** Accepts and never reads nor writes; holds the connection until svcproxy closes it. */
        NEVER_ANSWER,
        /** Reads the request, sends {@code bytes}, then stalls: neither reads nor writes, holds the connection. */
        ANSWER_THEN_STALL,
        /** Reads slowly: {@code bytes} per 10 ms, discarding them. */
        SLOW_READER,
        /** Sends {@code bytes} of a deterministic stream (see {@link #streamByte}) right after accept, then closes. */
        STREAM
    }

    private final ServerSocket server;
    private final Thread acceptor;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.ExecutorService workers = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "faulty-conn");
        t.setDaemon(true);
        return t;
    });
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger closedByPeer = new AtomicInteger();
    private final AtomicLong received = new AtomicLong();
    private volatile Fault fault;
    private volatile int bytes;
    private volatile boolean closed;

    private FaultyBackend(ServerSocket server, Fault fault, int bytes) {
        this.server = server;
        this.fault = fault;
        this.bytes = bytes;
        this.acceptor = new Thread(this::acceptLoop, "faulty-backend-" + server.getLocalSocketAddress());
        this.acceptor.setDaemon(true);
        this.acceptor.start();
    }

    /** Starts an endpoint on {@code ip}, port chosen by the kernel. */
    public static FaultyBackend start(String ip, Fault fault, int bytes) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(ip), 0), 1024);
        return new FaultyBackend(server, fault, bytes);
    }

    /** Starts an endpoint on {@code ip:port} (to bring a dead endpoint back on its address). */
    public static FaultyBackend start(String ip, int port, Fault fault, int bytes) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(ip), port), 1024);
        return new FaultyBackend(server, fault, bytes);
    }

    /** Returns the byte at {@code offset} of the {@link Fault#STREAM} answer. */
    public static byte streamByte(long offset) {
        return (byte) (offset * 31 + (offset >>> 8));
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    public int port() {
        return server.getLocalPort();
    }

    public void setFault(Fault fault, int bytes) {
        this.fault = fault;
        this.bytes = bytes;
    }

    /** Returns the connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Returns the connections still open on this side. */
    public int openConnections() {
        return open.size();
    }

    /** Returns whether a connection from {@code port} (svcproxy's side) was accepted and is open. */
    public boolean hasConnectionFrom(int port) {
        return open.stream().anyMatch(s -> s.getPort() == port);
    }

    /** Returns the connections that svcproxy ended (end of stream or reset seen by this endpoint). */
    public int closedByPeer() {
        return closedByPeer.get();
    }

    /** Returns the bytes read from svcproxy. */
    public long received() {
        return received.get();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            accepted.incrementAndGet();
            open.add(s);
            Fault f = fault;
            int n = bytes;
            try {
                workers.execute(() -> serve(s, f, n));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // accepted as the backend closes: not served, and closed rather than left to the collector
                open.remove(s);
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
                return;
            }
        }
    }

    private void serve(Socket s, Fault f, int n) {
        boolean peerClosed = false;
        try {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buffer = new byte[64 << 10];
            switch (f) {
                case ECHO -> {
                    int r;
                    while ((r = in.read(buffer)) >= 0) {
                        received.addAndGet(r);
                        out.write(buffer, 0, r);
                    }
                    peerClosed = true;
                }
                case DIE_MID_TRANSFER, RESET_MID_TRANSFER, ANSWER_THEN_STALL -> {
                    int r = in.read(buffer);
                    if (r < 0) {
                        peerClosed = true;
                        break;
                    }
                    received.addAndGet(r);
                    writeStream(out, n);
                    if (f == Fault.RESET_MID_TRANSFER) {
                        s.setSoLinger(true, 0);
                    } else if (f == Fault.ANSWER_THEN_STALL) {
                        peerClosed = waitForPeer(in);
                    }
                }
                case NEVER_ANSWER -> peerClosed = waitForPeer(in);
                case SLOW_READER -> {
                    byte[] small = new byte[Math.max(1, n)];
                    int r;
                    while ((r = in.read(small)) >= 0) {
                        received.addAndGet(r);
                        Thread.sleep(10);
                    }
                    peerClosed = true;
                }
                case STREAM -> writeStream(out, n);
                default -> throw new AssertionError(f);
            }
        } catch (SocketException e) {
            peerClosed = true; // a reset, or svcproxy closed while we wrote
        } catch (IOException | InterruptedException e) {
            // the endpoint is closing
        } finally {
            if (peerClosed) {
                closedByPeer.incrementAndGet();
            }
            open.remove(s);
            try {
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    /**
     * Holds the connection without answering until svcproxy closes it. It reads (and discards) only to learn of
     * the FIN or reset, a trickle at a time, so that a client writing into it is held back by flow control.
     */
    private boolean waitForPeer(InputStream in) throws IOException {
        byte[] small = new byte[512];
        while (!closed) {
            int r = in.read(small);
            if (r < 0) {
                return true;
            }
            received.addAndGet(r);
            try {
                Thread.sleep(5); // a trickle: a client writing into it is soon held back
            } catch (InterruptedException e) {
                return false;
            }
        }
        return false;
    }

    private static void writeStream(OutputStream out, int n) throws IOException {
        byte[] chunk = new byte[8192];
        long offset = 0;
        while (offset < n) {
            int len = (int) Math.min(chunk.length, n - offset);
            for (int i = 0; i < len; i++) {
                chunk[i] = streamByte(offset + i);
            }
            out.write(chunk, 0, len);
            offset += len;
        }
        out.flush();
    }

    /** Closes the listener and every connection (the endpoint's process dies). */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        workers.shutdown();
        try {
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until no connection is open on this side, for at most {@code millis}; returns whether none is. */
    public boolean awaitNoOpenConnections(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (!open.isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
        }
        return open.isEmpty();
    }
}
