package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code proxy.ingress} and {@code ingresses:}: the SPEC example and every problem, with line and column. */
class IngressConfigTest {
    /** Two Services the Ingresses below may name: lines 1 to 8. */
    private static final String SERVICES = """
            services:
              - name: web
                clusterIP: 127.0.10.150
                ports: [{name: http, port: 80}]
                endpoints: [{ip: 127.0.0.150}]
              - name: api
                clusterIP: 127.0.10.151
                ports: [{name: http, port: 8080}, {name: dns, protocol: UDP, port: 53}]
            """;

    @TempDir
    static Path dir;

    @BeforeAll
    static void certificates() throws Exception {
        Files.createDirectories(dir.resolve("certs"));
        TestCertificates.write(dir.resolve("certs"), "shop", "shop.example", "EC");
        TestCertificates.write(dir.resolve("certs"), "other", "other.example", "RSA");
    }

    @Test
    void bindsTheSpecExample() throws Exception {
        ProxyConfig config = load("""
                proxy:
                  ingress:
                    http: 127.0.10.190:8080
                    https: 127.0.10.190:8443
                    className: svcproxy
                    responseTimeout: 60s
                ingresses:
                  - name: shop
                    namespace: default
                    tls:
                      - hosts: [shop.example]
                        certFile: certs/shop.pem
                        keyFile: certs/shop-key.pem
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                    rules:
                      - host: shop.example
                        http:
                          paths:
                            - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
                            - {path: /login, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}
                """ + SERVICES);
        IngressSettings s = config.proxy().ingress();
        assertThat(s.http()).isEqualTo(new InetSocketAddress("127.0.10.190", 8080));
        assertThat(s.https()).isEqualTo(new InetSocketAddress("127.0.10.190", 8443));
        assertThat(s.className()).isEqualTo("svcproxy");
        assertThat(s.responseTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(config.ingresses()).hasSize(1);
        IngressSpec shop = config.ingresses().get(0);
        assertThat(shop.qualifiedName()).isEqualTo("default/shop");
        assertThat(shop.defaultBackend()).isEqualTo(new IngressSpec.Backend("web", 80, null));
        assertThat(shop.rules()).containsExactly(new IngressSpec.Rule("shop.example", List.of(
                new IngressSpec.HttpPath("/api", "Prefix", new IngressSpec.Backend("api", 0, "http")),
                new IngressSpec.HttpPath("/login", "Exact", new IngressSpec.Backend("web", 80, null)))));
        IngressSpec.Tls tls = shop.tls().get(0);
        assertThat(tls.hosts()).containsExactly("shop.example");
        assertThat(tls.certFile()).isEqualTo(dir.resolve("certs/shop.pem"));
        assertThat(tls.certificatePem()).isEqualTo(Files.readString(dir.resolve("certs/shop.pem")));
        assertThat(tls.privateKeyPem()).isEqualTo(Files.readString(dir.resolve("certs/shop-key.pem")));
        assertThat(config.watchedFiles()).containsExactly(dir.resolve("certs/shop.pem"),
                dir.resolve("certs/shop-key.pem"));
        assertThat(ConfigLoader.summary(config)).endsWith(": ok: 2 services, 3 ports, 0 pods, 0 registry files, "
                + "1 ingress");
    }

    @Test
    void acceptsAnRsaKeyInPkcs1AndHoldsItAsPkcs8() throws Exception {
        TestCertificates.write(dir.resolve("certs"), "legacy", "legacy.example", "RSA");
        TestCertificates.toPkcs1(dir.resolve("certs"), "legacy");
        assertThat(Files.readString(dir.resolve("certs/legacy-key.pem"))).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertHeldAsPkcs8("legacy", "legacy.example");
    }

    /** Loads an Ingress with the pair {@code certs/NAME.pem}, {@code certs/NAME-key.pem}: the key is PKCS#8 and fits. */
    private void assertHeldAsPkcs8(String name, String host) throws Exception {
        ProxyConfig config = load(SERVICES + """
                ingresses:
                  - name: %1$s
                    tls: [{hosts: [%2$s], certFile: certs/%1$s.pem, keyFile: certs/%1$s-key.pem}]
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                """.formatted(name, host));
        String key = config.ingresses().get(0).tls().get(0).privateKeyPem();
        assertThat(key).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(TlsPem.keyProblem(key, config.ingresses().get(0).tls().get(0).certificatePem())).isNull();
    }

    @Test
    void acceptsAnEcKeyInSec1AsOpensslAndCertManagerWriteItAndHoldsItAsPkcs8() throws Exception {
        Path certs = Files.createDirectories(dir.resolve("certs"));
        for (List<String> command : List.of(
                List.of("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec-key.pem"),
                List.of("openssl", "req", "-new", "-x509", "-key", "ec-key.pem", "-subj", "/CN=ec.example", "-days",
                        "2", "-out", "ec.pem"))) {
            Process p = new ProcessBuilder(command).directory(certs.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out).isZero();
        }
        assertThat(Files.readString(certs.resolve("ec-key.pem"))).startsWith("-----BEGIN EC PRIVATE KEY-----");
        assertHeldAsPkcs8("ec", "ec.example");
    }

    @Test
    void anEd25519KeyIsRefusedAsTheListenerCannotLoadIt() throws Exception {
        TestCertificates.write(dir.resolve("certs"), "shop", "shop.example", "EC");
        java.security.KeyPair ed = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        String pem = "-----BEGIN PRIVATE KEY-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes(
                java.nio.charset.StandardCharsets.US_ASCII)).encodeToString(ed.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        assertThat(TlsPem.keyProblem(pem, Files.readString(dir.resolve("certs/shop.pem"))))
                .isEqualTo("an RSA or EC private key (EdDSA keys do not load in the TLS listener)");
    }

