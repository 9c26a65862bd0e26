package io.svcproxy.proxy.ingress;

import io.svcproxy.config.IngressSpec;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.HttpsRedirect;
import io.svcproxy.ingress.routing.IngressRules;
import io.svcproxy.ingress.routing.PathType;
import io.svcproxy.ingress.routing.RoutingTable;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Compiles the desired state's Ingresses into the routing table of the {@code ingress} module. */
public final class IngressRoutes {
    private IngressRoutes() {
    }

    /**
     * Returns the table of {@code ingresses}, in order (the first default backend and the first of duplicate rules
     * win). A rule the routing table refuses (validation lets nothing through that it would; this is a guard for
     * Ingresses of the API) is left out and reported to {@code problems}.
     */
    static RoutingTable<ServiceBackend> compile(List<IngressSpec> ingresses, Consumer<String> problems) {
        List<IngressRules<ServiceBackend>> all = new ArrayList<>();
        for (IngressSpec ingress : ingresses) {
            List<IngressRules.Rule<ServiceBackend>> rules = new ArrayList<>();
            for (IngressSpec.Rule rule : ingress.rules()) {
                try {
                    List<IngressRules.PathRule<ServiceBackend>> paths = new ArrayList<>();
                    for (IngressSpec.HttpPath p : rule.paths()) {
                        paths.add(new IngressRules.PathRule<>(p.path(), PathType.of(p.pathType()),
                                backend(ingress, p.backend())));
                    }
                    rules.add(new IngressRules.Rule<>(rule.host(), paths));
                } catch (IllegalArgumentException e) {
                    problems.accept("Ignoring ingress rule ingress=" + ingress.qualifiedName() + " host="
                            + rule.host() + " problem=" + e.getMessage());
                }
            }
            ServiceBackend defaultBackend = ingress.defaultBackend() == null ? null
                    : backend(ingress, ingress.defaultBackend());
            all.add(new IngressRules<>(ingress.qualifiedName(), defaultBackend, rules, redirect(ingress),
                    tlsHosts(ingress)));
        }
        return RoutingTable.compile(all);
    }

    /** ingress-nginx's order: {@code force-ssl-redirect} before {@code ssl-redirect}. */
    static HttpsRedirect redirect(IngressSpec ingress) {
        return ingress.forceSslRedirect() ? HttpsRedirect.ALWAYS
                : ingress.sslRedirect() ? HttpsRedirect.WITH_TLS : HttpsRedirect.NEVER;
    }

    /**
     * The hosts of the Ingress's TLS entries that have a certificate: loaded, or a Secret whose content does not load
     * ({@link IngressSpec.Tls#contentProblem}: its source's previous pair, else the default certificate, answers for
     * them). A missing Secret's hosts are not redirected.
     */
    static List<String> tlsHosts(IngressSpec ingress) {
        List<String> hosts = new ArrayList<>();
        for (IngressSpec.Tls tls : ingress.tls()) {
            if (tls.usable() || tls.contentProblem()) {
                hosts.addAll(tls.hosts());
            }
        }
        return hosts;
    }

    public static ServiceBackend backend(IngressSpec ingress, IngressSpec.Backend backend) {
        return new ServiceBackend(ingress.namespace(), backend.service(), backend.portNumber(), backend.portName());
    }
}
