package io.svcproxy.config.source;

import io.svcproxy.config.source.ConfigReader.Trigger;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When a {@link ConfigFileSource} reads its files next: a change is read once the files have been quiet for the
 * debounce, and at the latest the maximum delay after it was first seen; a rejected config is read again every
 * retry interval ({@link ConfigFileSource#RETRY_INTERVAL}) while no watched file changes.
 *
 * <p>Threading: guarded by the source's lock (the watch thread or a {@code reloadNow} caller), but for the retry
 * interval, which a test may set before the source starts.
 */
final class ReadSchedule {
    /** The source's logger: operators follow one name for the config file's changes. */
    private static final Logger log = LoggerFactory.getLogger(ConfigFileSource.class);

    private final long debounceNanos;
    private final long maxDelayNanos;

    // Guarded by the source's lock.
    /** When a rejected config was last read, and how often it is ({@link ConfigFileSource#RETRY_INTERVAL}). */
    private long lastRetryNanos;
    private volatile long retryNanos = ConfigFileSource.RETRY_INTERVAL;
    private boolean pending;
    private Trigger pendingTrigger = Trigger.CHANGE;
    private long firstChangeNanos;
    private long dueNanos;
    private Path changedFile;

    ReadSchedule(long debounceNanos, long maxDelayNanos) {
        this.debounceNanos = debounceNanos;
        this.maxDelayNanos = maxDelayNanos;
    }

    /** Reads a rejected config again this often instead of {@link ConfigFileSource#RETRY_INTERVAL}. */
    void retryInterval(Duration interval) {
        retryNanos = interval.toNanos();
    }

    /** Whether a change waits to be read. */
    boolean pending() {
        return pending;
    }

    /** Whether a change waits to be read and its time has come. */
    boolean due(long now) {
        return pending && now - dueNanos >= 0;
    }

    /** Why the change waiting is to be read. */
    Trigger trigger() {
        return pendingTrigger;
    }

    /** The file whose change led to the read waiting. */
    Path changedFile() {
        return changedFile;
    }

    /** Returns when to look next: when the change waiting is due, if before {@code nextPoll}, else {@code nextPoll}. */
    long deadline(long nextPoll) {
        return pending && dueNanos - nextPoll < 0 ? dueNanos : nextPoll;
    }

    /** Whether a rejected config was last read a retry interval ago or more. */
    boolean retryDue(long now) {
        return now - lastRetryNanos >= retryNanos;
    }

    /** Takes a read starting {@code now}: nothing waits any more, and a rejected config is next read a retry later. */
    void reading(long now) {
        pending = false;
        lastRetryNanos = now;
    }

    /** Drops the change waiting: its read failed. */
    void cancel() {
        pending = false;
    }

    /** Reads the files for {@code trigger} once they have been quiet for the debounce from {@code now}. */
    void readWhenQuiet(long now, Trigger trigger, Path file) {
        pending = true;
        pendingTrigger = trigger;
        firstChangeNanos = now;
        dueNanos = now + debounceNanos;
        changedFile = file;
    }

    /** Takes a change seen {@code now} in {@code file}: it starts or extends the debounce. */
    void changed(long now, Path file, String via) {
        if (!pending) {
            pending = true;
            pendingTrigger = Trigger.CHANGE;
            firstChangeNanos = now;
            changedFile = file;
            log.info("Config change detected file={} via={}", file, via);
        } else {
            log.debug("Config change continues file={} via={}", file, via);
        }
        dueNanos = Math.min(now + debounceNanos, firstChangeNanos + maxDelayNanos);
    }
}