    @Test
    void withoutTheSectionsNothingListensAndThereAreNoIngresses() {
        ProxyConfig config = parse(SERVICES);
        assertThat(config.proxy().ingress()).isEqualTo(IngressSettings.defaults());
        assertThat(config.proxy().ingress().enabled()).isFalse();
        assertThat(config.ingresses()).isEmpty();
        assertThat(parse("proxy: {ingress: {http: off, https: false}}").proxy().ingress().enabled()).isFalse();
    }

    @Test
    void refusesBadListenerSettings() {
        assertThat(errors("""
                proxy:
                  ingress:
                    http: localhost:8080
                    https: 127.0.10.190:70000
                    className: Svc_Proxy
                    responseTimeout: 0s
                    timeout: 5s
                    httpsRedirectPort: 0
                    publishService: front
                """)).containsExactly(
                "svcproxy.yaml:3:11: http: localhost:8080 (expected: IP:PORT, such as 127.0.0.1:8080 or [::1]:8080, "
                        + "or off)",
                "svcproxy.yaml:4:12: https: 127.0.10.190:70000 (expected: IP:PORT, such as 127.0.0.1:8080 or "
                        + "[::1]:8080, or off)",
                "svcproxy.yaml:5:16: className: Svc_Proxy (expected: a DNS-1123 subdomain: dot-separated DNS-1123 "
                        + "labels, at most 253 characters)",
                "svcproxy.yaml:6:22: responseTimeout: 0s (expected: 1ms..8760h)",
                "svcproxy.yaml:7:5: unknown key: timeout (expected: http, https, className, responseTimeout, "
                        + "httpsRedirectPort, publishService)",
                "svcproxy.yaml:8:24: httpsRedirectPort: 0 (expected: 1..65535)",
                "svcproxy.yaml:9:21: publishService: front (expected: namespace/name of a Service: a DNS-1123 label, "
                        + "/, a DNS-1035 label)");
        assertThat(parse("proxy: {ingress: {http: 127.0.10.190:8080, publishService: ingress-nginx/front}}").proxy()
                .ingress().publishService()).isEqualTo("ingress-nginx/front");
        assertThat(parse("proxy: {ingress: {http: 127.0.10.190:8080, httpsRedirectPort: 443}}").proxy().ingress()
                .httpsRedirectPort()).isEqualTo(443);
    }

