package io.svcproxy.config.source;

import io.svcproxy.config.source.ConfigReader.Trigger;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loop of a {@link ConfigFileSource}'s watch thread: it waits for the WatchService or the next poll, compares
 * the watched files with what it saw last, and has them read when a change is due or a rejected config is to be read
 * again ({@link ReadSchedule}). It stops once the source is closed.
 *
 * <p>Threading: {@link #run()} runs on the watch thread, {@value ConfigFileSource#THREAD_NAME}; it holds the source's
 * lock while it compares or reads, never while it waits.
 */
final class ConfigWatch {
    /** The source's logger: operators follow one name for the config file's changes. */
    private static final Logger log = LoggerFactory.getLogger(ConfigFileSource.class);

    private final Path source;
    /** The source's lock: held while the files are compared or read. */
    private final Object lock;
    /** Waits between polls when there is no WatchService; the source's close() wakes it. */
    private final Object wakeup;
    /** Whether the source is closed: then the loop ends. */
    private final BooleanSupplier closed;
    private final long pollNanos;
    private final long debounceNanos;
    private final WatchedFiles watched;
    private final ReadSchedule schedule;
    private final ConfigReader reader;
    private final AtomicLong checks = new AtomicLong();

    ConfigWatch(Path source, Object lock, Object wakeup, BooleanSupplier closed, long pollNanos, long debounceNanos,
                WatchedFiles watched, ReadSchedule schedule, ConfigReader reader) {
        this.source = source;
        this.lock = lock;
        this.wakeup = wakeup;
        this.closed = closed;
        this.pollNanos = pollNanos;
        this.debounceNanos = debounceNanos;
        this.watched = watched;
        this.schedule = schedule;
        this.reader = reader;
    }

    /** Returns how many times the files were fingerprinted on a watch event or a poll. */
    long checks() {
        return checks.get();
    }

    void run() {
        try {
            synchronized (lock) {
                log.info("Config watch started file={} registryFiles={} pollInterval={}ms debounce={}ms "
                        + "watchService={}", source, reader.current().registry().files().size(),
                        TimeUnit.NANOSECONDS.toMillis(pollNanos), TimeUnit.NANOSECONDS.toMillis(debounceNanos),
                        watched.folders() != null);
                // The files may have changed since the initial config was read: read them once more, as soon
                // as they are quiet, and report only a difference.
                watched.register();
                watched.observeAll();
                long now = System.nanoTime();
                schedule.readWhenQuiet(now, Trigger.START, source);
            }
            long nextPoll = System.nanoTime() + pollNanos;
            while (!closed.getAsBoolean()) {
                long wait;
                synchronized (lock) {
                    long deadline = schedule.deadline(nextPoll);
                    wait = Math.max(0, deadline - System.nanoTime());
                }
                boolean event = awaitWatchEvent(wait);
                synchronized (lock) {
                    if (closed.getAsBoolean()) {
                        break;
                    }
                    long now = System.nanoTime();
                    boolean tick = now - nextPoll >= 0;
                    if (tick) {
                        nextPoll = now + pollNanos;
                    }
                    try {
                        step(now, event, tick);
                    } catch (RuntimeException e) {
                        schedule.cancel();
                        log.error("Config watch failed; it carries on file={}", source, e);
                    }
                }
            }
        } catch (ClosedWatchServiceException e) {
            // close() closed it while the thread waited: the normal way out.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            log.info("Config watch stopped file={}", source);
        }
    }

    private void step(long now, boolean event, boolean tick) {
        if (tick) {
            watched.register();
        }
        if (event || tick) {
            check(now, event ? "watch" : "poll");
        }
        if (schedule.due(now)) {
            reader.load(schedule.changedFile(), schedule.trigger());
        } else if (tick && !schedule.pending() && reader.rejected() && schedule.retryDue(now)) {
            reader.load(source, Trigger.RETRY);
        }
    }

    /**
     * Waits up to {@code nanos} for the WatchService, and returns whether it reported anything about a watched
     * file. Its events are only a hint to look: the fingerprints tell what changed.
     */
    private boolean awaitWatchEvent(long nanos) throws InterruptedException {
        WatchedFolders watch = watched.folders();
        if (watch == null) {
            synchronized (wakeup) {
                if (!closed.getAsBoolean()) {
                    TimeUnit.NANOSECONDS.timedWait(wakeup, Math.max(nanos, 1));
                }
            }
            return false;
        }
        return watch.await(nanos);
    }

    /** Compares the watched files with what was seen last; a difference starts or extends the debounce. */
    private void check(long now, String via) {
        checks.incrementAndGet();
        Path file = watched.changed();
        if (file == null) {
            return;
        }
        schedule.changed(now, file, via);
    }
}
