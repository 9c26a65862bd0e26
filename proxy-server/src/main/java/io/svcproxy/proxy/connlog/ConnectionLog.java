package io.svcproxy.proxy.connlog;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends one JSON line per ended connection to a file, off the event loops: {@link #log} only offers the entry
 * to a bounded queue and counts it as dropped when the queue is full, so the relay never waits for the disk. A
 * writer thread drains the queue every 20 ms (it is not woken per entry), writing and flushing what it took. {@link #reopen} (on SIGHUP) makes the writer
 * close and reopen the file by name, for logrotate.
 */
public final class ConnectionLog implements AutoCloseable {
    /** The queue's capacity by default. */
    public static final int DEFAULT_CAPACITY = 65536;
    private static final Logger log = LoggerFactory.getLogger(ConnectionLog.class);
    private static final Entry STOP = new Entry(0, "", 0, "", "", "", 0, 0, 0, "");
    /** How long the writer sleeps when the queue is empty: the most a line waits before it is written. */
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /**
     * One ended connection.
     *
     * @param startEpochNanos when the client connected, nanoseconds since the epoch
     * @param client the client's address
     * @param clientPort the client's port
     * @param service {@code ns/name}
     * @param port the Service port's label (its name, or its number when unnamed)
     * @param endpoint {@code ip:port}
     * @param durationNanos how long it lasted
     * @param bytesToEndpoint bytes relayed from the client
     * @param bytesToClient bytes relayed to the client
     * @param end fin, rst, idle, drain or error
     */
    public record Entry(long startEpochNanos, String client, int clientPort, String service, String port,
                        String endpoint, long durationNanos, long bytesToEndpoint, long bytesToClient, String end) {
    }

    private final Path file;
    private final BlockingQueue<Entry> queue;
    private final Runnable onDrop;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder written = new LongAdder();
    private volatile boolean reopen;
    private Thread writer;

    /** Returns a log of {@code file} with a queue of {@code capacity}; nothing is written before {@link #start}. */
    public ConnectionLog(Path file, int capacity) {
        this(file, capacity, () -> { });
    }

    /**
     * Returns a log of {@code file} with a queue of {@code capacity} that also tells {@code onDrop} of each entry
     * dropped (from the thread that dropped it: an event loop or the writer; it must not block).
     */
    public ConnectionLog(Path file, int capacity, Runnable onDrop) {
        this.file = file;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.onDrop = onDrop;
    }

    /**
     * Opens the file (appending) and starts the writer thread.
     *
     * @throws IOException the file cannot be opened
     */
    public synchronized void start() throws IOException {
        if (writer != null) {
            return;
        }
        Writer out = open();
        writer = new Thread(() -> run(out), "connection-log");
        writer.setDaemon(true);
        writer.start();
    }

    /** Hands {@code entry} over without blocking; returns false and counts a drop when the queue is full. */
    public boolean log(Entry entry) {
        if (queue.offer(entry)) {
            return true;
        }
        drop();
        return false;
    }

    private void drop() {
        dropped.increment();
        onDrop.run();
    }

    /** Makes the writer close and reopen the file by its name before its next line (SIGHUP, for logrotate). */
    public void reopen() {
        reopen = true;
    }

    /** Returns the entries dropped because the queue was full: {@code svcproxy_connection_log_dropped_total}. */
    public long dropped() {
        return dropped.sum();
    }

    /** Returns the lines written. */
    public long written() {
        return written.sum();
    }

    /** Returns the file. */
    public Path file() {
        return file;
    }

    private Writer open() throws IOException {
        return new BufferedWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND, StandardOpenOption.WRITE), 1 << 16);
    }

    private void run(Writer first) {
        Writer out = first;
        List<Entry> batch = new ArrayList<>(1024);
        StringBuilder line = new StringBuilder(256);
        try {
            while (true) {
                // The writer wakes on its own cadence rather than being signalled per entry: a queue that hands
                // each entry to a waiting thread costs a wake-up (a futex call and a context switch) per ended
                // connection on the event loop, measurable in the new-connections bench row on 2 cores.
                if (queue.drainTo(batch, 1024) == 0) {
                    if (Thread.interrupted()) {
                        throw new InterruptedException();
                    }
                    LockSupport.parkNanos(this, IDLE_PARK_NANOS);
                    continue;
                }
                boolean stop = false;
                if (reopen) {
                    reopen = false;
                    out = reopen(out);
                }
                for (Entry entry : batch) {
                    if (entry == STOP) {
                        stop = true;
                        break;
                    }
                    if (out == null) {
                        drop();
                        continue;
                    }
                    line.setLength(0);
                    format(entry, line);
                    try {
                        out.write(line.append('\n').toString());
                        written.increment();
                    } catch (IOException failed) {
                        out = failed(out, failed);
                        drop();
                    }
                }
                batch.clear();
                if (out != null && (queue.isEmpty() || stop)) {
                    try {
                        out.flush();
                    } catch (IOException failed) {
                        out = failed(out, failed);
                    }
                }
                if (stop) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (out != null) {
                try {
                    out.close();
                } catch (IOException e) {
                    log.error("Connection log close failed file={} error={}", file, e.toString());
                }
            }
        }
    }

    /** A write failed (disk full, file system gone): entries are dropped and counted until the next reopen. */
    private Writer failed(Writer out, IOException cause) {
        log.error("Connection log write failed, entries are dropped until the next reopen (SIGHUP) file={} error={}",
                file, cause.toString());
        try {
            out.close();
        } catch (IOException e) {
            // already failing: the write error above is the one to report
        }
        return null;
    }

    private Writer reopen(Writer out) {
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            log.warn("Connection log close failed file={} error={}", file, e.toString());
        }
        try {
            return open();
        } catch (IOException e) {
            log.error("Connection log reopen failed, entries are dropped until the next reopen file={} error={}",
                    file, e.toString());
            return null;
        }
    }

    /** Formats {@code e} as SPEC's JSON object; times in seconds with 6 decimals. */
    static void format(Entry e, StringBuilder b) {
        seconds(b.append("{\"start\": "), e.startEpochNanos())
                .append(", \"client\": \"").append(e.client())
                .append("\", \"clientPort\": ").append(e.clientPort())
                .append(", \"service\": ");
        JsonText.appendQuoted(b, e.service()).append(", \"port\": ");
        if (isNumber(e.port())) {
            b.append(e.port());
        } else {
            JsonText.appendQuoted(b, e.port());
        }
        b.append(", \"endpoint\": \"").append(e.endpoint())
                .append("\", \"duration\": ");
        seconds(b, e.durationNanos())
                .append(", \"bytesToEndpoint\": ").append(e.bytesToEndpoint())
                .append(", \"bytesToClient\": ").append(e.bytesToClient())
                .append(", \"end\": \"").append(e.end()).append("\"}");
    }

    private static StringBuilder seconds(StringBuilder b, long nanos) {
        long micros = Math.floorDiv(nanos, 1000L);
        long fraction = Math.floorMod(micros, 1_000_000L);
        b.append(Math.floorDiv(micros, 1_000_000L)).append('.');
        for (long scale = 100_000L; scale > 1 && fraction < scale; scale /= 10) {
            b.append('0');
        }
        return b.append(fraction);
    }

    private static boolean isNumber(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    /** Writes what is queued, then stops the writer and closes the file. */
    @Override
    public void close() throws InterruptedException {
        Thread w;
        synchronized (this) {
            w = writer;
        }
        if (w == null) {
            return;
        }
        queue.put(STOP);
        w.join(TimeUnit.SECONDS.toMillis(10));
    }
}
