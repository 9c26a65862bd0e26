package io.svcproxy.proxy.connlog;

import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends one JSON line per ended connection to a file, off the event loops: {@link #log} only offers the entry
 * to a bounded lock-free queue and counts it as dropped when the queue is full, so the relay never waits for the
 * disk nor for a lock. A writer thread of its own drains the queue every 20 ms (it is never woken per entry),
 * formats the lines straight into bytes and writes them to the file in large writes: when 256 KiB are formatted,
 * and at the latest {@value #WRITE_INTERVAL_MILLIS} ms after the first line waiting. {@link #reopen} (on SIGHUP)
 * makes the writer close and reopen the file by name, for logrotate.
 *
 * <p>A file that is not a regular one (a log shipper's named pipe, {@code /dev/stdout}, which is a pipe in a
 * container) is opened by the writer thread, not by {@link #start}: open(2) of a named pipe for writing waits for
 * its reader, for good when none comes, and {@link #start} runs on the thread that starts the server or applies a
 * reload (under the server's lock). Meanwhile lines queue, and are dropped and counted when the queue is full;
 * {@link #close} does not wait for a writer still in that open (it closes what it opened, when it is).
 *
 * <p>Nor does a close wait for good on a reader that stopped reading (a write(2) to a full pipe blocks until it
 * reads): a write still blocked {@value #STALL_MILLIS} ms after the close was asked (to a pipe the writes are of
 * 16 KiB at most, so that a reader that reads, if slowly, is seen to), or a writer still busy
 * {@value #CLOSE_WAIT_MILLIS} ms after it, is given up (its thread interrupted, which closes the file and ends the
 * write); what it had not written is dropped and counted in {@code svcproxy_connection_log_dropped_total}, and the
 * reader may find the last line cut. HAProxy's log does not wait either (a datagram that cannot be sent is
 * dropped). A reload that moves the log elsewhere does not wait at all ({@link #closeLater}): the bound applies on a
 * thread of the log's own.
 *
 * <p>Why so few writes: each write is a system call and, for a log in a watched folder (the config's folder, where a
 * relative {@code connectionLog} lands), a file-system event that wakes the config watcher to compare its files.
 */
public final class ConnectionLog implements AutoCloseable {
    /** The queue's capacity by default. */
    public static final int DEFAULT_CAPACITY = 65536;
    /** The most a formatted line waits before it is written, when fewer than {@link #WRITE_AT} bytes are waiting. */
    public static final long WRITE_INTERVAL_MILLIS = 250;
    private static final Logger log = LoggerFactory.getLogger(ConnectionLog.class);
    /** How long the writer sleeps between drains of the queue. */
    private static final long DRAIN_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final long WRITE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(WRITE_INTERVAL_MILLIS);
    /** How long after a failure to open or write the file the writer tries it again. */
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** How long a close waits for the writer's last writes in all (a reader that reads, if slowly). */
    public static final long CLOSE_WAIT_MILLIS = 10_000;
    /** A write blocked this long after the close was asked is given up: its reader stopped reading. */
    public static final long STALL_MILLIS = 1_000;
    private static final long NOT_WRITING = Long.MIN_VALUE;
    /**
     * The most written to a pipe at once (a quarter of its usual 64 KiB): a reader that takes less than this in
     * {@link #STALL_MILLIS} ms at a close counts as stopped. Below some 4,000 lines a second every write is smaller.
     */
    private static final int PIPE_PIECE = 16 * 1024;
    /** Formatted bytes that are written at once, whatever their age: some 1,100 lines. */
    static final int WRITE_AT = 256 * 1024;

    /**
     * One ended connection. The event loop that records it only copies references and numbers (no text is made
     * there); the writer thread formats it.
     *
     * @param startEpochNanos when the client connected, nanoseconds since the epoch
     * @param clientAddress the client's address
     * @param clientPort the client's port
     * @param service {@code ns/name}
     * @param port the Service port's label (its name, or its number when unnamed)
     * @param endpoint {@code ip:port}
     * @param durationNanos how long it lasted
     * @param bytesToEndpoint bytes relayed from the client
     * @param bytesToClient bytes relayed to the client
     * @param end fin, rst, idle, drain or error
     */
    public record Entry(long startEpochNanos, InetAddress clientAddress, int clientPort, String service, String port,
                        String endpoint, long durationNanos, long bytesToEndpoint, long bytesToClient, String end) {
        /**
         * Returns the client's address as the log writes it: an IPv6 one in its RFC 5952 form, without a scope
         * ({@link io.svcproxy.balancer.Backends#formatIp}).
         */
        public String client() {
            return io.svcproxy.balancer.Backends.formatIp(clientAddress);
        }
    }

    private final Path file;
    private final Queue<Entry> queue;
    private final Runnable onDrop;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder written = new LongAdder();
    private volatile boolean reopen;
    /**
     * When the writer tries the file again after a failure to open or write it ({@code 0}: no failure pending); the
     * writer's own. A disk that was full, or a folder that came back, takes lines again without a SIGHUP, as nginx's
     * log writes go on once they can.
     */
    private long retryAtNanos;
    private volatile boolean closing;
    /** When the writer's current write(2) started ({@link #NOT_WRITING}: none), for a close to see a stalled reader. */
    private volatile long writingSince = NOT_WRITING;
    /** The close gave the writer up and interrupted it: its failing write is not an error of its own. */
    private volatile boolean givenUp;
    /** The file open is not a regular one (a named pipe): written in pieces; set where it is opened. */
    private boolean pipe;
    /** The writer is opening a file that is not a regular one (it may wait for a reader): close does not wait. */
    private volatile boolean opening;
    private Thread writer;

    /** Returns a log of {@code file} with a queue of {@code capacity}; nothing is written before {@link #start}. */
    public ConnectionLog(Path file, int capacity) {
        this(file, capacity, () -> { });
    }

    /**
     * Returns a log of {@code file} with a queue of {@code capacity} entries (rounded up to a power of two) that
     * also tells {@code onDrop} of each entry dropped (from the thread that dropped it: an event loop or the writer;
     * it must not block).
     */
    public ConnectionLog(Path file, int capacity, Runnable onDrop) {
        if (capacity < 2) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 2)");
        }
        this.file = file;
        // JCTools' MpscArrayQueue (shaded in Netty): an offer is one CAS, no lock shared with the writer
        this.queue = PlatformDependent.newFixedMpscQueue(capacity);
        this.onDrop = onDrop;
    }

    /**
     * Opens the file (appending) and starts the writer thread. A file that exists and is not a regular one (a named
     * pipe, a device) is opened by the writer thread instead, as its open may wait for a reader; a failure to open
     * it is then logged, and its lines dropped and counted until it opens (tried every second, and at {@link
     * #reopen}).
     *
     * @throws IOException the (regular) file cannot be opened
     */
    public synchronized void start() throws IOException {
        if (writer != null) {
            return;
        }
        boolean onWriter = notRegular();
        FileChannel out = onWriter ? null : open();
        opening = onWriter;
        writer = new Thread(() -> run(out, onWriter), "connection-log");
        writer.setDaemon(true);
        writer.start();
    }

    /** Hands {@code entry} over without blocking; returns false and counts a drop when the queue is full. */
    public boolean log(Entry entry) {
        if (queue.offer(entry)) {
            return true;
        }
        drop(1);
        return false;
    }

    private void drop(int lines) {
        dropped.add(lines);
        for (int i = 0; i < lines; i++) {
            onDrop.run();
        }
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

    /** Whether the file exists and is not a regular one: a named pipe, a device, whose open(2) may wait. */
    private boolean notRegular() {
        return java.nio.file.Files.exists(file) && !java.nio.file.Files.isRegularFile(file);
    }

    /**
     * Opens the file on the writer thread: a file that is not a regular one with {@link #opening} set, so that
     * {@link #close} does not wait for an open that waits for a reader. Returns {@code null} when the open failed
     * (logged as {@code failure}, or at DEBUG when that is {@code null}: a retry), and the file is tried again a
     * second later; lines are dropped and counted meanwhile. When {@link #close} came during the open of such a
     * file, closes what was opened and throws {@link Abandoned}: close did not wait for this writer, which stops
     * without writing.
     */
    private FileChannel openOnWriter(String failure) {
        boolean wait = notRegular();
        opening = wait;
        FileChannel out;
        try {
            out = open();
        } catch (IOException e) {
            if (failure != null) {
                log.error(failure + " file={} error={}", file, e.toString());
            } else {
                log.debug("Connection log still cannot be opened file={} error={}", file, e.toString());
            }
            retryAtNanos = System.nanoTime() + RETRY_NANOS;
            out = null;
        } finally {
            opening = false;
        }
        if (wait && closing) {
            if (out != null) {
                try {
                    out.close();
                } catch (IOException e) {
                    log.warn("Connection log close failed file={} error={}", file, e.toString());
                }
            }
            throw new Abandoned();
        }
        return out;
    }

    /** The log was closed while its writer waited in open(2): close did not wait, the writer stops now. */
    private static final class Abandoned extends RuntimeException {
        Abandoned() {
            super(null, null, false, false);
        }
    }

    private FileChannel open() throws IOException {
        FileChannel out = LogFiles.openAppending(file);
        pipe = !java.nio.file.Files.isRegularFile(file);
        return out;
    }

    private void run(FileChannel first, boolean openFirst) {
        FileChannel out = first;
        LineEncoder lines = new LineEncoder(WRITE_AT + 8192);
        int waiting = 0; // lines formatted, not yet written
        long firstWaitingNanos = 0;
        try {
            if (openFirst) {
                out = openOnWriter("Connection log cannot be opened, entries are dropped until it can (tried every "
                        + "second, and at SIGHUP)");
            }
            while (true) {
                boolean stop = closing; // read before draining: what was offered before close() is drained now
                if (out == null && retryAtNanos != 0 && !reopen && System.nanoTime() - retryAtNanos >= 0) {
                    retryAtNanos = 0;
                    long droppedBefore = dropped.sum();
                    out = openOnWriter(null);
                    if (out != null) {
                        log.info("Connection log written again file={} droppedTotal={}", file, droppedBefore);
                    }
                }
                if (reopen) {
                    reopen = false;
                    out = write(out, lines, waiting);
                    waiting = 0;
                    out = reopen(out);
                }
                for (Entry entry; (entry = queue.poll()) != null; ) {
                    if (out == null) {
                        drop(1);
                        continue;
                    }
                    if (waiting == 0) {
                        firstWaitingNanos = System.nanoTime();
                    }
                    lines.append(entry);
                    waiting++;
                    if (lines.size() >= WRITE_AT) {
                        out = write(out, lines, waiting);
                        waiting = 0;
                    }
                }
                if (waiting > 0 && (stop || System.nanoTime() - firstWaitingNanos >= WRITE_INTERVAL_NANOS)) {
                    out = write(out, lines, waiting);
                    waiting = 0;
                }
                if (stop) {
                    break;
                }
                // The writer wakes on its own cadence rather than being signalled per entry: a queue that hands
                // each entry to a waiting thread costs a wake-up (a futex call and a context switch) per ended
                // connection on the event loop, measurable in the new-connections bench row on 2 cores.
                LockSupport.parkNanos(this, DRAIN_INTERVAL_NANOS);
                if (Thread.interrupted()) {
                    break;
                }
            }
            // stopped, or given up by close (interrupted): what is formatted or queued and not written is dropped
            dropLeft(waiting);
        } catch (Abandoned closedWhileOpening) {
            // close() did not wait: what is still queued is dropped and counted
            out = null;
            dropLeft(waiting);
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

    /** Drops and counts the {@code formatted} lines not written and what is still queued. */
    private void dropLeft(int formatted) {
        int left = formatted;
        while (queue.poll() != null) {
            left++;
        }
        if (left > 0) {
            drop(left);
        }
    }

    /**
     * Writes the {@code count} lines formatted in {@code lines} and clears it; returns the channel, or {@code null}
     * when the write failed (disk full, file system gone): those lines and the next ones are dropped and counted
     * until the file is opened again (a second later, or at SIGHUP).
     */
    private FileChannel write(FileChannel out, LineEncoder lines, int count) {
        if (count == 0) {
            return out;
        }
        try {
            if (out == null) {
                drop(count);
                return null;
            }
            int end = lines.size();
            ByteBuffer bytes = ByteBuffer.wrap(lines.array(), 0, end);
            try {
                while (bytes.position() < end) {
                    // to a pipe in pieces: its write(2) returns only once all of it is in the pipe, so one write of
                    // 256 KiB to a reader that reads slowly stays blocked for seconds, which a close would take for
                    // a reader that stopped reading; each piece taken tells that the reader reads
                    bytes.limit(pipe ? Math.min(end, bytes.position() + PIPE_PIECE) : end);
                    writingSince = System.nanoTime();
                    out.write(bytes);
                }
            } finally {
                writingSince = NOT_WRITING;
            }
            written.add(count);
            return out;
        } catch (IOException failed) {
            drop(count);
            try {
                out.close(); // closed already when the close interrupted the write; not when it failed otherwise
            } catch (IOException e) {
                // already failing: the write error is the one to report
            }
            if (givenUp) {
                // the close gave the writer up and said so: a write it interrupted (ClosedByInterruptException) or
                // one that failed at that moment (the reader gone: EPIPE) needs no second report
                return null;
            }
            log.error("Connection log write failed, entries are dropped until it can be written again (tried every "
                    + "second, and at SIGHUP) file={} error={}", file, failed.toString());
            // opened again later: a regular file's cut last entry is removed then (open), so lines stay whole
            retryAtNanos = System.nanoTime() + RETRY_NANOS;
            return null;
        } finally {
            lines.clear();
        }
    }

    private FileChannel reopen(FileChannel out) {
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            log.warn("Connection log close failed file={} error={}", file, e.toString());
        }
        retryAtNanos = 0;
        return openOnWriter("Connection log reopen failed, entries are dropped until it can be opened (tried every "
                + "second, and at SIGHUP)");
    }

    /** Returns {@code e}'s line as SPEC's JSON object (without the newline); times in seconds with 6 decimals. */
    static String format(Entry e) {
        LineEncoder line = new LineEncoder(256);
        line.append(e);
        return new String(line.array(), 0, line.size() - 1, StandardCharsets.UTF_8);
    }

    /**
     * Writes what is queued, then stops the writer and closes the file, waiting for that as long as the writes go
     * on: a write still blocked {@value #STALL_MILLIS} ms after this was asked (a pipe whose reader stopped
     * reading), or a writer still busy after {@value #CLOSE_WAIT_MILLIS} ms, is given up, and what it had not
     * written dropped and counted (the class comment). Does not wait for a writer still opening a file that is not
     * a regular one (a named pipe with no reader yet): that writer closes what it opens, and drops (and counts) what
     * is queued.
     */
    @Override
    public void close() throws InterruptedException {
        Thread w = stop();
        if (w != null) {
            awaitWriter(w);
        }
    }

    /**
     * As {@link #close}, without waiting: the writer writes what is queued on its own and closes the file then, and
     * a thread of the log's own gives it up as {@link #close} would (a reload that moves the log elsewhere, under
     * the server's lock: a pipe whose reader stopped reading holds that writer in write(2)).
     */
    public void closeLater() {
        Thread w = stop();
        if (w != null && w.isAlive()) {
            Thread closer = new Thread(() -> {
                try {
                    awaitWriter(w);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "connection-log-close");
            closer.setDaemon(true);
            closer.start();
        }
    }

    /** Waits for the stopping writer {@code w}, and gives it up when its reader stalls or it takes too long. */
    private void awaitWriter(Thread w) throws InterruptedException {
        long asked = System.nanoTime();
        long stallNanos = TimeUnit.MILLISECONDS.toNanos(STALL_MILLIS);
        long boundNanos = TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MILLIS);
        while (w.isAlive() && !opening) {
            long now = System.nanoTime();
            long since = writingSince;
            boolean stalled = since != NOT_WRITING && now - (since - asked > 0 ? since : asked) >= stallNanos;
            if (stalled || now - asked >= boundNanos) {
                log.warn("Connection log writer given up at close: {}; what it had not written is dropped file={}",
                        stalled ? "its reader has not taken a write for " + STALL_MILLIS + " ms"
                                : "still writing after " + CLOSE_WAIT_MILLIS + " ms", file);
                givenUp = true;
                w.interrupt(); // a write(2) in progress ends (the file is closed): ClosedByInterruptException
                w.join(STALL_MILLIS);
                return;
            }
            w.join(20);
        }
    }

    /** Tells the writer to stop once what is queued is written; returns it, or {@code null} when never started. */
    private Thread stop() {
        Thread w;
        synchronized (this) {
            w = writer;
        }
        if (w != null) {
            closing = true;
            LockSupport.unpark(w);
        }
        return w;
    }
}
