package io.svcproxy.config.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
import io.svcproxy.config.IngressSettings;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.config.TestCertificatesAccess;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which Ingresses are served, in which order, and how they, their backends and their TLS Secrets map. */
class KubernetesIngressMapperTest {
    private final KubernetesIngressMapper mapper = new KubernetesIngressMapper("svcproxy");

    @TempDir
    static Path dir;

    @BeforeAll
    static void certificates() throws Exception {
        TestCertificatesAccess.write(dir, "shop", "shop.example", "EC");
        TestCertificatesAccess.write(dir, "other", "other.example", "EC");
    }

    private static IngressBuilder ingress(String name, String className, String created) {
        return new IngressBuilder().withNewMetadata().withName(name).withNamespace("default")
                .withCreationTimestamp(created).endMetadata()
                .withNewSpec().withIngressClassName(className).endSpec();
    }

    private static IngressClass ingressClass(String name, boolean isDefault) {
        return new IngressClassBuilder().withNewMetadata().withName(name)
                .withAnnotations(isDefault ? Map.of(KubernetesIngressMapper.DEFAULT_CLASS_ANNOTATION, "true") : Map.of())
                .endMetadata().build();
    }

    @Test
    void servesItsClassTheLegacyAnnotationAndClasslessOnesOnlyWhenItIsTheDefault() {
        Ingress own = ingress("own", "svcproxy", "2026-01-03T00:00:00Z").build();
        Ingress other = ingress("other", "nginx", "2026-01-01T00:00:00Z").build();
        Ingress classless = ingress("classless", null, "2026-01-02T00:00:00Z").build();
        Ingress legacy = ingress("legacy", null, "2026-01-04T00:00:00Z").editMetadata()
                .addToAnnotations(KubernetesIngressMapper.LEGACY_CLASS_ANNOTATION, "svcproxy").endMetadata().build();
        Ingress legacyOther = ingress("legacy-other", null, "2026-01-05T00:00:00Z").editMetadata()
                .addToAnnotations(KubernetesIngressMapper.LEGACY_CLASS_ANNOTATION, "nginx").endMetadata().build();
        List<Ingress> all = List.of(own, other, classless, legacy, legacyOther);
        assertThat(mapper.served(all, List.of(ingressClass("svcproxy", false)))).extracting(i -> i.getMetadata()
                .getName()).containsExactly("own", "legacy");
        assertThat(mapper.served(all, List.of(ingressClass("svcproxy", true), ingressClass("nginx", false))))
                .extracting(i -> i.getMetadata().getName()).containsExactly("classless", "own", "legacy");
        assertThat(mapper.served(all, List.of(ingressClass("nginx", true)))).extracting(i -> i.getMetadata()
                .getName()).containsExactly("own", "legacy");
    }

    private static IngressClass defaultClass(String name, String controller, String created) {
        return new IngressClassBuilder().withNewMetadata().withName(name).withCreationTimestamp(created)
                .addToAnnotations(KubernetesIngressMapper.DEFAULT_CLASS_ANNOTATION, "true").endMetadata()
                .withNewSpec().withController(controller).endSpec().build();
    }

