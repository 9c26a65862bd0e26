package io.svcproxy.proxy.ingress;

import io.svcproxy.config.IngressSpec;
import io.svcproxy.ingress.proxy.TlsCertificates;
import io.svcproxy.ingress.proxy.TlsEntry;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTPS Ingress listener's certificates, from the {@code tls} entries of the Ingresses in force (in routing
 * order: the first that loads serves clients without SNI), and what serves for each entry ({@link #status}).
 *
 * <p>Each entry stands on its own ({@link TlsCertificates}). A pair is known by its source and hosts ({@link
 * Planned#source}): its files, or its Secret by namespace and name. When a source's new content cannot be used, its
 * previous content keeps serving: content that does not load ({@link TlsCertificates} keeps the previous context),
 * and a Secret whose content the Kubernetes source found unusable (a key that does not match, a certificate that
 * does not parse, a key missing; the entry then comes without PEM, and its last served PEM is planned in its
 * place). A Secret deleted, or changed to another type, serves nothing: taking a certificate away is deliberate.
 * Warnings name each entry that does not load and each expired certificate; each served certificate's end of
 * validity goes to the metrics. Control plane only, under its own lock.
 */
public final class IngressCertificates {
    private static final Logger log = LoggerFactory.getLogger(IngressCertificates.class);

    /** What serves for a TLS entry of the Ingresses in force; see {@link #status}. */
    public record TlsStatus(boolean loaded, Instant notAfter, String problem) {
    }

    /**
     * An entry to load: the Ingress ({@code namespace/name}) and entry it was declared by, and the entry whose PEM
     * is loaded for it (itself, or its source's last served one).
     */
    private record Planned(String ingress, String namespace, IngressSpec.Tls declared, IngressSpec.Tls content) {
        /** Where the pair comes from, namespaced, and its hosts: what a renewal keeps ({@link TlsEntry#source}). */
        String source() {
            return TlsEntry.source(certSource(), keySource(), declared.hosts());
        }

        String certSource() {
            return declared.secretName() != null ? "secret " + namespace + "/" + declared.secretName() + " tls.crt"
                    : "certFile " + declared.certFile();
        }

        String keySource() {
            return declared.secretName() != null ? "secret " + namespace + "/" + declared.secretName() + " tls.key"
                    : "keyFile " + declared.keyFile();
        }

        TlsEntry entry() {
            return new TlsEntry(declared.hosts(), certSource(), content.certificatePem().getBytes(
                    StandardCharsets.US_ASCII), keySource(), content.privateKeyPem().getBytes(StandardCharsets.US_ASCII));
        }
    }

    private final IngressStats stats;
    private TlsCertificates certificates;
    private List<Planned> planned = List.of();
    /** The content that last served, by {@link Planned#source}. */
    private Map<String, IngressSpec.Tls> lastServed = Map.of();
    private volatile Map<IngressSpec.Tls, TlsStatus> status = Map.of();

    IngressCertificates(IngressStats stats) {
        this.stats = stats;
    }

    /** The HTTPS listener's certificates, loaded from {@code ingresses} on the first call. */
    synchronized TlsCertificates certificates(List<IngressSpec> ingresses) {
        if (certificates == null) {
            List<Planned> next = plan(ingresses);
            certificates = TlsCertificates.of(entries(next));
            loaded(next, certificates.outcomes());
        }
        return certificates;
    }

    /** The entries loaded for the HTTPS listener. */
    synchronized int count() {
        return planned.size();
    }

    /** Swaps the certificates when the TLS entries of {@code ingresses} changed; nothing before the first load. */
    synchronized void update(List<IngressSpec> ingresses) {
        if (certificates == null) {
            return;
        }
        List<Planned> next = plan(ingresses);
        if (next.equals(planned)) {
            status = statuses(next, certificates.outcomes()); // an unusable entry's problem may be new
            return;
        }
        List<TlsCertificates.Outcome> outcomes = certificates.update(entries(next));
        log.info("Ingress certificates swapped certificates={} served={}", next.size(), certificates.served().size());
        loaded(next, outcomes);
    }

    /**
     * Unloads the certificates when no HTTPS listener serves them any more (a reload turned it off): none is loaded,
     * and their expiry series go. The content each source last served is kept for a listener turned on again. The
     * listener retired keeps the certificates it had for the connections it drains.
     */
    synchronized void unload() {
        if (certificates == null) {
            return;
        }
        certificates = null;
        planned = List.of();
        status = Map.of();
        stats.certificates(List.of());
        log.info("Ingress certificates unloaded: no HTTPS listener serves them");
    }

    /**
     * What serves for {@code tls}: {@code loaded} when its own certificate does; {@code notAfter} of the one that
     * serves for it (its source's previous one when its own cannot be used), {@code null} if none does; {@code
     * problem} why its own cannot be used. Without an HTTPS listener nothing is loaded.
     */
    public TlsStatus status(IngressSpec.Tls tls) {
        TlsStatus s = status.get(tls);
        return s != null ? s : new TlsStatus(false, null, tls.problem());
    }

    private List<Planned> plan(List<IngressSpec> ingresses) {
        List<Planned> out = new ArrayList<>();
        for (IngressSpec spec : ingresses) {
            for (IngressSpec.Tls tls : spec.tls()) {
                if (tls.secretName() != null && tls.secretName().isEmpty()) {
                    continue; // no Secret named: nothing to serve, ever
                }
                Planned p = new Planned(spec.qualifiedName(), spec.namespace(), tls, tls);
                if (tls.usable()) {
                    out.add(p);
                } else if (tls.contentProblem()) {
                    IngressSpec.Tls previous = lastServed.get(p.source());
                    if (previous != null) {
                        out.add(new Planned(p.ingress(), p.namespace(), tls, previous));
                    }
                }
            }
        }
        return out;
    }

    private static List<TlsEntry> entries(List<Planned> planned) {
        List<TlsEntry> out = new ArrayList<>();
        for (Planned p : planned) {
            out.add(p.entry());
        }
        return out;
    }

    /**
     * Notes what serves for each entry (for {@link #status}, the metrics and the next plan), and warns of each
     * entry that did not load and of each certificate served past its end of validity.
     */
    private void loaded(List<Planned> next, List<TlsCertificates.Outcome> outcomes) {
        planned = next;
        Map<String, IngressSpec.Tls> served = new HashMap<>();
        List<ProxyMetrics.CertificateExpiry> expiry = new ArrayList<>();
        Instant now = Instant.now();
        for (int i = 0; i < next.size(); i++) {
            Planned p = next.get(i);
            TlsCertificates.Outcome o = outcomes.get(i);
            if (o.problem() != null) {
                log.warn("Ingress certificate not loaded, {}: {} ingress={} hosts={}", o.served() == null
                        ? "its hosts get the default certificate" : "its previous certificate keeps serving",
                        o.problem(), p.ingress(), p.declared().hosts());
            }
            if (o.served() == null) {
                continue;
            }
            served.put(p.source(), o.problem() == null ? p.content() : lastServed.get(p.source()));
            expiry.add(new ProxyMetrics.CertificateExpiry(p.ingress(), p.certSource(), o.served().notAfter()));
            if (o.served().notAfter().isBefore(now)) {
                log.warn("Ingress certificate expired, served anyway: {} notAfter={} ingress={} hosts={}",
                        p.certSource(), o.served().notAfter(), p.ingress(), p.declared().hosts());
            }
        }
        served.values().removeIf(java.util.Objects::isNull);
        lastServed = served;
        status = statuses(next, outcomes);
        stats.certificates(expiry);
    }

    private static Map<IngressSpec.Tls, TlsStatus> statuses(List<Planned> next, List<TlsCertificates.Outcome> outcomes) {
        Map<IngressSpec.Tls, TlsStatus> out = new HashMap<>();
        for (int i = 0; i < next.size(); i++) {
            Planned p = next.get(i);
            TlsCertificates.Outcome o = outcomes.get(i);
            String problem = o.problem() != null ? o.problem() : p.declared().problem();
            out.put(p.declared(), new TlsStatus(problem == null && o.served() != null,
                    o.served() == null ? null : o.served().notAfter(), problem));
        }
        return out;
    }
}
