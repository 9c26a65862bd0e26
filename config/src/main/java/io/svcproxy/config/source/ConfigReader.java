package io.svcproxy.config.source;

import io.svcproxy.config.ConfigError;
import io.svcproxy.config.ConfigException;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.source.ConfigFileSource.Listener;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the config file of a {@link ConfigFileSource} with its registry files, and accepts or rejects what it reads:
 * a valid config that differs from the one last applied goes to the listener as applied, an invalid one as rejected
 * once per distinct content, a read during which a file changed is read again once the files are quiet (see the
 * source's javadoc). It keeps the config last applied, the fingerprints of the files last accepted and the last
 * rejection, and after each read sets which files are watched.
 *
 * <p>Threading: called under the source's lock only, by the watch thread or a {@code reloadNow} caller.
 */
final class ConfigReader {
    /** The source's logger: operators and tests follow one name for the config file's changes. */
    private static final Logger log = LoggerFactory.getLogger(ConfigFileSource.class);
    /** Reads in one go when the set of registry files keeps changing between reads (see {@link #load}). */
    private static final int MAX_ROUNDS = 3;

    /** Why the files are read. */
    enum Trigger { START, CHANGE, RETRY, RELOAD }

    /** An invalid content: its errors and the content hashes of the config file and of each file in error. */
    private record Rejection(List<ConfigError> errors, Map<Path, String> hashes) {
    }

    private final Path source;
    private final Listener listener;
    /** Whether the source is closed: then the listener is not called any more. */
    private final BooleanSupplier closed;
    private final WatchedFiles watched;
    private final ReadSchedule schedule;
    private final AtomicLong loads = new AtomicLong();

    // Guarded by the source's lock.
    private ProxyConfig current;
    /** The fingerprints of the files of the last read that was not rejected (start's included). */
    private Map<Path, FileFingerprint> accepted = Map.of();
    private Rejection lastRejection;

    ConfigReader(ProxyConfig initial, Listener listener, BooleanSupplier closed, WatchedFiles watched,
                 ReadSchedule schedule) {
        this.source = initial.source();
        this.current = initial;
        this.listener = listener;
        this.closed = closed;
        this.watched = watched;
        this.schedule = schedule;
    }

    /** Returns the config last applied (the initial one at first). */
    ProxyConfig current() {
        return current;
    }

    /** Whether the last read was rejected. */
    boolean rejected() {
        return lastRejection != null;
    }

    /** Returns how many times the files were read. */
    long loads() {
        return loads.get();
    }

    /** Reads the config and its registry files, and reports what is new. */
    void load(Path file, Trigger trigger) {
        schedule.reading(System.nanoTime()); // a rejected config is read again a retry interval after its last read
        List<Path> files = watched.files();
        Map<Path, FileFingerprint> snapshot;
        ProxyConfig next = null;
        ConfigException errors = null;
        for (int round = 1; ; round++) {
            // Fingerprints first, files second: a write during the read then shows as a change afterwards.
            snapshot = WatchedFiles.fingerprints(files);
            watched.observe(snapshot);
            try {
                next = ConfigLoader.load(source);
            } catch (ConfigException e) {
                errors = e;
                break;
            } finally {
                loads.incrementAndGet();
            }
            List<Path> nextFiles = watched.filesOf(next);
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
        Map<Path, FileFingerprint> after = WatchedFiles.fingerprints(files);
        if (!after.equals(snapshot)) {
            long now = System.nanoTime();
            watched.observe(after);
            schedule.readWhenQuiet(now, trigger == Trigger.START ? Trigger.START : Trigger.CHANGE, file);
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
        List<Path> nextFiles = watched.filesOf(next);
        if (!nextFiles.equals(watched.files())) {
            watched.watch(nextFiles);
            log.info("Config watching files={}", watched.files());
        }
        watched.observe(snapshot);
        watched.register();
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
     * The files read empty on a reload (or holding blank lines and comments only), as errors: a file emptied and then
     * written ({@code > file}, then its content, as a shell redirection or a download writes it) is far more often
     * read in between than meant to hold nothing. An empty config would unbind every listener and an empty registry
     * file drain all its Pods, until the content arrives; rejected, the config in force stays, and the content is
     * read when it comes. A file that should hold nothing says so ({@code services: []}, {@code pods: []}). At start
     * an empty file is no change to anything, and neither is a file that held nothing when last accepted (an empty
     * registry file since start, touched or written anew by a ConfigMap update): its content, not its fingerprint,
     * is compared, so a new time or real path is no emptying.
     */
    private static ConfigException emptied(List<Path> files, Map<Path, FileFingerprint> snapshot,
                                           Map<Path, FileFingerprint> accepted) {
        List<ConfigError> errors = new ArrayList<>();
        for (Path f : files) {
            FileFingerprint fp = snapshot.get(f);
            FileFingerprint was = accepted.get(f);
            if (fp != null && fp.blank() && (was == null || !was.blank())) {
                errors.add(new ConfigError(f.toString(), 0, 0, "", "empty (expected: its content; a file being "
                        + "written is read again when it changes; services: [] or pods: [] says it holds nothing)"));
            }
        }
        return errors.isEmpty() ? null : new ConfigException(errors);
    }

    /**
     * Watches the files a rejected config names besides those of the config in force (a registry file it names that
     * does not exist yet, say), so that the write that fixes it is seen at once rather than at the next retry.
     */
    private void watchNamedBy(ConfigException errors, Map<Path, FileFingerprint> snapshot) {
        Set<Path> all = new LinkedHashSet<>(current == null ? List.of(source) : watched.filesOf(current));
        all.addAll(errors.namedFiles());
        List<Path> next = List.copyOf(all);
        if (!next.equals(watched.files())) {
            watched.watch(next);
            watched.observe(snapshot);
            watched.register();
        }
    }

    private void reject(Path file, ConfigException errors, Trigger trigger, Map<Path, FileFingerprint> snapshot) {
        Map<Path, String> hashes = new HashMap<>();
        hashes.put(source, WatchedFiles.hashOf(source, snapshot));
        for (ConfigError error : errors.errors()) {
            Path inError = pathOf(error.file());
            if (inError != null && !hashes.containsKey(inError)) {
                hashes.put(inError, WatchedFiles.hashOf(inError, snapshot));
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
        if (closed.getAsBoolean()) {
            return;
        }
        try {
            call.accept(listener);
        } catch (Exception e) {
            log.error("Config listener failed event={} file={}", event, source, e);
        }
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
