package io.svcproxy.config.source;

import io.svcproxy.config.ConfigError;
import io.svcproxy.config.ConfigException;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
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
    /** Reads in one go when the set of registry files keeps changing between reads (see {@link #load}). */
    private static final int MAX_ROUNDS = 3;
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

    /** Why the files are read. */
    private enum Trigger { START, CHANGE, RETRY, RELOAD }

    /** An invalid content: its errors and the content hashes of the config file and of each file in error. */
    private record Rejection(List<ConfigError> errors, Map<Path, String> hashes) {
    }

    private final Path source;
    private final Listener listener;
    private final long pollNanos;
    private final long debounceNanos;
    private final long maxDelayNanos;
    private final boolean useWatchService;
    private final AtomicLong loads = new AtomicLong();
    private final AtomicLong checks = new AtomicLong();
    /** Start and close; taken before {@link #lock}, never after. */
    private final Object lifecycle = new Object();
    /** Waits between polls when there is no WatchService; close() wakes it. */
    private final Object wakeup = new Object();
    /** Held while the files are compared or read: by the watch thread or a reloadNow caller. */
    private final Object lock = new Object();

    // Guarded by lock.
    private ProxyConfig current;
    private List<Path> watched;
    private Map<Path, FileFingerprint> observed = Map.of();
    /** The fingerprints of the files of the last read that was not rejected (start's included). */
    private Map<Path, FileFingerprint> accepted = Map.of();
    private Rejection lastRejection;
    /** When a rejected config was last read, and how often it is ({@link #RETRY_INTERVAL}). */
    private long lastRetryNanos;
    private volatile long retryNanos = RETRY_INTERVAL;
    private boolean pending;
    private Trigger pendingTrigger = Trigger.CHANGE;
    private long firstChangeNanos;
    private long dueNanos;
    private Path changedFile;

    // Written under lifecycle.
    private volatile WatchedFolders folders;
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
        this.listener = Objects.requireNonNull(listener, "listener");
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
        this.current = initial;
        this.watched = filesOf(initial);
        this.pollNanos = pollInterval.toNanos();
        this.debounceNanos = debounce.toNanos();
        this.maxDelayNanos = Math.max(MAX_DELAY.toNanos(), debounceNanos);
        this.useWatchService = useWatchService;
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
                    folders = new WatchedFolders(source.getFileSystem().newWatchService());
                } catch (IOException | UnsupportedOperationException e) {
                    // Such as the limit of inotify instances reached: polling alone still meets the contract.
                    log.warn("Config watch falls back to polling file={} reason={}", source, e.toString());
                }
            }
            Thread t = new Thread(this::run, THREAD_NAME);
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
            load(source, Trigger.RELOAD);
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
            WatchedFolders watch = folders;
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
        return loads.get();
    }

    /** Returns how many times the files were fingerprinted on a watch event or a poll: for tests. */
    long checks() {
        return checks.get();
    }

    /** Returns the folder watch, or {@code null} when polling alone: for tests. */
    WatchedFolders folders() {
        return folders;
    }

    private void run() {
        try {
            synchronized (lock) {
                log.info("Config watch started file={} registryFiles={} pollInterval={}ms debounce={}ms "
                        + "watchService={}", source, current.registry().files().size(),
                        TimeUnit.NANOSECONDS.toMillis(pollNanos), TimeUnit.NANOSECONDS.toMillis(debounceNanos),
                        folders != null);
                // The files may have changed since the initial config was read: read them once more, as soon
                // as they are quiet, and report only a difference.
                registerDirectories();
                observed = fingerprints(watched);
                long now = System.nanoTime();
                pending = true;
                pendingTrigger = Trigger.START;
                firstChangeNanos = now;
                dueNanos = now + debounceNanos;
                changedFile = source;
            }
            long nextPoll = System.nanoTime() + pollNanos;
            while (!closed) {
                long wait;
                synchronized (lock) {
                    long deadline = pending && dueNanos - nextPoll < 0 ? dueNanos : nextPoll;
                    wait = Math.max(0, deadline - System.nanoTime());
                }
                boolean event = awaitWatchEvent(wait);
                synchronized (lock) {
                    if (closed) {
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
                        pending = false;
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

    /** Reads a rejected config again this often instead of {@link #RETRY_INTERVAL} (tests); before {@link #start}. */
    void retryInterval(Duration interval) {
        retryNanos = interval.toNanos();
    }

    private void step(long now, boolean event, boolean tick) {
        if (tick) {
            registerDirectories();
        }
        if (event || tick) {
            check(now, event ? "watch" : "poll");
        }
        if (pending && now - dueNanos >= 0) {
            load(changedFile, pendingTrigger);
        } else if (tick && !pending && lastRejection != null && now - lastRetryNanos >= retryNanos) {
            load(source, Trigger.RETRY);
        }
    }

    /**
     * Waits up to {@code nanos} for the WatchService, and returns whether it reported anything about a watched
     * file. Its events are only a hint to look: the fingerprints tell what changed.
     */
    private boolean awaitWatchEvent(long nanos) throws InterruptedException {
        WatchedFolders watch = folders;
        if (watch == null) {
            synchronized (wakeup) {
                if (!closed) {
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
        Map<Path, FileFingerprint> seen = fingerprints(watched);
        if (seen.equals(observed)) {
            return;
        }
        Path file = firstDifference(observed, seen);
        observed = seen;
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

    /** Reads the config and its registry files, and reports what is new. */
    private void load(Path file, Trigger trigger) {
        pending = false;
        lastRetryNanos = System.nanoTime(); // a rejected config is read again a retry interval after its last read
        List<Path> files = watched;
        Map<Path, FileFingerprint> snapshot;
        ProxyConfig next = null;
        ConfigException errors = null;
        for (int round = 1; ; round++) {
            // Fingerprints first, files second: a write during the read then shows as a change afterwards.
            snapshot = fingerprints(files);
            observed = cover(watched, snapshot);
            try {
                next = ConfigLoader.load(source);
            } catch (ConfigException e) {
                errors = e;
                break;
            } finally {
                loads.incrementAndGet();
            }
            List<Path> nextFiles = filesOf(next);
            if (nextFiles.equals(files) || round == MAX_ROUNDS) {
                break;
            }
            // The config names other registry files than those fingerprinted: fingerprint those and read again,
            // so that what is recorded as seen is what was read.
            files = nextFiles;
        }
        // A read that spans a write may mix old and new: the config file read before a ConfigMap's ..data link
        // was swapped and a registry file after, or a file read half rewritten. Report only what was read from
        // files that stayed the same throughout; otherwise read again once they are quiet.
        Map<Path, FileFingerprint> after = fingerprints(files);
        if (!after.equals(snapshot)) {
            long now = System.nanoTime();
            observed = cover(watched, after);
            pending = true;
            pendingTrigger = trigger == Trigger.START ? Trigger.START : Trigger.CHANGE;
            firstChangeNanos = now;
            dueNanos = now + debounceNanos;
            changedFile = file;
            log.info("Config changed while it was read: reading it again file={} trigger={}", file, name(trigger));
            return;
        }
        if (errors == null && trigger != Trigger.START) {
            errors = emptied(files, snapshot, accepted);
        }
        if (errors != null) {
            watchNamedBy(errors, snapshot);
            reject(file, errors, trigger, snapshot);
            return;
        }
        accepted = snapshot;
        boolean wasRejected = lastRejection != null;
        lastRejection = null;
        List<Path> nextFiles = filesOf(next);
        if (!nextFiles.equals(watched)) {
            watched = nextFiles;
            log.info("Config watching files={}", watched);
        }
        observed = cover(watched, snapshot);
        registerDirectories();
        if (next.equals(current)) {
            if (trigger == Trigger.START) {
                log.debug("Config unchanged since it was read file={}", source);
            } else {
                log.info("Config unchanged: nothing to apply file={} trigger={}", file, name(trigger));
            }
            if (wasRejected) {
                // a bad edit undone: the files say again what is in force, which the listener may report
                ProxyConfig inForce = current;
                tell("applied", l -> l.applied(inForce));
            }
            return;
        }
        ProxyConfig applied = next;
        current = applied;
        log.info("Config applied file={} trigger={} services={} pods={} registryFiles={}", file, name(trigger),
                applied.services().size(), applied.pods().size(), applied.registry().files().size());
        tell("applied", l -> l.applied(applied));
    }

    /**
     * The files read empty on a reload (or holding blank lines and comments only), as errors: a file emptied and then written ({@code > file}, then its content,
     * as a shell redirection or a download writes it) is far more often read in between than meant to hold nothing.
     * An empty config would unbind every listener and an empty registry file drain all its Pods, until the content
     * arrives; rejected, the config in force stays, and the content is read when it comes. A file that should hold
     * nothing says so ({@code services: []}, {@code pods: []}). At start an empty file is no change to anything, and
     * a file left as it was when last accepted (an empty registry file since start) is no change either.
     */
    private static ConfigException emptied(List<Path> files, Map<Path, FileFingerprint> snapshot,
                                           Map<Path, FileFingerprint> accepted) {
        List<ConfigError> errors = new ArrayList<>();
        for (Path f : files) {
            FileFingerprint fp = snapshot.get(f);
            if (fp != null && fp.equals(accepted.get(f))) {
                continue; // empty as when it was last accepted (at start, say): nothing is being written to it
            }
            if (fp != null && fp.problem() == null && (fp.size() == 0 || fp.size() < 4096 && blank(f))) {
                errors.add(new ConfigError(f.toString(), 0, 0, "", "empty (expected: its content; a file being "
                        + "written is read again when it changes; services: [] or pods: [] says it holds nothing)"));
            }
        }
        return errors.isEmpty() ? null : new ConfigException(errors);
    }

    /**
     * Whether {@code file} holds no YAML at all: blank lines and comments only (a shell's {@code echo > file} leaves a
     * newline, an editor may leave a comment). Read again here; a file that cannot be read now is not called blank.
     */
    private static boolean blank(Path file) {
        try {
            for (String line : java.nio.file.Files.readAllLines(file)) {
                String t = line.strip();
                if (!t.isEmpty() && !t.startsWith("#")) {
                    return false;
                }
            }
            return true;
        } catch (IOException | java.io.UncheckedIOException e) {
            return false;
        }
    }

    /**
     * Watches the files a rejected config names besides those of the config in force (a registry file it names that
     * does not exist yet, say), so that the write that fixes it is seen at once rather than at the next retry.
     */
    private void watchNamedBy(ConfigException errors, Map<Path, FileFingerprint> snapshot) {
        Set<Path> all = new LinkedHashSet<>(current == null ? List.of(source) : filesOf(current));
        all.addAll(errors.namedFiles());
        List<Path> next = List.copyOf(all);
        if (!next.equals(watched)) {
            watched = next;
            observed = cover(watched, snapshot);
            registerDirectories();
        }
    }

    private void reject(Path file, ConfigException errors, Trigger trigger, Map<Path, FileFingerprint> snapshot) {
        Map<Path, String> hashes = new HashMap<>();
        hashes.put(source, hashOf(source, snapshot));
        for (ConfigError error : errors.errors()) {
            Path inError = pathOf(error.file());
            if (inError != null && !hashes.containsKey(inError)) {
                hashes.put(inError, hashOf(inError, snapshot));
            }
        }
        Rejection rejection = new Rejection(errors.errors(), hashes);
        if (rejection.equals(lastRejection)) {
            String message = "Config still invalid: already reported file={} trigger={} errors={} first={}";
            if (trigger == Trigger.RETRY) {
                log.debug(message, file, name(trigger), errors.errors().size(), errors.errors().get(0));
            } else { // a SIGHUP, say: whoever sent it reads why here, not only in the first report's lines
                log.warn(message, file, name(trigger), errors.errors().size(), errors.errors().get(0));
            }
            return;
        }
        lastRejection = rejection;
        log.warn("Config rejected: the config in force stays file={} trigger={} errors={}", file, name(trigger),
                errors.errors().size());
        for (ConfigError error : errors.errors()) {
            log.warn("Config error {}", error);
        }
        tell("rejected", l -> l.rejected(file, errors));
    }

    private void tell(String event, Consumer<Listener> call) {
        if (closed) {
            return;
        }
        try {
            call.accept(listener);
        } catch (Exception e) {
            log.error("Config listener failed event={} file={}", event, source, e);
        }
    }

    /** Watches the folders of the watched files (see {@link WatchedFolders#update}); nothing when polling alone. */
    private void registerDirectories() {
        WatchedFolders watch = folders;
        if (watch != null) {
            watch.update(watched);
        }
    }

    private List<Path> filesOf(ProxyConfig config) {
        Set<Path> files = new LinkedHashSet<>();
        files.add(source);
        files.addAll(config.watchedFiles());
        return List.copyOf(files);
    }

    private static Map<Path, FileFingerprint> fingerprints(List<Path> files) {
        Map<Path, FileFingerprint> map = new LinkedHashMap<>();
        for (Path file : files) {
            map.put(file, FileFingerprint.of(file));
        }
        return map;
    }

    /** Returns the fingerprints of {@code files}, from {@code snapshot} where it has them. */
    private static Map<Path, FileFingerprint> cover(List<Path> files, Map<Path, FileFingerprint> snapshot) {
        Map<Path, FileFingerprint> map = new LinkedHashMap<>();
        for (Path file : files) {
            FileFingerprint fingerprint = snapshot.get(file);
            map.put(file, fingerprint != null ? fingerprint : FileFingerprint.of(file));
        }
        return map;
    }

    private static String hashOf(Path file, Map<Path, FileFingerprint> snapshot) {
        FileFingerprint fingerprint = snapshot.get(file);
        return (fingerprint != null ? fingerprint : FileFingerprint.of(file)).hash();
    }

    private Path firstDifference(Map<Path, FileFingerprint> before, Map<Path, FileFingerprint> after) {
        for (Map.Entry<Path, FileFingerprint> entry : after.entrySet()) {
            if (!entry.getValue().equals(before.get(entry.getKey()))) {
                return entry.getKey();
            }
        }
        return source;
    }

    private static Path pathOf(String file) {
        try {
            return Path.of(file);
        } catch (InvalidPathException e) {
            return null;
        }
    }

    private static String name(Trigger trigger) {
        return trigger.name().toLowerCase(Locale.ROOT);
    }
}