    @Test
    void refusesHttpsOnHttpsAddress() {
        assertThat(errors("proxy: {ingress: {http: 127.0.10.190:8080, https: 127.0.10.190:8080}}")).containsExactly(
                "svcproxy.yaml:1:51: https: 127.0.10.190:8080 (expected: an address other than http's)");
        IngressSettings anyPorts = parse("proxy: {ingress: {http: 127.0.10.190:0, https: 127.0.10.190:0}}").proxy()
                .ingress(); // port 0 is a free port each: two listeners
        assertThat(anyPorts.http()).isEqualTo(anyPorts.https());
    }

    @Test
    void refusesUnknownPathTypesAndAMissingOne() {
        assertThat(errors(SERVICES + """
                ingresses:
                  - name: shop
                    rules:
                      - http:
                          paths:
                            - {path: /a, pathType: prefix, backend: {service: {name: web, port: {number: 80}}}}
                            - {path: /b, backend: {service: {name: web, port: {number: 80}}}}
                """)).containsExactly(
                "svcproxy.yaml:14:36: pathType: prefix (expected: Exact, Prefix or ImplementationSpecific)",
                "svcproxy.yaml:15:16: pathType: missing (expected: Exact, Prefix or ImplementationSpecific)");
    }

    @Test
    void refusesPathsThatAreNotAbsoluteOrNormalizeAway() {
        assertThat(errors(SERVICES + """
                ingresses:
                  - name: shop
                    rules:
                      - http:
                          paths:
                            - {path: api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
                            - {path: /a//b, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}
                            - {path: /a/.., pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
                            - {path: "/a?x", pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}
                            - {pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
                """)).containsExactly(
                "svcproxy.yaml:14:22: path: api (expected: " + IngressBinder.PATH_EXPECTED + ")",
                "svcproxy.yaml:15:22: path: /a//b (expected: " + IngressBinder.PATH_EXPECTED + ")",
                "svcproxy.yaml:16:22: path: /a/.. (expected: " + IngressBinder.PATH_EXPECTED + ")",
                "svcproxy.yaml:17:22: path: /a?x (expected: " + IngressBinder.PATH_EXPECTED + ")",
                "svcproxy.yaml:18:16: path: missing (expected: " + IngressBinder.PATH_EXPECTED + ")");
    }

    @Test
    void implementationSpecificWithoutPathMatchesEveryPath() {
        ProxyConfig config = parse(SERVICES + """
                ingresses:
                  - name: shop
                    rules:
                      - http:
                          paths:
                            - {pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}
                """);
        assertThat(config.ingresses().get(0).rules().get(0).paths().get(0).path()).isEqualTo("/");
    }

    @Test
    void acceptsExactHostsAndWildcardsOfOneLabelOnly() {
        ProxyConfig config = parse(SERVICES + """
                ingresses:
                  - name: shop
                    rules:
                      - {host: shop.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {host: "*.example", http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                """);
        assertThat(config.ingresses().get(0).rules()).extracting(IngressSpec.Rule::host)
                .containsExactly("shop.example", "*.example");
        assertThat(errors(SERVICES + """
                ingresses:
                  - name: shop
                    tls: [{hosts: [Shop.example], certFile: certs/none.pem, keyFile: certs/none-key.pem}]
                    rules:
                      - {host: "*", http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {host: "*.*.example", http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {host: "a.*.example", http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {host: "shop.example:8080", http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {host: 127.0.0.1, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                """)).contains(
                "svcproxy.yaml:11:20: hosts[0]: Shop.example (expected: " + IngressBinder.HOST_EXPECTED + ")",
                "svcproxy.yaml:13:16: host: * (expected: " + IngressBinder.HOST_EXPECTED + ")",
                "svcproxy.yaml:14:16: host: *.*.example (expected: " + IngressBinder.HOST_EXPECTED + ")",
                "svcproxy.yaml:15:16: host: a.*.example (expected: " + IngressBinder.HOST_EXPECTED + ")",
                "svcproxy.yaml:16:16: host: shop.example:8080 (expected: " + IngressBinder.HOST_EXPECTED + ")",
                "svcproxy.yaml:17:16: host: 127.0.0.1 (expected: " + IngressBinder.HOST_EXPECTED + ")");
    }

