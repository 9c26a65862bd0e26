package io.svcproxy.config;

import java.nio.file.Path;

/** Lets the tests of other packages make certificates with {@link TestCertificates}. */
public final class TestCertificatesAccess {
    private TestCertificatesAccess() {
    }

    public static void write(Path dir, String name, String host, String keyAlgorithm) throws Exception {
        TestCertificates.write(dir, name, host, keyAlgorithm);
    }
}
