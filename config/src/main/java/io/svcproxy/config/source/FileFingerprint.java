package io.svcproxy.config.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What a watched file looks like at one moment: the file it resolves to (following every symbolic link), its
 * size, its last-modified time and a hash of its content. Two equal fingerprints mean "no change"; the hash
 * catches a rewrite that keeps the size and the time (coarse timestamps, {@code touch -r}, {@code cp -p}), the real
 * path catches a symbolic link swapped to a file with the same attributes.
 *
 * @param realPath the file it resolves to, or {@code null} when it cannot be reached
 * @param size its size in bytes, or -1
 * @param modified its last-modified time, or {@code null}
 * @param hash the SHA-256 of its content in hex, or {@code null} when it is not a regular file, is too large to
 *     be a config, or cannot be read
 * @param problem why it cannot be reached ({@code no such file}, ...), or {@code null}
 */
record FileFingerprint(Path realPath, long size, FileTime modified, String hash, String problem) {
    /** Larger than any config the loader accepts (12 MiB): such a file is compared by its attributes only. */
    private static final long MAX_HASHED = 16L * 1024 * 1024;

    /** Takes the fingerprint of {@code file}, never throwing: a file that cannot be read has a problem instead. */
    static FileFingerprint of(Path file) {
        try {
            Path real = file.toRealPath();
            BasicFileAttributes attributes = Files.readAttributes(real, BasicFileAttributes.class);
            String hash = attributes.isRegularFile() && attributes.size() <= MAX_HASHED ? hash(real) : null;
            return new FileFingerprint(real, attributes.size(), attributes.lastModifiedTime(), hash, null);
        } catch (NoSuchFileException e) {
            return missing("no such file");
        } catch (IOException | SecurityException e) {
            return missing(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static FileFingerprint missing(String problem) {
        return new FileFingerprint(null, -1, null, null, problem);
    }

    private static String hash(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
        byte[] buffer = new byte[8192];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
