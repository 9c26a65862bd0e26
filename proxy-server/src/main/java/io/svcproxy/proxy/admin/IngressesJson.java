package io.svcproxy.proxy.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.Backends;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.ingress.IngressCertificates;
import io.svcproxy.proxy.ingress.IngressListeners;
import io.svcproxy.proxy.ingress.IngressRoutes;
import io.svcproxy.proxy.ingress.IngressStats;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Map;

/**
 * Renders {@code GET /api/v1/ingresses}: the Ingresses in force in routing order, each rule with its backend, the
 * backend's endpoint count now ({@code null} when the Service port is not defined: its requests get 503), and the
 * requests it answered since start ({@code hits}, and {@code codes} by status code); the default backend likewise;
 * {@code notFound} counts the 404s; {@code listeners} the bound addresses ({@code null} when off).
 */
final class IngressesJson {
    private final ObjectMapper mapper = new ObjectMapper();

    byte[] render(ServiceTable table, IngressListeners ingress) {
        ObjectNode root = mapper.createObjectNode();
        root.put("version", table.version());
        ObjectNode listeners = root.putObject("listeners");
        putAddress(listeners, "http", ingress == null ? null : ingress.httpAddress());
        putAddress(listeners, "https", ingress == null ? null : ingress.httpsAddress());
        ArrayNode list = root.putArray("ingresses");
        if (ingress != null) {
            IngressStats stats = ingress.stats();
            for (IngressSpec spec : ingress.ingresses()) {
                ObjectNode o = list.addObject();
                o.put("namespace", spec.namespace());
                o.put("name", spec.name());
                if (spec.defaultBackend() == null) {
                    o.putNull("defaultBackend");
                } else {
                    ObjectNode d = o.putObject("defaultBackend");
                    backend(d, ingress, spec, spec.defaultBackend());
                    counts(d, stats.counts(new IngressStats.RuleKey(spec.qualifiedName(), "", "", "")));
                }
                ArrayNode rules = o.putArray("rules");
                for (IngressSpec.Rule rule : spec.rules()) {
                    String host = rule.host() == null ? "*" : rule.host();
                    for (IngressSpec.HttpPath path : rule.paths()) {
                        ObjectNode r = rules.addObject();
                        r.put("host", host);
                        r.put("path", path.path());
                        r.put("pathType", path.pathType());
                        backend(r, ingress, spec, path.backend());
                        counts(r, stats.counts(new IngressStats.RuleKey(spec.qualifiedName(), host, path.path(),
                                path.pathType())));
                    }
                }
                ArrayNode tls = o.putArray("tls");
                for (IngressSpec.Tls t : spec.tls()) {
                    ObjectNode e = tls.addObject();
                    ArrayNode hosts = e.putArray("hosts");
                    t.hosts().forEach(hosts::add);
                    if (t.secretName() != null) {
                        e.put("secretName", t.secretName());
                    } else {
                        e.put("certFile", String.valueOf(t.certFile()));
                        e.put("keyFile", String.valueOf(t.keyFile()));
                    }
                    IngressCertificates.TlsStatus status = ingress.tlsStatus(t);
                    e.put("loaded", status.loaded());
                    if (status.notAfter() == null) {
                        e.putNull("notAfter");
                    } else {
                        e.put("notAfter", status.notAfter().toString());
                    }
                    if (status.problem() != null) {
                        e.put("problem", status.problem());
                    }
                }
            }
            counts(root.putObject("notFound"), stats.counts(IngressStats.NOT_FOUND));
        }
        try {
            return mapper.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void backend(ObjectNode o, IngressListeners ingress, IngressSpec spec, IngressSpec.Backend b) {
        o.put("service", spec.namespace() + "/" + b.service());
        o.put("port", b.port());
        BackendSet set = ingress.lookup().backendSet(IngressRoutes.backend(spec, b));
        if (set == null) {
            o.putNull("endpoints");
        } else {
            // those that take new requests, as the pick sees them: not draining, quiesced, ejected or unhealthy
            int taking = 0;
            for (BackendState e : set.backends()) {
                taking += e.weight() > 0 ? 1 : 0;
            }
            o.put("endpoints", taking);
        }
    }

    private static void counts(ObjectNode o, IngressStats.Counts counts) {
        o.put("hits", counts.hits());
        ObjectNode codes = o.putObject("codes");
        for (Map.Entry<Integer, Long> e : counts.codes().entrySet()) {
            codes.put(Integer.toString(e.getKey()), e.getValue());
        }
    }

    private static void putAddress(ObjectNode o, String key, InetSocketAddress a) {
        if (a == null) {
            o.putNull(key);
        } else {
            o.put(key, Backends.format(a.getAddress(), a.getPort()));
        }
    }
}
