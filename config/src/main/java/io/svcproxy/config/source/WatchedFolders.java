package io.svcproxy.config.source;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The folders a {@link ConfigFileSource} watches through a {@link WatchService}, and which of their entries
 * matter. A watched file {@code /etc/svcproxy/config.yaml} makes its folder watched for the name
 * {@code config.yaml}; every symbolic link its path goes through adds the link's folder and name, and the file it
 * finally resolves to adds its own. For a Kubernetes ConfigMap volume ({@code config.yaml -> ..data/config.yaml},
 * {@code ..data -> ..2026_12_04_...}) that is the mount folder for {@code config.yaml} and {@code ..data}, and the
 * timestamped folder for {@code config.yaml}: the kubelet's swap renames a new {@code ..data} over the old one.
 *
 * <p>An event about any other name (the connection log or an access log written next to the config, an editor's
 * swap file) is dropped here, so that it does not make the source fingerprint its files: a log written fifty times a
 * second next to the config used to cost a CRC-32C of the config per write. An overflow, an event without a name
 * or a folder that went away always counts. Events are only a hint: the source's poll still compares every file
 * at its interval, which also covers a link in a folder not watched yet and a lost event.
 *
 * <p>Threading: {@link #update} runs under the source's lock (on the watch thread or a {@code reloadNow} caller),
 * {@link #await} on the watch thread only; the names are published as one immutable map.
 */
final class WatchedFolders implements AutoCloseable {
    /** Links followed at most, as the kernel's {@code MAXSYMLINKS} (40) for one path. */
    private static final int MAX_LINKS = 40;
    private static final Logger log = LoggerFactory.getLogger(WatchedFolders.class);

    private final WatchService service;
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong relevant = new AtomicLong();
    // Only under the source's lock.
    private final Map<Path, WatchKey> keys = new HashMap<>();
    /**
     * The identity (device and inode) of each watched folder when it was registered: a watch follows its inode, so a
     * folder replaced by a rename ({@code mv conf conf.old; mkdir conf}) is registered again.
     */
    private final Map<Path, Object> identities = new HashMap<>();
    private final Set<Path> unwatchable = new HashSet<>();
    /** Per watch key (one per watched folder), the entry names whose events count. Replaced whole, never changed. */
    private volatile Map<WatchKey, Set<String>> names = Map.of();

    WatchedFolders(WatchService service) {
        this.service = service;
    }

    /**
     * Watches the folders that {@code files} live in or resolve through, and only those: a folder no longer
     * needed is dropped, one that could not be watched (not there yet) is tried again.
     */
    void update(List<Path> files) {
        Map<Path, Set<String>> wanted = new LinkedHashMap<>();
        for (Path file : files) {
            for (Path entry : entriesOf(file)) {
                wanted.computeIfAbsent(entry.getParent(), folder -> new HashSet<>())
                        .add(entry.getFileName().toString());
            }
        }
        List<WatchKey> dropped = new ArrayList<>();
        keys.entrySet().removeIf(entry -> {
            if (entry.getValue().isValid() && wanted.containsKey(entry.getKey())
                    && Objects.equals(identities.get(entry.getKey()), identity(entry.getKey()))) {
                return false;
            }
            dropped.add(entry.getValue());
            identities.remove(entry.getKey());
            return true;
        });
        for (Path folder : wanted.keySet()) {
            if (keys.containsKey(folder)) {
                continue;
            }
            try {
                Object identity = identity(folder);
                keys.put(folder, folder.register(service, StandardWatchEventKinds.ENTRY_CREATE,
                        StandardWatchEventKinds.ENTRY_DELETE, StandardWatchEventKinds.ENTRY_MODIFY));
                identities.put(folder, identity);
                unwatchable.remove(folder);
                log.debug("Config watching folder={} names={}", folder, wanted.get(folder));
            } catch (ClosedWatchServiceException e) {
                return;
            } catch (NoSuchFileException e) {
                log.debug("Config folder not there yet; polling it folder={}", folder);
            } catch (IOException | UnsupportedOperationException e) {
                if (unwatchable.add(folder)) {
                    log.warn("Config folder cannot be watched; polling it folder={} reason={}", folder, e.toString());
                }
            }
        }
        // Two paths of one folder (a linked folder and its target) share one key: the service keeps one watch
        // per folder. A key is cancelled only when no wanted folder uses it, and it counts the names of all.
        Map<WatchKey, Set<String>> byKey = new HashMap<>();
        keys.forEach((folder, key) -> byKey.computeIfAbsent(key, k -> new HashSet<>()).addAll(wanted.get(folder)));
        for (WatchKey key : dropped) {
            if (!byKey.containsKey(key)) {
                key.cancel();
            }
        }
        Map<WatchKey, Set<String>> published = new HashMap<>();
        byKey.forEach((key, entryNames) -> published.put(key, Set.copyOf(entryNames)));
        names = published;
    }

    /**
     * Waits up to {@code nanos} for events and returns whether one of them concerns a watched entry. Returns at
     * the first batch of events, relevant or not, so that the caller's deadlines keep their time.
     *
     * @throws ClosedWatchServiceException once {@link #close()} has closed the service
     */
    boolean await(long nanos) throws InterruptedException {
        boolean found = false;
        Map<WatchKey, Set<String>> current = names;
        for (WatchKey key = service.poll(nanos, TimeUnit.NANOSECONDS); key != null; key = service.poll()) {
            Set<String> entryNames = current.get(key);
            for (WatchEvent<?> event : key.pollEvents()) {
                events.incrementAndGet();
                if (entryNames == null || !(event.context() instanceof Path name)
                        || entryNames.contains(name.toString())) {
                    // An overflow has no name; a key no longer (or not yet) in the map is looked at.
                    found = true;
                }
            }
            if (!key.reset()) {
                // Its folder is gone: what it held may be what a file resolved to. update() drops the key.
                found = true;
            }
        }
        if (found) {
            relevant.incrementAndGet();
        }
        return found;
    }

    /** Returns how many events the service reported: for tests. */
    long events() {
        return events.get();
    }

    /** Returns how many times {@link #await} found a relevant event: for tests. */
    long relevant() {
        return relevant.get();
    }

    @Override
    public void close() throws IOException {
        service.close();
    }

    /**
     * Returns the entries whose change can change what {@code file} resolves to or contains: the file itself, each
     * symbolic link met while resolving it (whichever element of the path it is), and the file it resolves to (or,
     * when it cannot be resolved, the path as far as it got). Each is an absolute, normalized path. The path is
     * resolved element by element as the kernel does: a {@code ..} after a linked folder goes up from the link's
     * target, not from the link ({@code current/../shared} with {@code current -> releases/1} is
     * {@code releases/shared}).
     */
    static Set<Path> entriesOf(Path file) {
        Set<Path> entries = new LinkedHashSet<>();
        Path absolute = file.toAbsolutePath();
        boolean upward = false;
        for (Path name : absolute) {
            upward |= name.toString().equals("..");
        }
        if (!upward) {
            entries.add(absolute.normalize()); // the name as written, in its folder as written
        }
        Deque<String> rest = new ArrayDeque<>();
        absolute.forEach(name -> rest.add(name.toString()));
        Path resolved = absolute.getRoot();
        int links = 0;
        while (!rest.isEmpty()) {
            String name = rest.poll();
            if (name.equals(".") || name.isEmpty()) {
                continue;
            }
            if (name.equals("..")) {
                resolved = resolved.getParent() == null ? resolved : resolved.getParent();
                continue;
            }
            Path candidate = resolved.resolve(name);
            if (!Files.isSymbolicLink(candidate)) {
                resolved = candidate;
                if (!Files.exists(candidate)) { // nothing below it can be a link: the rest as written
                    Path tail = candidate;
                    for (String n : rest) {
                        tail = tail.resolve(n);
                    }
                    resolved = tail.normalize();
                    rest.clear();
                }
                continue;
            }
            entries.add(candidate);
            if (++links > MAX_LINKS) {
                return withNames(entries);
            }
            Path target;
            try {
                target = Files.readSymbolicLink(candidate);
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                return withNames(entries);
            }
            List<String> front = new ArrayList<>();
            target.forEach(n -> front.add(n.toString()));
            for (int i = front.size() - 1; i >= 0; i--) {
                rest.addFirst(front.get(i));
            }
            if (target.isAbsolute()) {
                resolved = target.getRoot();
            }
        }
        entries.add(resolved);
        return withNames(entries);
    }

    /** The file key (device and inode on Linux) of {@code folder} now, or {@code null} when it cannot be read. */
    private static Object identity(Path folder) {
        try {
            return Files.readAttributes(folder, BasicFileAttributes.class).fileKey();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    private static Set<Path> withNames(Set<Path> entries) {
        entries.removeIf(entry -> entry.getParent() == null || entry.getFileName() == null);
        return entries;
    }
}