    /**
     * Two IngressClasses carry is-default-class "true" (a migration from ingress-nginx, say): Kubernetes' admission
     * (defaultingressclass, getDefaultClass) takes the newest as the cluster's default, and of the same creation time
     * the first by name, so only then are classless Ingresses ours. From helper-130's review: svcproxy served them
     * whenever its own class carried the annotation, so two controllers served them and wrote their status.
     */
    @Test
    void aClasslessIngressIsNotServedWhenANewerDefaultClassIsTheClustersDefault() {
        Ingress classless = ingress("classless", null, "2026-03-01T00:00:00Z").build();
        List<IngressClass> classes = List.of(
                defaultClass("svcproxy", KubernetesIngressMapper.CONTROLLER, "2026-01-01T00:00:00Z"),
                defaultClass("nginx", "k8s.io/ingress-nginx", "2026-02-01T00:00:00Z"));
        assertThat(mapper.served(List.of(classless), classes)).extracting(i -> i.getMetadata().getName())
                .as("served with svcproxy's class the older of two default classes").isEmpty();
        assertThat(mapper.logged()).anyMatch(l -> l.contains("IngressClass nginx is the cluster's default"));

        List<IngressClass> newer = List.of(
                defaultClass("svcproxy", KubernetesIngressMapper.CONTROLLER, "2026-03-01T00:00:00Z"),
                defaultClass("nginx", "k8s.io/ingress-nginx", "2026-02-01T00:00:00Z"));
        assertThat(mapper.served(List.of(classless), newer)).as("svcproxy's the newer").hasSize(1);
        List<IngressClass> sameTime = List.of(
                defaultClass("svcproxy", KubernetesIngressMapper.CONTROLLER, "2026-02-01T00:00:00Z"),
                defaultClass("nginx", "k8s.io/ingress-nginx", "2026-02-01T00:00:00Z"));
        assertThat(mapper.served(List.of(classless), sameTime)).as("the same time: nginx, the first name").isEmpty();
        List<IngressClass> sameTimeFirst = List.of(
                defaultClass("svcproxy", KubernetesIngressMapper.CONTROLLER, "2026-02-01T00:00:00Z"),
                defaultClass("zeta", "example.com/zeta", "2026-02-01T00:00:00Z"));
        assertThat(mapper.served(List.of(classless), sameTimeFirst)).as("the same time: svcproxy, the first name")
                .hasSize(1);
    }

    /**
     * An IngressClass of the class name whose spec.controller is another controller's: none of its Ingresses is
     * served, not even as the default class; those naming the class by the legacy annotation are, as ingress-nginx
     * matches that annotation by value.
     */
    @Test
    void aClassOfAnotherControllerIsNotServedEvenAsTheDefault() {
        Ingress own = ingress("own", "svcproxy", "2026-01-01T00:00:00Z").build();
        Ingress classless = ingress("classless", null, "2026-01-02T00:00:00Z").build();
        Ingress legacy = ingress("legacy", null, "2026-01-03T00:00:00Z").editMetadata()
                .addToAnnotations(KubernetesIngressMapper.LEGACY_CLASS_ANNOTATION, "svcproxy").endMetadata().build();
        IngressClass nginxs = new IngressClassBuilder(ingressClass("svcproxy", true)).withNewSpec()
                .withController("k8s.io/ingress-nginx").endSpec().build();
        IngressClass ours = new IngressClassBuilder(ingressClass("svcproxy", true)).withNewSpec()
                .withController(KubernetesIngressMapper.CONTROLLER).endSpec().build();
        assertThat(mapper.served(List.of(own, classless, legacy), List.of(nginxs)))
                .extracting(i -> i.getMetadata().getName()).containsExactly("legacy");
        assertThat(mapper.logged()).anyMatch(l -> l.startsWith("Not serving the Ingresses of another controller's "
                + "IngressClass class=svcproxy controller=k8s.io/ingress-nginx (expected: svcproxy.io/ingress;"));
        assertThat(mapper.served(List.of(own, classless), List.of(ours))).extracting(i -> i.getMetadata().getName())
                .containsExactly("own", "classless");
    }

