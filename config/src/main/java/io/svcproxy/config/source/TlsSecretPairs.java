package io.svcproxy.config.source;

import io.svcproxy.config.IngressSpec;
import io.svcproxy.config.TlsPem;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The pairs of the TLS Secrets that Ingresses name, for {@link KubernetesIngressMapper}: each decoded, parsed and its
 * key matched by a signature once while its {@code tls.crt} and {@code tls.key} stay the same. A recompute (any
 * Ingress or Secret event, a status write, the resync) used to check every served Secret again. Confined to the
 * mapper's thread.
 */
final class TlsSecretPairs {
    /**
     * A TLS Secret's {@code tls.crt} and {@code tls.key} as the API gives them (base64, either may be {@code null}),
     * their pair and what is wrong with it ({@code null} when nothing).
     */
    record Checked(String certData, String keyData, String cert, String key, String problem) {
        boolean of(Map<String, String> data) {
            return Objects.equals(certData, valueOf(data, "tls.crt"))
                    && Objects.equals(keyData, valueOf(data, "tls.key"));
        }
    }

    /** The pairs checked by the last recompute and by this one, by {@code namespace/name}. */
    private Map<String, Checked> before = new HashMap<>();
    private Map<String, Checked> now = new HashMap<>();
    /** How many pairs were decoded and checked (each costs a signature): for tests. */
    private int checks;

    /** The pair of the Secret {@code secret} ({@code namespace/name}) with {@code data}, checked. */
    Checked checked(String secret, Map<String, String> data) {
        Checked known = now.get(secret);
        if (known == null) {
            known = before.get(secret);
        }
        if (known == null || !known.of(data)) { // only the pair counts: ca.crt may change, or be null
            checks++;
            String cert = decode(data, "tls.crt");
            String key = decode(data, "tls.key");
            key = key == null ? null : TlsPem.normalizeKey(key);
            String problem;
            if (cert == null || key == null) {
                problem = IngressSpec.Tls.NO_PAIR;
            } else {
                problem = TlsPem.certificateProblem(cert);
                if (problem == null) {
                    String keyProblem = TlsPem.keyProblem(key, cert);
                    problem = keyProblem == null ? null : IngressSpec.Tls.BAD_KEY + keyProblem;
                } else {
                    problem = IngressSpec.Tls.BAD_CERTIFICATE + problem;
                }
            }
            known = new Checked(valueOf(data, "tls.crt"), valueOf(data, "tls.key"), cert, key, problem);
        }
        now.put(secret, known);
        return known;
    }

    /** Ends a recompute: the pairs it did not look at are forgotten at the next. */
    void mapped() {
        before = now;
        now = new HashMap<>();
    }

    /** How many pairs were checked so far. */
    int checks() {
        return checks;
    }

    private static String valueOf(Map<String, String> data, String key) {
        return data == null ? null : data.get(key);
    }

    private static String decode(Map<String, String> data, String key) {
        String v = data == null ? null : data.get(key);
        if (v == null) {
            return null;
        }
        try {
            return new String(Base64.getMimeDecoder().decode(v), StandardCharsets.US_ASCII);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

}
