package io.svcproxy.config.source;

import io.svcproxy.config.ConfigException;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.source.ConfigReader.Trigger;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the config file and every registry file of the config in force, and reports each change: a valid one
 * as the new {@link ProxyConfig}, an invalid one as its errors (SPEC.md, "Reload"). It only reports: the last
 * good config stays in force with the caller.
 *
 * <p>Two ways of noticing a change run side by side. A {@link WatchService} on the folder of each file (and on
 * the folder of the file it resolves to through symbolic links) wakes the watch thread at once on Linux; only
 * events about the watched files' own entries (the file, the links it resolves through, the file it resolves to)
 * make it look, so a log written next to the config costs nothing more ({@link WatchedFolders}). Every
 * poll interval (500 ms by default) the thread also compares, for each file, the real path (following symbolic
 * links), size, last-modified time and a hash of the content with what it saw last; this catches what the
 * WatchService misses: network file systems, platforms where it polls slowly, and a Kubernetes ConfigMap's
 * {@code ..data} symbolic link swapped by rename. Either way only a difference in those fingerprints counts as a
 * change.
 *
 * <p>A change is loaded once the files have been quiet for the debounce (200 ms by default), and at the latest
 * one second after it was first seen, so a burst of writes yields one load and a change is reported within
 * about 1.5 s of the write, whichever way it was written. The whole config is then read again with
 * {@link ConfigLoader#load(Path)}: a config equal to the one last applied is not reported; an invalid one is
 * reported once per distinct content (the same errors over the same files are not reported again, however many
 * times they are read). A half-written file that does not parse is therefore rejected and the complete one
 * applied after it (one whose first part is valid on its own, written more than the debounce before the rest, is
 * applied as it stands, then the whole); a file read empty on a reload is rejected unless it was so when last
 * accepted. A read during which a file changed (a ConfigMap swapped between reading the config and a registry file)
 * is not reported at all but done again once the files are quiet, so a mix of old and new files is never applied.
 * While the last read was invalid, the files the broken config names besides those in force (a new registry file,
 * a missing one, a certificate) are watched too, so that the write that fixes it is seen at once, and the config is
 * read again every {@link #RETRY_INTERVAL} for what no watch sees. (Every poll interval, a broken config left in
 * place cost a whole read each time: 1.6 s of CPU at 10,000 Services, a core kept busy.)
 *
 * <p>The set of watched files is derived again after every valid read: a config change may add or drop
 * registry files. The source logs every rejected error at warn, one line each, so a listener need not.
 *
 * <p>Threading: one daemon thread, {@value #THREAD_NAME}, started by {@link #start()} and stopped by
 * {@link #close()}. {@link #reloadNow()} reads on the calling thread. Reads never run concurrently.
 */
public final class ConfigFileSource implements AutoCloseable {
    /** How often the files are compared with what was seen last, whatever the WatchService reports. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(500);
    /** How long the files must be quiet after a change before they are read. */
    public static final Duration DEFAULT_DEBOUNCE = Duration.ofMillis(200);
    /** How often a rejected config is read again while no watched file changes. */
    static final long RETRY_INTERVAL = TimeUnit.SECONDS.toNanos(10);
    /** The name of the watch thread. */
    public static final String THREAD_NAME = "svcproxy-config-watch";

    /** A change keeps being written for longer than this: read it anyway, to stay within SPEC's 2 seconds. */
    private static final Duration MAX_DELAY = Duration.ofSeconds(1);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
    private static final Logger log = LoggerFactory.getLogger(ConfigFileSource.class);

    /**
     * Receives what the source finds. Called on the watch thread, or on the thread calling
     * {@link ConfigFileSource#reloadNow()}; never by two threads at once, and not after
     * {@link ConfigFileSource#close()} has returned. A call should return promptly: the watch waits for it.
     * An exception thrown by a call is logged and otherwise ignored.
     */
    public interface Listener {
        /** Takes a valid config that differs from the one last applied (or the initial one). */
        void applied(ProxyConfig config);

        /**
         * Takes an invalid config; the one last applied stays in force.
         *
         * @param file the file whose change led to the read: the config file for {@code reloadNow}, for the
         *     read when the source starts, and for a read again while the config is invalid
         * @param errors every problem, each with its file, line and column
         */
        void rejected(Path file, ConfigException errors);
    }

    private final Path source;
    private final boolean useWatchService;
    /** Start and close; taken before {@link #lock}, never after. */
    private final Object lifecycle = new Object();
    /** Waits between polls when there is no WatchService; close() wakes it. */
    private final Object wakeup = new Object();
    /** Held while the files are compared or read: by the watch thread or a reloadNow caller. */
    private final Object lock = new Object();

    // Their state is guarded by lock.
    /** The watched files, their fingerprints seen last, and the folder watch (set under lifecycle). */
    private final WatchedFiles watched;
    /** When the files are read next: the debounce of a change, the retry of a rejected config. */
    private final ReadSchedule schedule;
    /** Reads the files, accepts or rejects the config, and reports it to the listener. */
    private final ConfigReader reader;
    /** The watch thread's loop. */
    private final ConfigWatch loop;

    // Written under lifecycle.
    private volatile Thread thread;
    private volatile boolean closed;

    /**
     * Creates a source for {@code initial}, the config in force, with the default poll interval and debounce.
     * Nothing is watched before {@link #start()}.
     *
     * @param initial the config read from {@link ProxyConfig#source()}, the file to watch (as the user gave it)
     */
    public ConfigFileSource(ProxyConfig initial, Listener listener) {
        this(initial, listener, DEFAULT_POLL_INTERVAL, DEFAULT_DEBOUNCE);
    }

    /**
     * Creates a source with its own poll interval and debounce (for tests; keep their sum well under 1 s to
     * meet SPEC's 2 seconds).
     */
    public ConfigFileSource(ProxyConfig initial, Listener listener, Duration pollInterval, Duration debounce) {
        this(initial, listener, pollInterval, debounce, true);
    }

    /** With {@code useWatchService} false the files are only polled: for tests of the fallback. */
    ConfigFileSource(ProxyConfig initial, Listener listener, Duration pollInterval, Duration debounce,
                     boolean useWatchService) {
        Objects.requireNonNull(initial, "initial");
        Objects.requireNonNull(listener, "listener");
        if (initial.source() == null) {
            throw new IllegalArgumentException("initial.source(): null (expected: the config file it was read from)");
        }
        if (pollInterval.isNegative() || pollInterval.isZero()) {
            throw new IllegalArgumentException("pollInterval: " + pollInterval + " (expected: > 0)");
        }
        if (debounce.isNegative()) {
            throw new IllegalArgumentException("debounce: " + debounce + " (expected: >= 0)");
        }
        this.source = initial.source();
        this.watched = new WatchedFiles(source, initial);
        long pollNanos = pollInterval.toNanos();
        long debounceNanos = debounce.toNanos();
        long maxDelayNanos = Math.max(MAX_DELAY.toNanos(), debounceNanos);
        this.useWatchService = useWatchService;
        this.schedule = new ReadSchedule(debounceNanos, maxDelayNanos);
        this.reader = new ConfigReader(initial, listener, () -> closed, watched, schedule);
        this.loop = new ConfigWatch(source, lock, wakeup, () -> closed, pollNanos, debounceNanos, watched, schedule,
                reader);
    }

    /**
     * Starts the watch thread. Its first read comes once the files have been quiet for the debounce, so a change
     * written between the initial read and this call is reported too (and nothing is reported otherwise).
     *
     * @throws IllegalStateException if already started or closed
     */
    public void start() {
        synchronized (lifecycle) {
            if (closed) {
                throw new IllegalStateException("closed");
            }
            if (thread != null) {
                throw new IllegalStateException("already started");
            }
            if (useWatchService) {
                try {
                    watched.folders(new WatchedFolders(source.getFileSystem().newWatchService()));
                } catch (IOException | UnsupportedOperationException e) {
                    // Such as the limit of inotify instances reached: polling alone still meets the contract.
                    log.warn("Config watch falls back to polling file={} reason={}", source, e.toString());
                }
            }
            Thread t = new Thread(loop::run, THREAD_NAME);
            t.setDaemon(true);
            thread = t;
            t.start();
        }
    }

    /**
     * Reads the config at once on the calling thread (SIGHUP), and reports it as a change would be: applied if it
     * differs from the config last applied, rejected if invalid and not already reported. An unchanged config is
     * logged and not reported. If a file changes while it is read, the started watch reports the result after the
     * debounce instead. Does nothing once closed. May be called before {@link #start()}.
     */
    public void reloadNow() {
        synchronized (lock) {
            if (closed) {
                log.debug("Config reload ignored: closed file={}", source);
                return;
            }
            log.info("Config reload requested file={}", source);
            reader.load(source, Trigger.RELOAD);
        }
    }

    /**
     * Stops the watch thread, waiting for a read in progress, and closes the WatchService. No listener call starts
     * after it returns. Idempotent; may be called by the listener itself.
     */
    @Override
    public void close() {
        Thread t;
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            WatchedFolders watch = watched.folders();
            if (watch != null) {
                try {
                    watch.close();
                } catch (IOException e) {
                    log.debug("Config watch service did not close cleanly file={}", source, e);
                }
            }
            t = thread;
        }
        synchronized (wakeup) {
            wakeup.notifyAll();
        }
        if (t == null || t == Thread.currentThread() || Thread.holdsLock(lock)) {
            // Called by the listener: the watch thread may be waiting for this very call to return. It stops
            // as soon as it looks again.
            return;
        }
        try {
            t.join(CLOSE_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (t.isAlive()) {
            log.warn("Config watch thread still running after close file={} waited={}ms", source,
                    CLOSE_WAIT.toMillis());
        }
    }

    /** Returns how many times the files were read: for tests. */
    long loads() {
        return reader.loads();
    }

    /** Returns how many times the files were fingerprinted on a watch event or a poll: for tests. */
    long checks() {
        return loop.checks();
    }

    /** Returns the folder watch, or {@code null} when polling alone: for tests. */
    WatchedFolders folders() {
        return watched.folders();
    }

    /** Reads a rejected config again this often instead of {@link #RETRY_INTERVAL} (tests); before {@link #start}. */
    void retryInterval(Duration interval) {
        schedule.retryInterval(interval);
    }
}
