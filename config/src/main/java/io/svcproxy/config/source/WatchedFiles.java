package io.svcproxy.config.source;

import io.svcproxy.config.ProxyConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The files a {@link ConfigFileSource} watches (the config file and the registry files of a config), the
 * {@link FileFingerprint}s it saw of them last, and the {@link WatchedFolders} that wake its thread when they change.
 * A difference between the fingerprints seen last and those taken now is what counts as a change.
 *
 * <p>Threading: the files and the fingerprints are guarded by the source's lock (the watch thread or a
 * {@code reloadNow} caller); the folder watch is set by {@link ConfigFileSource#start()} under the source's
 * lifecycle lock and read by anyone.
 */
final class WatchedFiles {
    private final Path source;

    // Guarded by the source's lock.
    private List<Path> watched;
    private Map<Path, FileFingerprint> observed = Map.of();

    // Written under the source's lifecycle lock.
    private volatile WatchedFolders folders;

    /** Watches {@code source} and the files of {@code initial}, the config in force. */
    WatchedFiles(Path source, ProxyConfig initial) {
        this.source = source;
        this.watched = filesOf(initial);
    }

    /** Returns the watched files: the config file first. */
    List<Path> files() {
        return watched;
    }

    /** Watches {@code files} from now on; their folders once {@link #register()} is called. */
    void watch(List<Path> files) {
        watched = files;
    }

    /** Returns the folder watch, or {@code null} when polling alone (not started, or no WatchService). */
    WatchedFolders folders() {
        return folders;
    }

    /** Sets the folder watch: on start only. */
    void folders(WatchedFolders folders) {
        this.folders = folders;
    }

    /** Takes the fingerprints of the watched files, now, as seen. */
    void observeAll() {
        observed = fingerprints(watched);
    }

    /** Takes the fingerprints of the watched files as seen: from {@code snapshot} where it has them, else now. */
    void observe(Map<Path, FileFingerprint> snapshot) {
        observed = cover(watched, snapshot);
    }

    /**
     * Fingerprints the watched files and compares them with what was seen last: returns {@code null} when they are
     * the same, else the first file that differs (the config file when only one went), taking them as seen.
     */
    Path changed() {
        Map<Path, FileFingerprint> seen = fingerprints(watched);
        if (seen.equals(observed)) {
            return null;
        }
        Path file = firstDifference(observed, seen);
        observed = seen;
        return file;
    }

    /** Watches the folders of the watched files (see {@link WatchedFolders#update}); nothing when polling alone. */
    void register() {
        WatchedFolders watch = folders;
        if (watch != null) {
            watch.update(watched);
        }
    }

    /** Returns the files to watch for {@code config}: the config file, then the files the config names. */
    List<Path> filesOf(ProxyConfig config) {
        Set<Path> files = new LinkedHashSet<>();
        files.add(source);
        files.addAll(config.watchedFiles());
        return List.copyOf(files);
    }

    static Map<Path, FileFingerprint> fingerprints(List<Path> files) {
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

    static String hashOf(Path file, Map<Path, FileFingerprint> snapshot) {
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
}