    @Test
    void aRuleWithABadHostClashesWithNoOtherRule() {
        // its host is refused, and its paths are not served: they used to be kept under no host and reported as a
        // duplicate of the host-less rule's
        assertThat(errors(SERVICES + """
                ingresses:
                  - name: shop
                    rules:
                      - {host: "*.*.example", http: {paths: [{path: /a, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {http: {paths: [{path: /a, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                """)).containsExactly(
                "svcproxy.yaml:12:16: host: *.*.example (expected: " + IngressBinder.HOST_EXPECTED + ")");
    }

    @Test
    void refusesABackendServiceTheFileDoesNotDefineWithoutKubernetes() {
        String ingress = """
                ingresses:
                  - name: shop
                    defaultBackend: {service: {name: shop, port: {number: 80}}}
                """;
        assertThat(errors(SERVICES + ingress)).containsExactly(
                "svcproxy.yaml:11:38: name: shop (expected: a Service of namespace default defined in this file "
                        + "(without registry.kubernetes))");
        ProxyConfig withKubernetes = parse("registry: {kubernetes: {}}\n" + SERVICES + ingress);
        assertThat(withKubernetes.ingresses().get(0).defaultBackend()).isEqualTo(
                new IngressSpec.Backend("shop", 80, null));
    }

    @Test
    void refusesAPortTheServiceDoesNotHaveByNumberOrName() {
        assertThat(errors(SERVICES + """
                ingresses:
                  - name: shop
                    rules:
                      - http:
                          paths:
                            - {path: /a, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
                            - {path: /b, pathType: Prefix, backend: {service: {name: api, port: {name: dns}}}}
                            - {path: /c, pathType: Prefix, backend: {service: {name: api, port: {number: 53}}}}
                """)).containsExactly(
                "svcproxy.yaml:14:90: number: 80 (expected: a port of Service default/api (TCP): 8080)",
                "svcproxy.yaml:15:88: name: dns (expected: a port name of Service default/api (TCP): http)",
                "svcproxy.yaml:16:90: number: 53 (expected: a port of Service default/api (TCP): 8080)");
    }

    @Test
    void refusesMalformedBackends() {
        assertThat(errors(SERVICES + """
                ingresses:
                  - name: a
                    defaultBackend: {service: {name: web, port: {number: 80, name: http}}}
                  - name: b
                    defaultBackend: {service: {name: web, port: {}}}
                  - name: c
                    defaultBackend: {resource: {kind: Bucket, name: b}}
                  - name: d
                    defaultBackend: {service: {name: Web, port: {number: 0}}}
                """)).containsExactly(
                "svcproxy.yaml:11:68: name: http (expected: one of number or name, not both)",
                "svcproxy.yaml:13:49: number: missing (expected: a port number, or a port name in name)",
                "svcproxy.yaml:15:32: resource: a map (expected: a service backend; resource backends are not "
                        + "supported)",
                "svcproxy.yaml:17:38: name: Web (expected: " + Names.DNS1035_LABEL_EXPECTED + ")",
                "svcproxy.yaml:17:58: number: 0 (expected: 1..65535)");
    }

