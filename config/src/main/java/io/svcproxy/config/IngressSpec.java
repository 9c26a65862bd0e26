package io.svcproxy.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One Ingress (networking.k8s.io/v1), from the config file's {@code ingresses:} or from the Kubernetes API: its
 * rules, its default backend and its TLS entries, as written. The Ingress compiles the Ingresses of the desired
 * state into its routing table; this record knows nothing of matching.
 *
 * @param namespace      the Ingress's namespace, and that of every Service it names
 * @param name           a DNS-1123 subdomain
 * @param defaultBackend where requests no rule matches go, or {@code null}
 * @param rules          in the order written
 * @param tls            in the order written; the first serves clients without SNI
 * @param sslRedirect    ingress-nginx's {@code ssl-redirect} annotation (default true): a plain-HTTP request to a
 *                       host with a certificate is redirected to HTTPS
 * @param forceSslRedirect ingress-nginx's {@code force-ssl-redirect} annotation (default false): every plain-HTTP
 *                       request it routes is redirected, a certificate or not
 */
public record IngressSpec(String namespace, String name, Backend defaultBackend, List<Rule> rules, List<Tls> tls,
                          boolean sslRedirect, boolean forceSslRedirect) {
    /** The annotation of {@link #sslRedirect}, read from the API and from the config file's {@code annotations}. */
    public static final String SSL_REDIRECT = "nginx.ingress.kubernetes.io/ssl-redirect";
    /** The annotation of {@link #forceSslRedirect}. */
    public static final String FORCE_SSL_REDIRECT = "nginx.ingress.kubernetes.io/force-ssl-redirect";

    public IngressSpec {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        rules = List.copyOf(rules);
        tls = List.copyOf(tls);
    }

    /** An Ingress without redirect annotations (plain HTTP to a host with a certificate is redirected). */
    public IngressSpec(String namespace, String name, Backend defaultBackend, List<Rule> rules, List<Tls> tls) {
        this(namespace, name, defaultBackend, rules, tls, true, false);
    }

    /**
     * An annotation's boolean as ingress-nginx reads it (Go's {@code strconv.ParseBool}: {@code 1 t T TRUE true
     * True}, {@code 0 f F FALSE false False}), or {@code null} for anything else.
     */
    public static Boolean annotationBoolean(String value) {
        return switch (value) {
            case "1", "t", "T", "TRUE", "true", "True" -> Boolean.TRUE;
            case "0", "f", "F", "FALSE", "false", "False" -> Boolean.FALSE;
            default -> null;
        };
    }

    /**
     * Whether {@code host} is a valid rule or TLS host: a lowercase DNS-1123 subdomain that is no IPv4 address, or
     * {@code *.} and one (a wildcard of one label), as the API server checks Ingress hosts.
     */
    public static boolean isValidHost(String host) {
        String name = host.startsWith("*.") ? host.substring(2) : host;
        return Names.isDns1123Subdomain(name) && !name.matches("[0-9.]+");
    }

    /** Whether {@code pathType} is one of the API's: {@code Exact}, {@code Prefix}, {@code ImplementationSpecific}. */
    public static boolean isValidPathType(String pathType) {
        return "Exact".equals(pathType) || "Prefix".equals(pathType) || "ImplementationSpecific".equals(pathType);
    }

    /**
     * This Ingress with each rule host that no TLS entry names given to the first entry whose certificate covers it
     * ({@link TlsPem#covers}: its subjectAltName DNS names, exact or a one-label wildcard), as ingress-nginx picks a
     * certificate for such a host. An entry written without {@code hosts} (a wildcard certificate's, typically) thus
     * serves the rule hosts its certificate covers, instead of no name. Entries without a usable pair take none.
     */
    public IngressSpec withCoveredRuleHosts() {
        java.util.Set<String> named = new java.util.HashSet<>();
        for (Tls t : tls) {
            t.hosts().forEach(h -> named.add(h.toLowerCase(java.util.Locale.ROOT)));
        }
        List<List<String>> dnsNames = new java.util.ArrayList<>(java.util.Collections.nCopies(tls.size(), null));
        List<List<String>> added = new java.util.ArrayList<>();
        tls.forEach(t -> added.add(new java.util.ArrayList<>()));
        boolean changed = false;
        for (Rule rule : rules) {
            String host = rule.host();
            if (host == null || !named.add(host.toLowerCase(java.util.Locale.ROOT))) {
                continue;
            }
            for (int i = 0; i < tls.size(); i++) {
                if (!tls.get(i).usable()) {
                    continue;
                }
                if (dnsNames.get(i) == null) {
                    dnsNames.set(i, TlsPem.dnsNames(tls.get(i).certificatePem()));
                }
                if (TlsPem.covers(dnsNames.get(i), host)) {
                    added.get(i).add(host);
                    changed = true;
                    break;
                }
            }
        }
        if (!changed) {
            return this;
        }
        List<Tls> next = new java.util.ArrayList<>();
        for (int i = 0; i < tls.size(); i++) {
            Tls t = tls.get(i);
            List<String> hosts = new java.util.ArrayList<>(t.hosts());
            hosts.addAll(added.get(i));
            next.add(new Tls(hosts, t.certFile(), t.keyFile(), t.secretName(), t.certificatePem(), t.privateKeyPem(),
                    t.problem()));
        }
        return new IngressSpec(namespace, name, defaultBackend, rules, next, sslRedirect, forceSslRedirect);
    }

    /** {@code namespace/name}, the {@code ingress} label of the metrics. */
    public String qualifiedName() {
        return namespace + "/" + name;
    }

    /**
     * A Service port of the Ingress's namespace, by number or by name.
     *
     * @param service    the Service's name
     * @param portNumber the port number, or 0 when named
     * @param portName   the port name, or {@code null} when numbered
     */
    public record Backend(String service, int portNumber, String portName) {
        public Backend {
            Objects.requireNonNull(service, "service");
            if ((portNumber == 0) == (portName == null)) {
                throw new IllegalArgumentException("port: number=" + portNumber + " name=" + portName
                        + " (expected: exactly one of number 1-65535 or name)");
            }
        }

        /** The port as written: its number, or its name. */
        public String port() {
            return portName != null ? portName : Integer.toString(portNumber);
        }
    }

    /**
     * One rule: a host ({@code null} for every host; exact, or {@code *.} and a name for a wildcard of one label)
     * and its paths.
     */
    public record Rule(String host, List<HttpPath> paths) {
        public Rule {
            paths = List.copyOf(paths);
        }
    }

    /**
     * One path of a rule.
     *
     * @param path     starts with {@code /}
     * @param pathType {@code Exact}, {@code Prefix} or {@code ImplementationSpecific}
     */
    public record HttpPath(String path, String pathType, Backend backend) {
        public HttpPath {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(pathType, "pathType");
            Objects.requireNonNull(backend, "backend");
        }
    }

    /**
     * One TLS entry: the hosts it serves and its certificate chain and private key, in PEM.
     *
     * @param hosts          the names it is chosen for by SNI (wildcards of one label allowed)
     * @param certFile       config file: the certificate chain's file, resolved; {@code null} from the API
     * @param keyFile        config file: the private key's file, resolved; {@code null} from the API
     * @param secretName     Kubernetes: the {@code kubernetes.io/tls} Secret of the Ingress's namespace;
     *                       {@code null} in the config file
     * @param certificatePem the certificate chain as read (checked to load), or {@code null} when the Secret is
     *                       missing or not usable (the entry then serves nothing)
     * @param privateKeyPem  the PKCS#8 private key matching the first certificate, or {@code null} with it
     * @param problem        why the Secret is not usable ({@code null} when it is, and in the config file, whose
     *                       pairs are checked at validation)
     */
    public record Tls(List<String> hosts, Path certFile, Path keyFile, String secretName, String certificatePem,
                      String privateKeyPem, String problem) {
        public Tls {
            hosts = List.copyOf(hosts);
        }

        /** An entry whose pair is usable or whose problem is not known. */
        public Tls(List<String> hosts, Path certFile, Path keyFile, String secretName, String certificatePem,
                   String privateKeyPem) {
            this(hosts, certFile, keyFile, secretName, certificatePem, privateKeyPem, null);
        }

        /** {@link #problem} of a Secret without {@code tls.crt} or {@code tls.key}. */
        public static final String NO_PAIR = "no tls.crt or tls.key";
        /** How {@link #problem} starts when {@code tls.crt} does not load. */
        public static final String BAD_CERTIFICATE = "tls.crt: expected ";
        /** How {@link #problem} starts when {@code tls.key} does not load or does not match. */
        public static final String BAD_KEY = "tls.key: expected ";

        /**
         * Whether the Secret is there, of its type, and its content is what cannot be used (a renewal gone wrong,
         * after which the previous pair may keep serving), rather than missing or of another type.
         */
        public boolean contentProblem() {
            return problem != null && (problem.equals(NO_PAIR) || problem.startsWith(BAD_CERTIFICATE)
                    || problem.startsWith(BAD_KEY));
        }

        /** Whether the certificate and key are there (always for the config file). */
        public boolean usable() {
            return certificatePem != null && privateKeyPem != null;
        }

        /** Where the pair comes from, for logs: the files, or the Secret. */
        public String origin() {
            return secretName != null ? "secret=" + secretName : "certFile=" + certFile + " keyFile=" + keyFile;
        }
    }
}
