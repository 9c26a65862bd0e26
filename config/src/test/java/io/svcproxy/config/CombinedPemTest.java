package io.svcproxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * From helper-106's review. A certFile that holds its chain and the private key in one PEM file (HAProxy's "crt"
 * format; what many tools write) is refused as "a CERTIFICATE block that does not decode", although every CERTIFICATE
 * block decodes and the TLS listener (Netty's PemReader) and Go's tls.X509KeyPair (ingress-nginx) both skip the other
 * blocks.
 */
class CombinedPemTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void certificates() throws Exception {
        TestCertificates.write(dir, "shop", "shop.example", "RSA");
    }

    @Test
    void aCertificateFileWithItsKeyAppendedIsAChainThatLoads() throws Exception {
        String cert = Files.readString(dir.resolve("shop.pem"));
        String key = Files.readString(dir.resolve("shop-key.pem"));
        assertThat(TlsPem.certificateProblem(cert)).isNull();
        assertThat(TlsPem.certificateProblem(cert + key)).isNull();
        assertThat(TlsPem.keyProblem(key, cert + key)).isNull();
        assertThat(TlsPem.dnsNames(cert + key)).containsExactly("shop.example");
    }
}