    @Test
    void refusesTheSameHostPathAndPathTypeTwiceAcrossIngresses() {
        assertThat(errors(SERVICES + """
                ingresses:
                  - name: a
                    rules:
                      - host: shop.example
                        http:
                          paths:
                            - {path: /api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
                            - {path: /api, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}
                  - name: b
                    rules:
                      - host: shop.example
                        http:
                          paths:
                            - {path: /api/, pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}
                            - {path: /api, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}
                            - {path: /api, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
                      - host: other.example
                        http:
                          paths:
                            - {path: /api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
                """)).containsExactly(
                "svcproxy.yaml:22:22: path: /api/ (expected: " + IngressRuleBinder.MATCHED_ONCE
                        + "; also at line 15)",
                "svcproxy.yaml:23:22: path: /api (expected: " + IngressRuleBinder.MATCHED_ONCE
                        + "; also at line 16)",
                "svcproxy.yaml:24:22: path: /api (expected: " + IngressRuleBinder.MATCHED_ONCE
                        + "; also at line 15)");
    }

    @Test
    void refusesAnIngressWithoutNameOrRulesAndDuplicateNames() {
        assertThat(errors(SERVICES + """
                ingresses:
                  - name: shop
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                  - name: shop
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                  - namespace: other
                  - name: x
                    rules:
                      - host: shop.example
                """)).containsExactly(
                "svcproxy.yaml:12:11: name: shop (expected: an Ingress name unique in namespace default; also at "
                        + "line 10)",
                "svcproxy.yaml:14:5: name: missing (expected: " + Names.DNS1123_SUBDOMAIN_EXPECTED + ")",
                "svcproxy.yaml:14:5: rules: missing (expected: rules, or a defaultBackend, or both)",
                "svcproxy.yaml:17:9: http: missing (expected: a map of paths)");
    }

    @Test
    void readsTheRedirectAnnotationsAsKubernetesWritesThemOrAsYamlBooleans() {
        ProxyConfig config = parse(SERVICES + """
                ingresses:
                  - name: plain
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                  - name: optout
                    annotations: {nginx.ingress.kubernetes.io/ssl-redirect: "false"}
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                  - name: forced
                    annotations:
                      nginx.ingress.kubernetes.io/force-ssl-redirect: true
                      nginx.ingress.kubernetes.io/ssl-redirect: "True"
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                """);
        assertThat(config.ingresses()).extracting(IngressSpec::name, IngressSpec::sslRedirect,
                IngressSpec::forceSslRedirect).containsExactly(
                org.assertj.core.groups.Tuple.tuple("plain", true, false),
                org.assertj.core.groups.Tuple.tuple("optout", false, false),
                org.assertj.core.groups.Tuple.tuple("forced", true, true));
    }

    @Test
    void refusesAnnotationsItDoesNotReadAndValuesThatAreNoBooleans() {
        assertThat(errors(SERVICES + """
                ingresses:
                  - name: shop
                    annotations:
                      nginx.ingress.kubernetes.io/ssl-redirect: "maybe"
                      nginx.ingress.kubernetes.io/force-ssl-redirect: [true]
                      nginx.ingress.kubernetes.io/rewrite-target: /
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                  - name: other
                    annotations: [ssl-redirect]
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                """)).containsExactly(
                "svcproxy.yaml:12:49: annotations[nginx.ingress.kubernetes.io/ssl-redirect]: maybe "
                        + "(expected: \"true\" or \"false\")",
                "svcproxy.yaml:13:55: annotations[nginx.ingress.kubernetes.io/force-ssl-redirect]: a list "
                        + "(expected: true or false)",
                "svcproxy.yaml:14:7: unknown key: nginx.ingress.kubernetes.io/rewrite-target (expected: "
                        + "nginx.ingress.kubernetes.io/ssl-redirect, nginx.ingress.kubernetes.io/force-ssl-redirect)",
                "svcproxy.yaml:17:18: annotations: a list (expected: a map of annotation to value: "
                        + "nginx.ingress.kubernetes.io/ssl-redirect, nginx.ingress.kubernetes.io/force-ssl-redirect)");
    }

