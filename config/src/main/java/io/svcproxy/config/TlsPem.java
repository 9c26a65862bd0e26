package io.svcproxy.config;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a TLS pair in PEM as the Ingress's TLS listener will load it: X.509 certificates (the server's first, then
 * its chain) and an unencrypted PKCS#8 private key ({@code -----BEGIN PRIVATE KEY-----}) of the first
 * certificate's public key (RSA, EC or Ed25519). Used for the config file's {@code certFile}/{@code keyFile} and for
 * {@code kubernetes.io/tls} Secrets, so that a pair that would not load is refused where it is written. An RSA key in
 * PKCS#1 ({@code -----BEGIN RSA PRIVATE KEY-----}, what {@code openssl genrsa -traditional} and cert-manager's
 * default encoding write) is first rewrapped into PKCS#8 by {@link #normalizeKey}.
 */
public final class TlsPem {
    private static final String BEGIN_CERTIFICATE = "-----BEGIN CERTIFICATE-----";
    private static final Pattern CERTIFICATE_BLOCK = Pattern.compile(
            "-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", Pattern.DOTALL);
    private static final Pattern KEY_BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----([A-Za-z0-9+/=\\s]*)-----END \\1PRIVATE KEY-----");
    private static final String CERT_EXPECTED = "PEM X.509 certificates, -----BEGIN CERTIFICATE-----";
    static final String KEY_EXPECTED = "an unencrypted PEM private key, PKCS#8 (-----BEGIN PRIVATE KEY-----), "
            + "RSA PKCS#1 or EC SEC1 (openssl pkcs8 -topk8 -nocrypt converts others)";
    private static final Pattern RSA_BLOCK = Pattern.compile(
            "-----BEGIN RSA PRIVATE KEY-----([A-Za-z0-9+/=\\s]*)-----END RSA PRIVATE KEY-----");
    /** The DER of PKCS#8's AlgorithmIdentifier for rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
    private static final byte[] RSA_ALGORITHM = {
        0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    };

    private static final Pattern EC_BLOCK = Pattern.compile(
            "-----BEGIN EC PRIVATE KEY-----([A-Za-z0-9+/=\\s]*)-----END EC PRIVATE KEY-----");
    /** The DER of id-ecPublicKey (1.2.840.10045.2.1), the first part of PKCS#8's AlgorithmIdentifier for EC. */
    private static final byte[] EC_PUBLIC_KEY = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    private TlsPem() {
    }

