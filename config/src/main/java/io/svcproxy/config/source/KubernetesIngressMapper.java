package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPath;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.IngressServiceBackend;
import io.fabric8.kubernetes.api.model.networking.v1.IngressTLS;
import io.svcproxy.config.IngressSpec;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps networking.k8s.io/v1 Ingresses of the served class, with their {@code kubernetes.io/tls} Secrets, to the
 * desired state's {@link IngressSpec}s. No client; one instance per source, called from its single thread: it
 * remembers which problems the last recompute logged (one still there is not logged again; one that comes back after
 * it went away is), each TLS Secret's checked pair while its data stays the same, and the hosts each TLS entry's
 * certificate covered when it last loaded ({@link #mapped} ends a recompute).
 *
 * <p>An Ingress is served when its {@code spec.ingressClassName} is the class name ({@code proxy.ingress.className}),
 * or, with no class name, when its legacy annotation {@code kubernetes.io/ingress.class} names the class, or, with
 * neither, when the IngressClass of that name is the cluster's default: of those carrying
 * {@code ingressclass.kubernetes.io/is-default-class: "true"}, the newest, as the API server's admission takes it
 * when it gives new Ingresses the default class (those created before still have none). When
 * that IngressClass names another controller than {@value #CONTROLLER} in {@code spec.controller}, only the Ingresses
 * of the legacy annotation are served.
 * An Ingress that asks for access control svcproxy does not enforce, or that is an ingress-nginx canary, is not
 * served (logged once).
 * Served Ingresses come oldest first (creation time, then namespace and name), so the first default backend is the
 * oldest's, as SPEC.md says. A rule path the API should have refused (bad host or pathType, a resource backend) is
 * left out and logged; a TLS entry whose Secret is missing, not of type {@code kubernetes.io/tls} or does not load is
 * kept without certificate (it serves nothing) and logged.
 */
final class KubernetesIngressMapper {
    static final String DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
    static final String LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
    static final String TLS_SECRET_TYPE = "kubernetes.io/tls";
    /** The {@code spec.controller} of svcproxy's IngressClass, as docker/k8s/ingress.yaml writes it. */
    static final String CONTROLLER = "svcproxy.io/ingress";

    private static final Logger log = LoggerFactory.getLogger(KubernetesIngressMapper.class);

    private final String className;
    /**
     * The problems logged by the last recompute and by this one: a problem is logged when it appears, not again while
     * it stays, and again when it comes back after it went away.
     */
    private Set<String> loggedBefore = new HashSet<>();
    private Set<String> loggedNow = new HashSet<>();
    /** The TLS Secrets' pairs, checked once while they stay the same. */
    private final TlsSecretPairs pairs = new TlsSecretPairs();
    /**
     * The rule hosts each TLS entry's certificate covered when it last loaded ({@link IngressSpec#withCoveredRuleHosts}),
     * by {@link #entryKey}: of the last recompute, and of this one ({@link #mapped} makes it the last).
     */
    private Map<String, List<String>> coveredBefore = new HashMap<>();
    private Map<String, List<String>> coveredNow = new HashMap<>();

    KubernetesIngressMapper(String className) {
        this.className = Objects.requireNonNull(className, "className");
    }

    /** The IngressClass of the class name, or {@code null} when there is none. */
    private IngressClass ownClass(Collection<IngressClass> classes) {
        for (IngressClass c : classes) {
            if (c.getMetadata() != null && className.equals(c.getMetadata().getName())) {
                return c;
            }
        }
        return null;
    }

    /**
     * Whether the class is the cluster's default: the one Kubernetes' admission gives new classless Ingresses
     * (plugin/pkg/admission/network/defaultingressclass, getDefaultClass), of the IngressClasses carrying the
     * default-class annotation the newest, of the same creation time the first by name. Ours carrying it while
     * another is chosen is logged once: the classless Ingresses are that class's controller's.
     */
    private boolean isDefault(Collection<IngressClass> classes) {
        IngressClass chosen = null;
        boolean oursAnnotated = false;
        for (IngressClass c : classes) {
            Map<String, String> annotations = c.getMetadata() == null ? null : c.getMetadata().getAnnotations();
            if (annotations == null || !"true".equals(annotations.get(DEFAULT_CLASS_ANNOTATION))) {
                continue;
            }
            oursAnnotated |= className.equals(c.getMetadata().getName());
            if (chosen == null || NEWEST_FIRST.compare(c, chosen) < 0) {
                chosen = c;
            }
        }
        if (chosen == null || !className.equals(chosen.getMetadata().getName())) {
            if (oursAnnotated) {
                once("Not serving Ingresses without class: IngressClass " + chosen.getMetadata().getName() + " is "
                        + "the cluster's default, the newest of those annotated " + DEFAULT_CLASS_ANNOTATION
                        + " (class " + className + " is too; Kubernetes gives new Ingresses the newest)");
            }
            return false;
        }
        return true;
    }

    /** Default classes as getDefaultClass sorts them: the newest first, then by name. */
    private static final Comparator<IngressClass> NEWEST_FIRST = Comparator
            .comparing((IngressClass c) -> created(c), Comparator.reverseOrder())
            .thenComparing(c -> c.getMetadata().getName(), Comparator.nullsFirst(Comparator.naturalOrder()));

    /** The creation time; none (not from the API server) or one that does not parse: the oldest. */
    private static Instant created(IngressClass c) {
        String t = c.getMetadata().getCreationTimestamp();
        try {
            return t == null ? Instant.MIN : Instant.parse(t);
        } catch (DateTimeParseException e) {
            return Instant.MIN;
        }
    }

    /**
     * Whether the IngressClass of the class name names another controller in {@code spec.controller}: its Ingresses
     * are that controller's (ingress-nginx likewise serves only classes of its {@code --controller-class}), so those
     * naming it in {@code ingressClassName} or taking it as the default are not served (logged once); those of the
     * legacy annotation are. A class that names none, or no IngressClass at all, is served by name.
     */
    private boolean anotherControllers(IngressClass c) {
        String controller = c == null || c.getSpec() == null ? null : c.getSpec().getController();
        if (controller == null || controller.equals(CONTROLLER)) {
            return false;
        }
        once("Not serving the Ingresses of another controller's IngressClass class=" + className + " controller="
                + controller + " (expected: " + CONTROLLER + "; another controller serves them, or "
                + "proxy.ingress.className names the wrong class; those naming it by the annotation "
                + LEGACY_CLASS_ANNOTATION + " are served, as ingress-nginx serves them)");
        return true;
    }

    /**
     * Whether this Ingress is of the served class.
     *
     * @param defaultClass whether the class is the cluster's default
     * @param othersClass  whether its IngressClass is another controller's: then only the legacy annotation serves
     */
    boolean serves(Ingress ingress, boolean defaultClass, boolean othersClass) {
        String name = ingress.getSpec() == null ? null : ingress.getSpec().getIngressClassName();
        if (name != null) {
            return !othersClass && name.equals(className);
        }
        Map<String, String> annotations = ingress.getMetadata().getAnnotations();
        String legacy = annotations == null ? null : annotations.get(LEGACY_CLASS_ANNOTATION);
        return legacy != null ? legacy.equals(className) : defaultClass;
    }

    /**
     * ingress-nginx's annotations: svcproxy reads {@link IngressSpec#SSL_REDIRECT} and
     * {@link IngressSpec#FORCE_SSL_REDIRECT}; routing is by host and path only, so the others are named as ignored.
     */
    static final String NGINX_ANNOTATIONS = "nginx.ingress.kubernetes.io/";

    /**
     * Whether an ingress-nginx annotation restricts who may reach the Ingress (authentication, client certificates,
     * source ranges): svcproxy enforces none of them, so an Ingress that carries one is not served rather than served
     * open to everyone.
     */
    static boolean accessControl(String annotation) {
        if (!annotation.startsWith(NGINX_ANNOTATIONS)) {
            return false;
        }
        String key = annotation.substring(NGINX_ANNOTATIONS.length());
        return key.startsWith("auth-") || key.equals("whitelist-source-range")
                || key.equals("allowlist-source-range") || key.equals("denylist-source-range")
                || key.equals("satisfy");
    }

    /** The served Ingresses of {@code all}, oldest first (ties as ingress-nginx orders them). */
    List<Ingress> served(Collection<Ingress> all, Collection<IngressClass> classes) {
        IngressClass own = ownClass(classes);
        boolean othersClass = anotherControllers(own);
        boolean defaultClass = !othersClass && isDefault(classes);
        return all.stream().filter(i -> i.getMetadata() != null && serves(i, defaultClass, othersClass)
                        && !restricted(i) && !canary(i))
                // ingress-nginx's sortIngressSlice: creation time, then "namespace/name" descending ("in > jn"; one
                // kubectl apply creates several within the second the timestamp resolves)
                .sorted(Comparator.comparing((Ingress i) -> String.valueOf(i.getMetadata().getCreationTimestamp()))
                        .thenComparing(i -> i.getMetadata().getNamespace() + "/" + i.getMetadata().getName(),
                                Comparator.reverseOrder()))
                .toList();
    }

    /**
     * Whether an allow-list annotation admits every client: only {@code 0.0.0.0/0} and {@code ::/0} (what
     * cert-manager puts on its HTTP-01 solver Ingresses, so that a global allow-list does not block the challenge).
     * It restricts nothing, so it is no reason not to serve.
     */
    static boolean admitsAll(String annotation, String value) {
        String key = annotation.substring(annotation.lastIndexOf('/') + 1);
        if (!key.equals("whitelist-source-range") && !key.equals("allowlist-source-range") || value == null) {
            return false;
        }
        for (String range : value.split(",")) {
            String r = range.trim();
            if (!r.equals("0.0.0.0/0") && !r.equals("::/0")) {
                return false;
            }
        }
        return !value.isBlank();
    }

    /** Whether the Ingress asks for access control svcproxy does not enforce (logged once); see {@link #accessControl}. */
    private boolean restricted(Ingress ingress) {
        Map<String, String> annotations = ingress.getMetadata().getAnnotations();
        if (annotations == null) {
            return false;
        }
        List<String> keys = annotations.keySet().stream().filter(KubernetesIngressMapper::accessControl)
                .filter(k -> !admitsAll(k, annotations.get(k))).sorted().toList();
        if (keys.isEmpty()) {
            return false;
        }
        once("Not serving ingress=" + ingress.getMetadata().getNamespace() + "/" + ingress.getMetadata().getName()
                + ": its annotations " + keys + " ask for access control svcproxy does not enforce (it would be "
                + "served open to every client)");
        return true;
    }

    /** ingress-nginx's annotation that makes an Ingress a canary of the main Ingress of its hosts and paths. */
    static final String CANARY = NGINX_ANNOTATIONS + "canary";

    /**
     * Whether the Ingress is an ingress-nginx canary ({@value #CANARY} true, read as Go's {@code ParseBool}), which
     * is not served (logged once). ingress-nginx never routes a canary's hosts and paths on its own ("Ingress is
     * marked as Canary, ignoring"): its backend only takes a share of the main Ingress's traffic. svcproxy does not
     * split traffic, and served as a plain Ingress the older of the two would own the path: a canary created before
     * its main Ingress would take all of its traffic.
     */
    private boolean canary(Ingress ingress) {
        Map<String, String> annotations = ingress.getMetadata().getAnnotations();
        String value = annotations == null ? null : annotations.get(CANARY);
        if (value == null || !Boolean.TRUE.equals(IngressSpec.annotationBoolean(value))) {
            return false;
        }
        once("Not serving ingress=" + ingress.getMetadata().getNamespace() + "/" + ingress.getMetadata().getName()
                + ": it is an ingress-nginx canary (" + CANARY + ": " + value + "), which only takes a share of "
                + "its main Ingress's traffic; svcproxy does not split traffic, and the main Ingress serves it all");
        return true;
    }

    /** Maps one served Ingress; {@code secrets} by {@code namespace/name}. */
    IngressSpec map(Ingress ingress, Map<String, Secret> secrets) {
        String ns = ingress.getMetadata().getNamespace();
        String name = ingress.getMetadata().getName();
        String id = ns + "/" + name;
        Map<String, String> annotations = ingress.getMetadata().getAnnotations();
        if (annotations != null) {
            List<String> ignored = annotations.keySet().stream().filter(k -> k.startsWith(NGINX_ANNOTATIONS)
                            && !k.equals(IngressSpec.SSL_REDIRECT) && !k.equals(IngressSpec.FORCE_SSL_REDIRECT)
                            && !admitsAll(k, annotations.get(k)))
                    .sorted().toList();
            if (!ignored.isEmpty()) {
                once("Ignoring ingress-nginx annotations ingress=" + id + " annotations=" + ignored
                        + " (svcproxy routes by host and path as the Ingress spec says; rewrites, backend protocols "
                        + "and the like are not applied; of the redirects, ssl-redirect and force-ssl-redirect are)");
            }
        }
        boolean sslRedirect = annotationBoolean(id, annotations, IngressSpec.SSL_REDIRECT, true);
        boolean forceSslRedirect = annotationBoolean(id, annotations, IngressSpec.FORCE_SSL_REDIRECT, false);
        var spec = ingress.getSpec();
        IngressSpec.Backend defaultBackend = spec.getDefaultBackend() == null ? null
                : backend(id, spec.getDefaultBackend());
        List<IngressSpec.Rule> rules = new ArrayList<>();
        for (IngressRule rule : spec.getRules() == null ? List.<IngressRule>of() : spec.getRules()) {
            String host = rule.getHost() == null || rule.getHost().isEmpty() ? null : rule.getHost();
            if (host != null && !IngressSpec.isValidHost(host)) {
                once("Ignoring ingress rule ingress=" + id + " host=" + host + " (not a DNS name or *.wildcard)");
                continue;
            }
            if (rule.getHttp() == null || rule.getHttp().getPaths() == null) {
                if (host != null) { // its host is named: its requests go to the default backend (SPEC, ingress-nginx)
                    rules.add(new IngressSpec.Rule(host, List.of()));
                }
                continue;
            }
            List<IngressSpec.HttpPath> paths = new ArrayList<>();
            for (HTTPIngressPath p : rule.getHttp().getPaths()) {
                String type = p.getPathType();
                String path = p.getPath() == null || p.getPath().isEmpty() ? "/" : p.getPath();
                if (!IngressSpec.isValidPathType(type) || !path.startsWith("/")) {
                    once("Ignoring ingress path ingress=" + id + " host=" + host + " path=" + p.getPath()
                            + " pathType=" + type + " (expected: an absolute path; Exact, Prefix or "
                            + "ImplementationSpecific)");
                    continue;
                }
                IngressSpec.Backend backend = p.getBackend() == null ? null : backend(id, p.getBackend());
                if (backend != null) {
                    paths.add(new IngressSpec.HttpPath(path, type, backend));
                }
            }
            rules.add(new IngressSpec.Rule(host, paths));
        }
        List<IngressSpec.Tls> tls = new ArrayList<>();
        for (IngressTLS t : spec.getTls() == null ? List.<IngressTLS>of() : spec.getTls()) {
            List<String> hosts = t.getHosts() == null ? List.of()
                    : t.getHosts().stream().filter(IngressSpec::isValidHost).toList();
            tls.add(tls(id, ns, hosts, t.getSecretName(), secrets));
        }
        return keepCoveredHosts(id, new IngressSpec(ns, name, defaultBackend, rules, tls, sslRedirect,
                forceSslRedirect));
    }

    /** Ends a recompute's mapping: covered hosts of entries not mapped in it are forgotten. */
    void mapped() {
        coveredBefore = coveredNow;
        coveredNow = new HashMap<>();
        loggedBefore = loggedNow;
        loggedNow = new HashSet<>();
        pairs.mapped();
    }

    private static String entryKey(String id, IngressSpec.Tls written) {
        return id + " " + written.secretName() + " " + written.hosts();
    }

    /**
     * {@code written} with the rule hosts each TLS entry's certificate covers. An entry whose Secret's new content does
     * not load ({@link IngressSpec.Tls#contentProblem}) keeps the hosts its certificate covered when it last loaded:
     * its previous pair keeps serving them (IngressCertificates keys that on the entry's hosts), and the HTTPS
     * redirect goes on.
     */
    private IngressSpec keepCoveredHosts(String id, IngressSpec written) {
        IngressSpec covered = written.withCoveredRuleHosts();
        List<IngressSpec.Tls> out = new ArrayList<>();
        boolean kept = false;
        for (int i = 0; i < written.tls().size(); i++) {
            IngressSpec.Tls w = written.tls().get(i);
            IngressSpec.Tls c = covered.tls().get(i);
            String key = entryKey(id, w);
            List<String> before = coveredBefore.get(key);
            if (c.usable()) {
                coveredNow.put(key, List.copyOf(c.hosts().subList(w.hosts().size(), c.hosts().size())));
                out.add(c);
            } else if (c.contentProblem() && before != null && !before.isEmpty()) {
                coveredNow.put(key, before);
                List<String> hosts = new ArrayList<>(w.hosts());
                hosts.addAll(before);
                out.add(new IngressSpec.Tls(hosts, c.certFile(), c.keyFile(), c.secretName(), c.certificatePem(),
                        c.privateKeyPem(), c.problem()));
                kept = true;
            } else {
                out.add(c);
            }
        }
        return kept ? new IngressSpec(covered.namespace(), covered.name(), covered.defaultBackend(),
                covered.rules(), out, covered.sslRedirect(), covered.forceSslRedirect()) : covered;
    }

    /** A boolean annotation; absent: {@code absent}; not a boolean: {@code absent} too, logged once (as ingress-nginx). */
    private boolean annotationBoolean(String id, Map<String, String> annotations, String key, boolean absent) {
        String v = annotations == null ? null : annotations.get(key);
        if (v == null) {
            return absent;
        }
        Boolean b = IngressSpec.annotationBoolean(v);
        if (b == null) {
            once("Ignoring ingress annotation ingress=" + id + " " + key + "=" + v + " (expected: true or false; "
                    + absent + " is used)");
            return absent;
        }
        return b;
    }

    private IngressSpec.Tls tls(String id, String ns, List<String> hosts, String secretName,
                                Map<String, Secret> secrets) {
        if (secretName == null || secretName.isEmpty()) {
            once("Ignoring ingress tls without secretName ingress=" + id);
            return new IngressSpec.Tls(hosts, null, null, "", null, null, "no secretName");
        }
        Secret secret = secrets.get(ns + "/" + secretName);
        String problem = null;
        String cert = null;
        String key = null;
        if (secret == null) {
            // the source lists Secrets of that type only (a field selector): an Opaque one is not seen at all
            problem = "no Secret of type " + TLS_SECRET_TYPE + " by that name";
        } else if (!TLS_SECRET_TYPE.equals(secret.getType())) {
            problem = "type " + secret.getType() + " (expected: " + TLS_SECRET_TYPE + ")";
        } else {
            TlsSecretPairs.Checked checked = pairs.checked(ns + "/" + secretName, secret.getData());
            cert = checked.cert();
            key = checked.key();
            problem = checked.problem();
        }
        if (problem != null) {
            once("Ingress tls secret not usable ingress=" + id + " secret=" + secretName + " problem=" + problem);
            return new IngressSpec.Tls(hosts, null, null, secretName, null, null, problem);
        }
        return new IngressSpec.Tls(hosts, null, null, secretName, cert, key);
    }

    /** How many TLS pairs were checked so far: for tests. */
    int pairChecks() {
        return pairs.checks();
    }

    private IngressSpec.Backend backend(String id, IngressBackend backend) {
        IngressServiceBackend service = backend.getService();
        if (service == null || service.getName() == null || service.getPort() == null) {
            once("Ignoring ingress backend ingress=" + id + " (only service backends with a port are supported)");
            return null;
        }
        Integer number = service.getPort().getNumber();
        String portName = service.getPort().getName();
        if (number != null && number > 0 && number <= 65535) {
            return new IngressSpec.Backend(service.getName(), number, null);
        }
        if (portName != null && !portName.isEmpty()) {
            return new IngressSpec.Backend(service.getName(), 0, portName);
        }
        once("Ignoring ingress backend ingress=" + id + " service=" + service.getName() + " (no port number or name)");
        return null;
    }

    /** The lines logged by the last recompute and this one, for tests. */
    Set<String> logged() {
        Set<String> all = new HashSet<>(loggedBefore);
        all.addAll(loggedNow);
        return all;
    }

    /** Logs {@code line} unless the last recompute logged it too (it has not gone away since). */
    private void once(String line) {
        if (loggedNow.add(line) && !loggedBefore.contains(line)) {
            log.warn(line);
        }
    }
}