    @Test
    void refusesSectionsOfTheWrongShapeAndMissingParts() {
        assertThat(errors("proxy: {ingress: [http]}")).containsExactly(
                "svcproxy.yaml:1:18: ingress: a list (expected: a map of http, https, className, responseTimeout, "
                        + "httpsRedirectPort, publishService)");
        assertThat(errors("proxy: {ingress: {http: maybe, https: [a]}}")).containsExactly(
                "svcproxy.yaml:1:25: http: maybe (expected: IP:PORT, such as 127.0.0.1:8080 or [::1]:8080, or off)",
                "svcproxy.yaml:1:39: https: a list (expected: IP:PORT, such as 127.0.0.1:8080 or [::1]:8080, or off)");
        assertThat(errors("ingresses: {name: shop}")).containsExactly(
                "svcproxy.yaml:1:12: ingresses: a map (expected: a list of Ingresses)");
        assertThat(errors(SERVICES + """
                ingresses:
                  - shop
                  - name: a
                    tls: {hosts: [shop.example]}
                    rules: {host: shop.example}
                  - name: b
                    tls: [{hosts: shop.example, certFile: certs/x.pem, keyFile: certs/x-key.pem}, plain]
                    rules:
                      - {host: shop.example, http: {paths: []}}
                      - {host: shop.example, http: {}}
                      - {host: shop.example, http: {paths: [{path: /, pathType: Exact}]}}
                      - {host: shop.example, http: {paths: [{path: /a, pathType: Exact, backend: {service: {port: {number: 80}}}}]}}
                      - {host: shop.example, http: {paths: [{path: /b, pathType: Exact, backend: {service: {name: web}}}]}}
                      - {host: shop.example, http: {paths: [{path: /c, pathType: Exact, backend: {}}]}}
                      - {host: shop.example, http: {paths: [/d]}}
                """)).containsExactly(
                "svcproxy.yaml:10:5: ingresses[0]: shop (expected: an Ingress: a map of name, namespace, annotations, "
                        + "tls, defaultBackend, rules)",
                "svcproxy.yaml:12:10: tls: a map (expected: a list of TLS entries: maps of hosts, certFile, keyFile)",
                "svcproxy.yaml:13:12: rules: a map (expected: a list of rules: maps of host, http)",
                "svcproxy.yaml:15:19: hosts: shop.example (expected: a list of host names)",
                "svcproxy.yaml:15:43: certFile: certs/x.pem (cannot read " + java.nio.file.Path.of("certs/x.pem")
                        + ": no such file)",
                "svcproxy.yaml:15:65: keyFile: certs/x-key.pem (cannot read " + java.nio.file.Path.of("certs/x-key.pem")
                        + ": no such file)",
                "svcproxy.yaml:15:83: tls[1]: plain (expected: a TLS entry: a map of hosts, certFile, keyFile)",
                "svcproxy.yaml:17:44: paths: a list (expected: at least one path: a list of paths: maps of path, "
                        + "pathType, backend)",
                "svcproxy.yaml:18:36: paths: missing (expected: a list of paths: maps of path, pathType, backend)",
                "svcproxy.yaml:19:46: backend: missing (expected: a map of service)",
                "svcproxy.yaml:20:93: name: missing (expected: a Service name)",
                "svcproxy.yaml:21:93: port: missing (expected: a map of number or name)",
                "svcproxy.yaml:22:82: service: missing (expected: a map of name, port)",
                "svcproxy.yaml:23:45: paths[0]: /d (expected: a path: a map of path, pathType, backend)");
    }