    /**
     * Returns the key in PKCS#8 PEM: an RSA PKCS#1 block is rewrapped (RFC 5208: version 0, rsaEncryption, the
     * PKCS#1 structure as the private key octets); any other text is returned as it is.
     */
    public static String normalizeKey(String keyPem) {
        Matcher ec = EC_BLOCK.matcher(keyPem);
        if (ec.find() && !keyPem.contains("Proc-Type:")) {
            return ecToPkcs8(ec.group(1), keyPem);
        }
        Matcher m = RSA_BLOCK.matcher(keyPem);
        if (!m.find() || keyPem.contains("Proc-Type:")) {
            return keyPem; // not PKCS#1 RSA, or an encrypted one (refused by keyProblem)
        }
        byte[] pkcs1;
        try {
            pkcs1 = Base64.getMimeDecoder().decode(m.group(1).replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            return keyPem;
        }
        return pkcs8Pem(RSA_ALGORITHM, pkcs1);
    }

    /**
     * An SEC1 EC key ({@code -----BEGIN EC PRIVATE KEY-----}, RFC 5915: what {@code openssl ecparam -genkey} and
     * cert-manager's ECDSA keys are) rewrapped in PKCS#8 (RFC 5208: version 0, id-ecPublicKey with the named curve
     * of the key's own parameters, the SEC1 structure as the private key octets); {@code keyPem} as it is when the
     * key names no curve or does not parse.
     */
    private static String ecToPkcs8(String base64, String keyPem) {
        byte[] sec1;
        byte[] curve;
        try {
            sec1 = Base64.getMimeDecoder().decode(base64.replaceAll("\\s", ""));
            curve = namedCurve(sec1);
        } catch (RuntimeException e) {
            return keyPem;
        }
        if (curve == null) {
            return keyPem;
        }
        java.io.ByteArrayOutputStream algorithm = new java.io.ByteArrayOutputStream();
        algorithm.write(0x30);
        algorithm.writeBytes(derLength(EC_PUBLIC_KEY.length + curve.length));
        algorithm.writeBytes(EC_PUBLIC_KEY);
        algorithm.writeBytes(curve);
        return pkcs8Pem(algorithm.toByteArray(), sec1);
    }

    /** The DER of the named curve's OID in an SEC1 ECPrivateKey's {@code [0]} parameters, or {@code null}. */
    private static byte[] namedCurve(byte[] der) {
        int[] at = {0};
        if (der[at[0]++] != 0x30) {
            return null;
        }
        readLength(der, at);
        for (int tag : new int[] {0x02, 0x04}) { // version, privateKey
            if (der[at[0]++] != tag) {
                return null;
            }
            int n = readLength(der, at);
            at[0] += n;
        }
        if (at[0] >= der.length || (der[at[0]++] & 0xff) != 0xa0) {
            return null;
        }
        readLength(der, at);
        int start = at[0];
        if (der[at[0]++] != 0x06) {
            return null;
        }
        int n = readLength(der, at);
        return java.util.Arrays.copyOfRange(der, start, at[0] + n);
    }

    private static int readLength(byte[] der, int[] at) {
        int first = der[at[0]++] & 0xff;
        if (first < 0x80) {
            return first;
        }
        int n = 0;
        for (int i = 0; i < (first & 0x7f); i++) {
            n = n << 8 | der[at[0]++] & 0xff;
        }
        return n;
    }

    /**
     * A PKCS#8 PrivateKeyInfo in PEM (RFC 5208): version 0, {@code algorithm} (the DER of its AlgorithmIdentifier),
     * and {@code key}, the algorithm's own private key structure, as the octets.
     */
    private static String pkcs8Pem(byte[] algorithm, byte[] key) {
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        body.writeBytes(new byte[] {0x02, 0x01, 0x00});
        body.writeBytes(algorithm);
        body.write(0x04);
        body.writeBytes(derLength(key.length));
        body.writeBytes(key);
        java.io.ByteArrayOutputStream der = new java.io.ByteArrayOutputStream();
        der.write(0x30);
        der.writeBytes(derLength(body.size()));
        der.writeBytes(body.toByteArray());
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'})
                .encodeToString(der.toByteArray()) + "\n-----END PRIVATE KEY-----\n";
    }

    private static byte[] derLength(int n) {
        if (n < 0x80) {
            return new byte[] {(byte) n};
        }
        if (n < 0x100) {
            return new byte[] {(byte) 0x81, (byte) n};
        }
        if (n < 0x10000) {
            return new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
        }
        return new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
    }

    /** Returns what is wrong with a certificate chain (as the text after "expected: "), or {@code null}. */
    public static String certificateProblem(String pem) {
        try {
            return certificates(pem).isEmpty() ? CERT_EXPECTED + "; none found" : null;
        } catch (java.security.cert.CertificateException e) {
            // the JDK's words name its parser ("Unable to initialize, java.io.EOFException"): say what is wrong
            return CERT_EXPECTED + "; " + NOT_DECODED;
        } catch (GeneralSecurityException | RuntimeException e) {
            return CERT_EXPECTED + "; " + reason(e);
        }
    }

    /** What a chain whose CERTIFICATE block does not decode is told. */
    static final String NOT_DECODED = "a CERTIFICATE block that does not decode (cut short, or not base64 of an X.509 "
            + "certificate)";

    /**
     * Returns what is wrong with a private key (as the text after "expected: "), or {@code null}. A key that is
     * not the one of the chain's first certificate is wrong; with a chain that does not load only the key is
     * checked.
     */
    public static String keyProblem(String keyPem, String certificatePem) {
        PrivateKey key;
        try {
            key = privateKey(keyPem);
        } catch (GeneralSecurityException | RuntimeException e) {
            return KEY_EXPECTED;
        }
        if (key == null) {
            return KEY_EXPECTED;
        }
        if (!key.getAlgorithm().equals("RSA") && !key.getAlgorithm().equals("EC")) {
            // the listener's SslContextBuilder loads RSA and EC keys only, with OpenSSL and the JDK alike: an
            // Ed25519 key that passed here failed the listener's start, or blocked every certificate swap
            return "an RSA or EC private key (" + key.getAlgorithm() + " keys do not load in the TLS listener)";
        }
        List<? extends Certificate> chain;
        try {
            chain = certificates(certificatePem);
        } catch (GeneralSecurityException | RuntimeException e) {
            return null;
        }
        if (chain.isEmpty()) {
            return null;
        }
        return matches(key, chain.get(0).getPublicKey()) ? null
                : "the private key of the first certificate (" + chain.get(0).getPublicKey().getAlgorithm() + ")";
    }

    /**
     * The DNS names of the chain's first certificate (its subjectAltName {@code dNSName}s, lower case), or none when
     * it has none or does not load. The subject's CN is not read, as Go's {@code VerifyHostname}, which ingress-nginx
     * uses, has not read it since Go 1.15.
     */
    public static List<String> dnsNames(String certificatePem) {
        try {
            List<? extends Certificate> chain = certificates(certificatePem);
            if (chain.isEmpty() || !(chain.get(0) instanceof X509Certificate leaf)
                    || leaf.getSubjectAlternativeNames() == null) {
                return List.of();
            }
            List<String> names = new ArrayList<>();
            for (List<?> name : leaf.getSubjectAlternativeNames()) {
                if (Integer.valueOf(2).equals(name.get(0)) && name.get(1) instanceof String dns) {
                    names.add(dns.toLowerCase(Locale.ROOT));
                }
            }
            return names;
        } catch (GeneralSecurityException | RuntimeException e) {
            return List.of();
        }
    }

    /**
     * Whether a certificate of {@code dnsNames} (as {@link #dnsNames} gives them) serves {@code host}: a name equal
     * to it, or a wildcard {@code *.rest} whose {@code *} stands for the host's first label (RFC 6125 6.4.3, as Go's
     * {@code VerifyHostname}). A rule's own wildcard host {@code *.rest} is served by the same wildcard name only.
     */
    public static boolean covers(List<String> dnsNames, String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        int dot = h.indexOf('.');
        for (String name : dnsNames) {
            if (name.equals(h)
                    || name.startsWith("*.") && dot > 0 && !h.startsWith("*") && name.substring(1).equals(h.substring(dot))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The certificates of the {@code CERTIFICATE} blocks of {@code pem}, in order. Other blocks (a private key kept in
     * the same file, as HAProxy's {@code crt} files and many tools write it) are skipped, as the TLS listener's PEM
     * reader and Go's {@code tls.X509KeyPair} (ingress-nginx) skip them.
     */
    private static List<? extends Certificate> certificates(String pem) throws GeneralSecurityException {
        if (!pem.contains(BEGIN_CERTIFICATE)) {
            return List.of();
        }
        StringBuilder blocks = new StringBuilder();
        Matcher m = CERTIFICATE_BLOCK.matcher(pem);
        int found = 0;
        while (m.find()) {
            blocks.append(m.group()).append('\n');
            found++;
        }
        if (found < pem.split(BEGIN_CERTIFICATE, -1).length - 1) {
            throw new CertificateException("a CERTIFICATE block without its end line");
        }
        Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(blocks.toString().getBytes(StandardCharsets.US_ASCII)));
        return List.copyOf(certs);
    }

    /** Returns the PKCS#8 key of the first {@code PRIVATE KEY} block, or {@code null} when there is none. */
    private static PrivateKey privateKey(String pem) throws GeneralSecurityException {
        Matcher m = KEY_BLOCK.matcher(pem);
        if (!m.find() || !m.group(1).isEmpty()) {
            return null; // "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY": not what the listener loads
        }
        byte[] der = Base64.getMimeDecoder().decode(m.group(2).replaceAll("\\s", ""));
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        GeneralSecurityException last = null;
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw last;
    }

    private static boolean matches(PrivateKey key, PublicKey publicKey) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null || !key.getAlgorithm().equals(publicKey.getAlgorithm())
                && !(key.getAlgorithm().startsWith("Ed") && publicKey.getAlgorithm().startsWith("Ed"))) {
            return false;
        }
        try {
            byte[] data = "svcproxy key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(data);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(data);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static String reason(Exception e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
    }
}
