package io.svcproxy.ingress.proxy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One {@code tls} entry of an Ingress: the hosts it serves (exact names or one-label wildcards such as
 * {@code *.example}) and its certificate chain and private key in PEM (PKCS#8 key). {@code certSource} and
 * {@code keySource} name where the PEM came from (a file, a Secret's key) for error messages.
 */
public record TlsEntry(List<String> hosts, String certSource, byte[] certPem, String keySource, byte[] keyPem) {
    public TlsEntry {
        hosts = List.copyOf(hosts);
        Objects.requireNonNull(certSource, "certSource");
        Objects.requireNonNull(certPem, "certPem");
        Objects.requireNonNull(keySource, "keySource");
        Objects.requireNonNull(keyPem, "keyPem");
    }

    /**
     * Where a pair with these sources and hosts comes from: what a renewal of it keeps (its files or its Secret's keys,
     * and the hosts: two Ingresses may name one Secret for different hosts).
     */
    public static String source(String certSource, String keySource, List<String> hosts) {
        return certSource + "\n" + keySource + "\n" + hosts;
    }

    /** {@link #source(String, String, List)} of this entry. */
    public String source() {
        return source(certSource, keySource, hosts);
    }

    /**
     * Reads the entry's PEM files.
     *
     * @throws IllegalArgumentException naming the file that cannot be read
     */
    public static TlsEntry ofFiles(List<String> hosts, Path certFile, Path keyFile) {
        return new TlsEntry(hosts, "certFile " + certFile, read("certFile", certFile), "keyFile " + keyFile,
                read("keyFile", keyFile));
    }

    private static byte[] read(String what, Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException(what + " " + file + ": cannot be read (" + e + ")", e);
        }
    }

    @Override
    public String toString() {
        return "TlsEntry" + hosts + " " + certSource + " " + keySource;
    }
}
