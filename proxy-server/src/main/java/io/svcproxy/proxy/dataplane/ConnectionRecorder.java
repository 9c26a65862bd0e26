package io.svcproxy.proxy.dataplane;

import io.svcproxy.proxy.connlog.ConnectionLog;
import io.svcproxy.proxy.connlog.EndReason;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records each ended TCP connection and UDP flow: into its Service port's {@link
 * io.svcproxy.proxy.connlog.RecentConnections} (the "what if" card) and, when {@code proxy.connectionLog} is
 * set, into the {@link ConnectionLog}. {@link #ended} is called on event loops and never blocks: it builds one
 * entry of references and numbers (no text) and hands it over. The log is set, replaced (a new file name), removed and reopened by the control plane.
 */
public final class ConnectionRecorder implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConnectionRecorder.class);

    /**
     * The epoch nanoseconds at System.nanoTime() 0: a start read once per connection as nanoTime is exact to the ns.
     * One per process, so that the ended connections and those still open ({@link ServicePort#stillOpen}) that the
     * "what if" card replays together are on one clock.
     */
    private static final long EPOCH_OFFSET_NANOS = epochOffset();

    private final ProxyMetrics metrics;
    private volatile ConnectionLog connectionLog;

    public ConnectionRecorder(ProxyMetrics metrics) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    private static long epochOffset() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano() - System.nanoTime();
    }

    /** Returns the epoch nanoseconds of the System.nanoTime() {@code nanoTime}. */
    public static long epochNanos(long nanoTime) {
        return EPOCH_OFFSET_NANOS + nanoTime;
    }

    /**
     * Records a connection or flow of {@code port} that ended now. Event-loop thread; never blocks.
     *
     * @param startNanoTime System.nanoTime() when the client connected (its first datagram for a flow)
     * @param endpoint the endpoint it was given, {@code ip:port}
     */
    public void ended(ServicePort port, long startNanoTime, InetSocketAddress client, String endpoint,
                      long bytesToEndpoint, long bytesToClient, EndReason end) {
        long now = System.nanoTime();
        // references and numbers only: the labels and the endpoint text are made once, the writer formats the line
        ConnectionLog.Entry entry = new ConnectionLog.Entry(epochNanos(startNanoTime), client.getAddress(),
                client.getPort(), port.serviceLabel(), port.portLabel(), endpoint, Math.max(0, now - startNanoTime),
                bytesToEndpoint, bytesToClient, end.label());
        port.recent().add(entry);
        ConnectionLog out = connectionLog;
        if (out != null) {
            out.log(entry);
        }
    }

    /**
     * Writes to {@code file} from now on ({@code null}: no log); the previous log closes once what it queued is
     * written, without this waiting for it. Keeps the log in force when {@code file} is the same. Control-plane thread.
     *
     * @throws IOException {@code file} cannot be opened; the previous log is kept
     */
    public void setFile(Path file) throws IOException {
        setFile(file, ConnectionLog.DEFAULT_CAPACITY);
    }

    /** As {@link #setFile(Path)}, with a queue of {@code capacity} entries (tests fill a small one). */
    synchronized void setFile(Path file, int capacity) throws IOException {
        ConnectionLog previous = connectionLog;
        if (previous != null && previous.file().equals(file)) {
            return;
        }
        ConnectionLog next = null;
        if (file != null) {
            next = new ConnectionLog(file, capacity, metrics::connectionLogDropped);
            next.start();
        }
        connectionLog = next;
        if (previous != null) {
            // not waited for: its writer writes what it has queued on its own (a pipe whose reader stopped would
            // hold this reload, and the server's lock, for the close's 10 s)
            previous.closeLater();
        }
        if (next != null) {
            log.info("Connection log file={}", file);
        } else if (previous != null) {
            log.info("Connection log off (was file={})", previous.file());
        }
    }

    /** Returns the log in force, or {@code null}. */
    public ConnectionLog connectionLog() {
        return connectionLog;
    }

    /** Makes the log reopen its file by name before its next line (SIGHUP, for logrotate). Any thread. */
    public void reopen() {
        ConnectionLog out = connectionLog;
        if (out != null) {
            out.reopen();
        }
    }

    private static void closeQuietly(ConnectionLog l) {
        try {
            l.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Writes what is queued and closes the log. */
    @Override
    public synchronized void close() {
        ConnectionLog out = connectionLog;
        connectionLog = null;
        if (out != null) {
            closeQuietly(out);
        }
    }
}
