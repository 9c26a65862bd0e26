package io.svcproxy.proxy.ingress;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.util.Base64;

/**
 * Makes self-signed test certificates with the JDK's keytool and writes them as the PEM pair the Ingress loads:
 * the certificate, and the private key in PKCS#8.
 */
public final class TestCertificates {
    private TestCertificates() {
    }

    /** Writes {@code name.pem} and {@code name-key.pem} in {@code dir} for a certificate of {@code host}. */
    public static void write(Path dir, String name, String host, String keyAlgorithm) throws IOException, InterruptedException {
        write(dir, name, host, keyAlgorithm, "-0d");
    }

    /**
     * As {@link #write(Path, String, String, String)}, valid for 30 days from {@code startDate} (keytool's
     * {@code -startdate}: {@code -0d} is now, {@code 2020/01/01} makes a certificate that expired long ago).
     */
    static void write(Path dir, String name, String host, String keyAlgorithm, String startDate)
            throws IOException, InterruptedException {
        Path store = dir.resolve(name + ".p12");
        Files.deleteIfExists(store);
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "k", "-keyalg", keyAlgorithm,
                "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "changeit",
                "-dname", "CN=" + host, "-ext", "SAN=dns:" + host, "-validity", "30", "-startdate", startDate)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("keytool failed: " + out);
        }
        try (InputStream in = Files.newInputStream(store)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, "changeit".toCharArray());
            Certificate cert = ks.getCertificate("k");
            PrivateKey key = (PrivateKey) ks.getKey("k", "changeit".toCharArray());
            Files.writeString(dir.resolve(name + ".pem"), pem("CERTIFICATE", cert.getEncoded()));
            Files.writeString(dir.resolve(name + "-key.pem"), pem("PRIVATE KEY", key.getEncoded()));
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException(e);
        }
        Files.delete(store);
    }

    /** Rewrites {@code name-key.pem} (an RSA key in PKCS#8) as PKCS#1, {@code -----BEGIN RSA PRIVATE KEY-----}. */
    static void toPkcs1(Path dir, String name) throws IOException {
        String pem = Files.readString(dir.resolve(name + "-key.pem"));
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", ""));
        int[] at = {0};
        expect(der, at, 0x30);
        length(der, at); // PrivateKeyInfo
        expect(der, at, 0x02);
        int version = length(der, at);
        at[0] += version;
        expect(der, at, 0x30);
        int algorithm = length(der, at);
        at[0] += algorithm;
        expect(der, at, 0x04);
        int n = length(der, at); // privateKey: the PKCS#1 RSAPrivateKey
        byte[] pkcs1 = java.util.Arrays.copyOfRange(der, at[0], at[0] + n);
        Files.writeString(dir.resolve(name + "-key.pem"), pem("RSA PRIVATE KEY", pkcs1));
    }

    private static void expect(byte[] der, int[] at, int tag) throws IOException {
        if ((der[at[0]++] & 0xff) != tag) {
            throw new IOException("unexpected DER tag at " + (at[0] - 1));
        }
    }

    private static int length(byte[] der, int[] at) {
        int first = der[at[0]++] & 0xff;
        if (first < 0x80) {
            return first;
        }
        int n = 0;
        for (int i = 0; i < (first & 0x7f); i++) {
            n = (n << 8) | (der[at[0]++] & 0xff);
        }
        return n;
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }
}