    /**
     * ingress-nginx's annotations: one that restricts access (authentication, client certificates, source ranges),
     * which svcproxy does not enforce, keeps the Ingress from being served at all rather than served open; the others
     * but the two redirect ones (rewrites, protocols) are named once as ignored, and the Ingress is served by its
     * spec.
     */
    @Test
    void anIngressAskingForAccessControlIsNotServedAndOtherNginxAnnotationsAreNamedAsIgnored() {
        Ingress guarded = ingress("guarded", "svcproxy", "2026-01-01T00:00:00Z").editMetadata()
                .addToAnnotations("nginx.ingress.kubernetes.io/auth-url", "http://auth.example/check")
                .addToAnnotations("nginx.ingress.kubernetes.io/whitelist-source-range", "127.0.60.0/24").endMetadata()
                .build();
        Ingress rewritten = ingress("rewritten", "svcproxy", "2026-01-02T00:00:00Z").editMetadata()
                .addToAnnotations("nginx.ingress.kubernetes.io/rewrite-target", "/$2")
                .addToAnnotations("nginx.ingress.kubernetes.io/ssl-redirect", "false").endMetadata().build();
        assertThat(mapper.served(List.of(guarded, rewritten), List.of(ingressClass("svcproxy", false))))
                .extracting(i -> i.getMetadata().getName()).containsExactly("rewritten");
        assertThat(mapper.map(rewritten, Map.of()).sslRedirect()).isFalse();
        assertThat(mapper.logged()).contains("Not serving ingress=default/guarded: its annotations "
                + "[nginx.ingress.kubernetes.io/auth-url, nginx.ingress.kubernetes.io/whitelist-source-range] ask for "
                + "access control svcproxy does not enforce (it would be served open to every client)");
        assertThat(mapper.logged()).anyMatch(l -> l.startsWith("Ignoring ingress-nginx annotations "
                + "ingress=default/rewritten annotations=[nginx.ingress.kubernetes.io/rewrite-target] "));
        assertThat(KubernetesIngressMapper.accessControl("nginx.ingress.kubernetes.io/auth-tls-secret")).isTrue();
        // cert-manager's HTTP-01 solver Ingress: an allow-list of everyone restricts nothing, so it is served
        Ingress solver = ingress("cm-acme-http-solver-x", "svcproxy", "2026-01-03T00:00:00Z").editMetadata()
                .addToAnnotations("nginx.ingress.kubernetes.io/whitelist-source-range", "0.0.0.0/0,::/0")
                .endMetadata().build();
        Ingress denied = ingress("denied", "svcproxy", "2026-01-04T00:00:00Z").editMetadata()
                .addToAnnotations("nginx.ingress.kubernetes.io/denylist-source-range", "0.0.0.0/0").endMetadata()
                .build();
        assertThat(mapper.served(List.of(solver, denied), List.of(ingressClass("svcproxy", false))))
                .extracting(i -> i.getMetadata().getName()).containsExactly("cm-acme-http-solver-x");
        mapper.map(solver, Map.of());
        assertThat(mapper.logged()).noneMatch(l -> l.contains("ingress=default/cm-acme-http-solver-x"));
        assertThat(KubernetesIngressMapper.accessControl("nginx.ingress.kubernetes.io/proxy-body-size")).isFalse();
    }

    /** ssl-redirect and force-ssl-redirect as ingress-nginx parses them (Go's ParseBool); anything else is named. */
    /**
     * An ingress-nginx canary (nginx.ingress.kubernetes.io/canary as Go's ParseBool reads it) is not served, and a WARN
     * names it once: ingress-nginx never routes a canary's host and path on its own ("Ingress is marked as Canary,
     * ignoring"; its backend only joins the main Ingress's as a weighted alternative). From helper-130's review: it was
     * served as a plain Ingress, and as the older of the two it owned the path, so all its traffic went to the canary.
     */
    @Test
    void aCanaryIngressIsNotServedAsAMainIngress() {
        Ingress canary = ingress("shop-canary", "svcproxy", "2026-01-01T00:00:00Z").editMetadata()
                .addToAnnotations(KubernetesIngressMapper.CANARY, "true")
                .addToAnnotations("nginx.ingress.kubernetes.io/canary-weight", "10").endMetadata().build();
        Ingress notCanary = ingress("shop-b", "svcproxy", "2026-01-01T00:00:01Z").editMetadata()
                .addToAnnotations(KubernetesIngressMapper.CANARY, "False").endMetadata().build();
        Ingress main = ingress("shop", "svcproxy", "2026-01-02T00:00:00Z").build();
        List<IngressClass> classes = List.of(new IngressClassBuilder().withNewMetadata().withName("svcproxy")
                .endMetadata().withNewSpec().withController(KubernetesIngressMapper.CONTROLLER).endSpec().build());
        assertThat(mapper.served(List.of(canary, notCanary, main), classes)).extracting(i -> i.getMetadata().getName())
                .as("served Ingresses, oldest first (the first owns a host and path)").containsExactly("shop-b", "shop");
        assertThat(mapper.logged()).filteredOn(l -> l.contains("canary")).singleElement().asString()
                .contains("ingress=default/shop-canary");
    }