    @Test
    void tlsFilesAreReadRelativeToTheConfigAndMustLoad() throws Exception {
        Files.writeString(dir.resolve("certs/garbage.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        Files.writeString(dir.resolve("certs/pkcs1-key.pem"), "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"
                + "-----END RSA PRIVATE KEY-----\n");
        String file = dir.resolve("svcproxy.yaml").toString();
        assertThat(loadErrors(SERVICES + """
                ingresses:
                  - name: shop
                    tls:
                      - {hosts: [shop.example], certFile: certs/missing.pem, keyFile: certs/shop-key.pem}
                      - {hosts: [shop.example], certFile: certs/garbage.pem, keyFile: certs/pkcs1-key.pem}
                      - {hosts: [shop.example], certFile: certs/shop.pem, keyFile: certs/other-key.pem}
                      - {hosts: [shop.example], secretName: shop-tls, certFile: certs/shop.pem}
                    defaultBackend: {service: {name: web, port: {number: 80}}}
                """)).containsExactly(
                file + ":12:43: certFile: certs/missing.pem (cannot read " + dir.resolve("certs/missing.pem")
                        + ": no such file)",
                file + ":13:43: certFile: certs/garbage.pem (expected: PEM X.509 certificates, -----BEGIN "
                        + "CERTIFICATE-----; a CERTIFICATE block that does not decode (cut short, or not base64 of an "
                        + "X.509 certificate))",
                file + ":13:71: keyFile: certs/pkcs1-key.pem (expected: " + TlsPem.KEY_EXPECTED + ")",
                file + ":14:68: keyFile: certs/other-key.pem (expected: the private key of the first certificate "
                        + "(EC))",
                file + ":15:10: keyFile: missing (expected: a PEM file of the private key, relative to this file)",
                file + ":15:45: secretName: shop-tls (expected: certFile and keyFile in the config file; secretName "
                        + "is for Ingresses of the Kubernetes API)");
    }

    /**
     * A TLS entry serves the rule hosts of its Ingress that no entry names and its certificate covers (its SAN DNS
     * names, exact or a one-label wildcard), as ingress-nginx picks a certificate for them: an entry written without
     * hosts is no longer an entry for no name.
     */
    @Test
    void aTlsEntryServesTheRuleHostsItsCertificateCoversThatNoEntryNames() throws Exception {
        TestCertificates.write(dir.resolve("certs"), "wild", "*.example", "EC");
        ProxyConfig config = load(SERVICES + """
                ingresses:
                  - name: shop
                    tls:
                      - {hosts: [named.example], certFile: certs/other.pem, keyFile: certs/other-key.pem}
                      - {certFile: certs/shop.pem, keyFile: certs/shop-key.pem}
                      - {certFile: certs/wild.pem, keyFile: certs/wild-key.pem}
                    rules:
                      - {host: shop.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {host: a.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {host: "*.example", http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {host: a.b.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                      - {host: named.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}
                """);
        assertThat(config.ingresses().get(0).tls()).extracting(IngressSpec.Tls::hosts).containsExactly(
                List.of("named.example"), // named: kept as written, although other.pem is not for it
                List.of("shop.example"),
                List.of("a.example", "*.example")); // not a.b.example: a wildcard is one label
        assertThat(TlsPem.dnsNames(Files.readString(dir.resolve("certs/wild.pem")))).containsExactly("*.example");
        assertThat(TlsPem.covers(List.of("*.example"), "A.Example.")).isTrue();
        assertThat(TlsPem.covers(List.of("*.example"), "example")).isFalse();
        assertThat(TlsPem.covers(List.of("shop.example"), "*.example")).isFalse();
        assertThat(TlsPem.dnsNames("not a certificate")).isEmpty();
    }

    private static ProxyConfig load(String yaml) throws IOException, ConfigException {
        Path file = dir.resolve("svcproxy.yaml");
        Files.writeString(file, yaml);
        return ConfigLoader.load(file);
    }

    private static List<String> loadErrors(String yaml) throws IOException {
        try {
            load(yaml);
        } catch (ConfigException e) {
            return e.errors().stream().map(ConfigError::toString).toList();
        }
        throw new AssertionError("expected errors in:\n" + yaml);
    }
}