    @Test
    void readsTheRedirectAnnotationsAsIngressNginxDoes() {
        Ingress plain = ingress("plain", "svcproxy", "2026-01-01T00:00:00Z").build();
        Ingress forced = ingress("forced", "svcproxy", "2026-01-01T00:00:00Z").editMetadata()
                .addToAnnotations("nginx.ingress.kubernetes.io/force-ssl-redirect", "T")
                .addToAnnotations("nginx.ingress.kubernetes.io/ssl-redirect", "0").endMetadata().build();
        Ingress bad = ingress("bad", "svcproxy", "2026-01-01T00:00:00Z").editMetadata()
                .addToAnnotations("nginx.ingress.kubernetes.io/force-ssl-redirect", "yes")
                .addToAnnotations("nginx.ingress.kubernetes.io/ssl-redirect", "off").endMetadata().build();
        assertThat(mapper.map(plain, Map.of())).extracting(IngressSpec::sslRedirect, IngressSpec::forceSslRedirect)
                .containsExactly(true, false);
        assertThat(mapper.map(forced, Map.of())).extracting(IngressSpec::sslRedirect, IngressSpec::forceSslRedirect)
                .containsExactly(false, true);
        assertThat(mapper.map(bad, Map.of())).extracting(IngressSpec::sslRedirect, IngressSpec::forceSslRedirect)
                .containsExactly(true, false);
        assertThat(mapper.logged()).contains(
                "Ignoring ingress annotation ingress=default/bad nginx.ingress.kubernetes.io/ssl-redirect=off "
                        + "(expected: true or false; true is used)",
                "Ignoring ingress annotation ingress=default/bad nginx.ingress.kubernetes.io/force-ssl-redirect=yes "
                        + "(expected: true or false; false is used)");
        assertThat(mapper.logged()).noneMatch(l -> l.startsWith("Ignoring ingress-nginx annotations"));
    }

    /**
     * Two replicas write the same status: the list is compared as a set and written sorted, so neither rewrites the
     * other's (each putting its own address first made every write set off the other's, forever); entries of others
     * (a hostname) are kept.
     */
    @Test
    void statusEntriesAreTheSameForEveryReplicaAndKeepOthersEntries() {
        var a = List.of("127.0.40.1");
        var b = List.of("127.0.40.2");
        var first = IngressStatus.statusEntries(List.of(), a, true);
        assertThat(first).extracting(e -> e.getIp()).containsExactly("127.0.40.1");
        var second = IngressStatus.statusEntries(first, b, true);
        assertThat(second).extracting(e -> e.getIp()).containsExactly("127.0.40.1", "127.0.40.2");
        assertThat(IngressStatus.statusEntries(second, a, true)).as("nothing to write").isNull();
        assertThat(IngressStatus.statusEntries(second, b, true)).as("nothing to write").isNull();
        var withHost = new java.util.ArrayList<>(second);
        withHost.add(new io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngressBuilder()
                .withHostname("lb.example").build());
        assertThat(IngressStatus.statusEntries(withHost, a, false))
                .extracting(e -> e.getIp() != null ? e.getIp() : e.getHostname())
                .containsExactly("127.0.40.2", "lb.example");
    }

    @Test
    void mapsRulesAndBackendsByPortNumberOrNameLeavingOutWhatTheApiShouldHaveRefused() {
        Ingress i = ingress("shop", "svcproxy", "2026-01-01T00:00:00Z").editSpec()
                .withNewDefaultBackend().withNewService().withName("web").withNewPort().withNumber(80).endPort()
                .endService().endDefaultBackend()
                .addNewRule().withHost("shop.example").withNewHttp()
                .addNewPath().withPath("/api").withPathType("Prefix").withNewBackend().withNewService()
                .withName("api").withNewPort().withName("http").endPort().endService().endBackend().endPath()
                .addNewPath().withPathType("ImplementationSpecific").withNewBackend().withNewService()
                .withName("web").withNewPort().withNumber(80).endPort().endService().endBackend().endPath()
                .addNewPath().withPath("/bucket").withPathType("Prefix").withNewBackend().withNewResource("", "Bucket", "b")
                .endBackend().endPath()
                .addNewPath().withPath("/typo").withPathType("prefix").withNewBackend().withNewService()
                .withName("web").withNewPort().withNumber(80).endPort().endService().endBackend().endPath()
                .endHttp().endRule()
                .addNewRule().withHost("Bad_Host").withNewHttp().addNewPath().withPath("/").withPathType("Prefix")
                .withNewBackend().withNewService().withName("web").withNewPort().withNumber(80).endPort()
                .endService().endBackend().endPath().endHttp().endRule()
                .addNewRule().withNewHttp().addNewPath().withPath("/any").withPathType("Exact")
                .withNewBackend().withNewService().withName("web").withNewPort().withNumber(80).endPort()
                .endService().endBackend().endPath().endHttp().endRule()
                .endSpec().build();
        IngressSpec spec = mapper.map(i, Map.of());
        assertThat(spec.qualifiedName()).isEqualTo("default/shop");
        assertThat(spec.defaultBackend()).isEqualTo(new IngressSpec.Backend("web", 80, null));
        assertThat(spec.rules()).containsExactly(
                new IngressSpec.Rule("shop.example", List.of(
                        new IngressSpec.HttpPath("/api", "Prefix", new IngressSpec.Backend("api", 0, "http")),
                        new IngressSpec.HttpPath("/", "ImplementationSpecific", new IngressSpec.Backend("web", 80,
                                null)))),
                new IngressSpec.Rule(null, List.of(
                        new IngressSpec.HttpPath("/any", "Exact", new IngressSpec.Backend("web", 80, null)))));
    }

    @Test
    void takesTlsFromKubernetesTlsSecretsAndKeepsEntriesWhoseSecretIsNotUsable() throws Exception {
        Ingress i = ingress("shop", "svcproxy", "2026-01-01T00:00:00Z").editSpec()
                .addNewTl().withHosts("shop.example").withSecretName("good").endTl()
                .addNewTl().withHosts("shop.example").withSecretName("missing").endTl()
                .addNewTl().withHosts("shop.example").withSecretName("opaque").endTl()
                .addNewTl().withHosts("shop.example").withSecretName("mismatch").endTl()
                .endSpec().build();
        Map<String, Secret> secrets = Map.of(
                "default/good", secret("good", "kubernetes.io/tls", "shop.pem", "shop-key.pem"),
                "default/opaque", secret("opaque", "Opaque", "shop.pem", "shop-key.pem"),
                "default/mismatch", secret("mismatch", "kubernetes.io/tls", "shop.pem", "other-key.pem"));
        List<IngressSpec.Tls> tls = mapper.map(i, secrets).tls();
        assertThat(tls).extracting(IngressSpec.Tls::secretName).containsExactly("good", "missing", "opaque",
                "mismatch");
        assertThat(tls).extracting(IngressSpec.Tls::usable).containsExactly(true, false, false, false);
        assertThat(tls.get(0).certificatePem()).isEqualTo(Files.readString(dir.resolve("shop.pem")));
        assertThat(tls.get(0).hosts()).containsExactly("shop.example");
        assertThat(mapper.logged()).anySatisfy(line -> assertThat(line).contains("secret=missing problem=no Secret "
                + "of type kubernetes.io/tls by that name"));
    }

    /**
     * A TLS entry without hosts (a common way to name a wildcard certificate) serves the rule hosts it covers; a
     * renewal whose content does not load keeps them (its previous pair keeps serving them), a deleted Secret does not.
     */
    @Test
    void aTlsEntryWithoutHostsServesTheRuleHostsItsCertificateCovers() throws Exception {
        Ingress i = ingress("shop", "svcproxy", "2026-01-01T00:00:00Z").editSpec()
                .addNewRule().withHost("other.example").withNewHttp().addNewPath().withPath("/").withPathType("Prefix")
                .withNewBackend().withNewService().withName("web").withNewPort().withNumber(80).endPort().endService()
                .endBackend().endPath().endHttp().endRule()
                .addNewRule().withHost("shop.example").withNewHttp().addNewPath().withPath("/").withPathType("Prefix")
                .withNewBackend().withNewService().withName("web").withNewPort().withNumber(80).endPort().endService()
                .endBackend().endPath().endHttp().endRule()
                .addNewTl().withSecretName("good").endTl().endSpec().build();
        List<IngressSpec.Tls> tls = mapper.map(i, Map.of("default/good",
                secret("good", "kubernetes.io/tls", "shop.pem", "shop-key.pem"))).tls();
        assertThat(tls).singleElement().extracting(IngressSpec.Tls::hosts).asList().containsExactly("shop.example");
        mapper.mapped();

        IngressSpec.Tls bad = mapper.map(i, Map.of("default/good",
                secret("good", "kubernetes.io/tls", "shop.pem", "other-key.pem"))).tls().get(0);
        assertThat(bad.contentProblem()).isTrue();
        assertThat(bad.hosts()).containsExactly("shop.example");
        mapper.mapped();
        assertThat(mapper.map(i, Map.of("default/good", secret("good", "kubernetes.io/tls", "shop.pem",
                "other-key.pem"))).tls().get(0).hosts()).as("still, a recompute later").containsExactly("shop.example");
        mapper.mapped();
        assertThat(mapper.map(i, Map.of()).tls().get(0).hosts()).as("the Secret deleted").isEmpty();
    }

    @Test
    void statusAddressesAreTheListenersIpsOrThePodIpForAnUnspecifiedOne() {
        IngressSettings specific = new IngressSettings(new InetSocketAddress("127.0.10.170", 8080),
                new InetSocketAddress("127.0.10.170", 8443), "svcproxy", Duration.ofSeconds(60));
        assertThat(IngressStatus.listenerIps(specific, "127.0.40.3")).containsExactly("127.0.10.170");
        IngressSettings any = new IngressSettings(new InetSocketAddress("0.0.0.0", 8080), null, "svcproxy",
                Duration.ofSeconds(60));
        assertThat(IngressStatus.listenerIps(any, "127.0.40.3")).containsExactly("127.0.40.3");
        assertThat(IngressStatus.listenerIps(any, null)).isEmpty();
    }

    /**
     * Ingresses created within one second (one kubectl apply) are ordered as ingress-nginx's sortIngressSlice orders
     * them: by "namespace/name" descending, which decides a duplicate host and path (found by a review, helper-85).
     */
    @Test
    void ingressesOfTheSameSecondAreOrderedAsIngressNginxOrdersThem() {
        Ingress a = ingress("a", "svcproxy", "2026-01-01T00:00:00Z").build();
        Ingress b = ingress("b", "svcproxy", "2026-01-01T00:00:00Z").build();
        Ingress older = ingress("c", "svcproxy", "2025-12-31T23:59:59Z").build();
        assertThat(mapper.served(List.of(a, b, older), List.of(ingressClass("svcproxy", false))))
                .extracting(i -> i.getMetadata().getName()).containsExactly("c", "b", "a");
    }

    /**
     * A rule with a host and no {@code http} (the API allows it) names its host: its requests go to the default
     * backend, not to the rules without a host (SPEC; ingress-nginx makes a server for every rule host).
     */
    @Test
    void aRuleWithAHostAndNoHttpIsKeptForItsHost() {
        Ingress i = ingress("foo", "svcproxy", "2026-01-01T00:00:00Z").editSpec().withNewDefaultBackend()
                .withNewService().withName("web").withNewPort().withNumber(80).endPort().endService()
                .endDefaultBackend().addNewRule().withHost("foo.example").endRule().addNewRule().endRule().endSpec()
                .build();
        assertThat(mapper.map(i, Map.of()).rules()).containsExactly(new IngressSpec.Rule("foo.example", List.of()));
    }

    /**
     * A TLS Secret's pair is checked (decoded, parsed, its key matched by a signature) once while its data stays
     * the same, not at every recompute; a problem is logged when it appears and again when it comes back after it
     * went away, not at every recompute while it stays.
     */
    @Test
    void aSecretIsCheckedOnceWhileItStaysAndItsProblemIsLoggedWhenItAppears() throws Exception {
        Ingress shop = ingress("shop", "svcproxy", "2026-01-01T00:00:00Z").editSpec().addNewTl()
                .withHosts("shop.example").withSecretName("shop-tls").endTl().endSpec().build();
        Map<String, Secret> present = Map.of("default/shop-tls", secret("shop-tls", "kubernetes.io/tls", "shop.pem",
                "shop-key.pem"));
        for (int recompute = 0; recompute < 3; recompute++) {
            assertThat(mapper.map(shop, present).tls().get(0).usable()).isTrue();
            mapper.mapped();
        }
        assertThat(mapper.pairChecks()).isEqualTo(1);
        Map<String, Secret> renewed = Map.of("default/shop-tls", secret("shop-tls", "kubernetes.io/tls", "other.pem",
                "other-key.pem"));
        mapper.map(shop, renewed);
        mapper.mapped();
        assertThat(mapper.pairChecks()).as("new data: checked again").isEqualTo(2);

        String missing = "Ingress tls secret not usable ingress=default/shop secret=shop-tls problem=no Secret";
        mapper.map(shop, Map.of()); // deleted
        mapper.mapped();
        assertThat(mapper.logged()).anyMatch(l -> l.startsWith(missing));
        mapper.map(shop, present); // back
        mapper.mapped();
        mapper.mapped(); // a recompute without it
        assertThat(mapper.logged()).as("forgotten once it went away").noneMatch(l -> l.startsWith(missing));
    }

    /** A Secret whose data has a null value (the API's JSON null for an empty field) maps (found by helper-87). */
    @Test
    void aSecretWithANullDataValueMaps() throws Exception {
        Secret shop = secret("shop-tls", "kubernetes.io/tls", "shop.pem", "shop-key.pem");
        Map<String, String> data = new java.util.HashMap<>(shop.getData());
        data.put("ca.crt", null);
        Secret withNull = new SecretBuilder(shop).withData(data).build();
        Ingress ingress = ingress("shop", "svcproxy", "2026-01-01T00:00:00Z").editSpec().addNewTl()
                .withHosts("shop.example").withSecretName("shop-tls").endTl().endSpec().build();
        for (int recompute = 0; recompute < 2; recompute++) {
            assertThat(mapper.map(ingress, Map.of("default/shop-tls", withNull)).tls().get(0).usable()).isTrue();
            mapper.mapped();
        }
    }

    private static Secret secret(String name, String type, String cert, String key) throws Exception {
        return new SecretBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withType(type)
                .addToData("tls.crt", base64(Files.readString(dir.resolve(cert))))
                .addToData("tls.key", base64(Files.readString(dir.resolve(key))))
                .build();
    }

    private static String base64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
    }
}
