package io.svcproxy.proxy.ingress;

import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.TlsHandshakeFailure;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the Ingress's answered requests per rule and status code, for {@code /api/v1/ingresses} and the stats
 * page, and hands each to {@link ProxyMetrics#httpRequest} with SPEC.md's labels; hands the HTTPS listener's failed
 * handshakes to {@link ProxyMetrics#ingressTlsHandshakeFailed}. Called on event loops; counts
 * live as long as their Ingress (a rule removed and added again keeps its counts; a deleted Ingress's go).
 */
public final class IngressStats implements IngressMetrics {
    /**
     * What a request matched: a rule by its Ingress, host ({@code *} for none), path and pathType; an Ingress's
     * default backend by its Ingress and empty host, path and type; a 404 by {@link #NOT_FOUND}.
     */
    public record RuleKey(String ingress, String host, String path, String pathType) {
    }

    /** The key of requests that matched nothing. */
    public static final RuleKey NOT_FOUND = new RuleKey("", "", "", "");

    /** The counts of one rule. */
    public static final class Counts {
        private final LongAdder hits = new LongAdder();
        private final Map<Integer, LongAdder> codes = new ConcurrentHashMap<>();
        /** {@link #codes}' counters of 100-599 by code - 100, resolved on first use (a race resolves one twice). */
        private final LongAdder[] byCode = new LongAdder[500];

        void add(int code) {
            hits.increment();
            LongAdder n = code >= 100 && code < 600 ? byCode[code - 100] : null;
            if (n == null) {
                n = codes.computeIfAbsent(code, c -> new LongAdder());
                if (code >= 100 && code < 600) {
                    byCode[code - 100] = n;
                }
            }
            n.increment();
        }

        /** Requests answered. */
        public long hits() {
            return hits.sum();
        }

        /** Requests answered per status code, by code. */
        public Map<Integer, Long> codes() {
            Map<Integer, Long> out = new TreeMap<>();
            codes.forEach((code, n) -> out.put(code, n.sum()));
            return out;
        }
    }

    private static final Counts NONE = new Counts();
    private static final RouteMetrics NOT_COUNTED = (status, durationNanos) -> { };

    private final ProxyMetrics metrics;
    private final Map<RuleKey, Counts> counts = new ConcurrentHashMap<>();
    /** The Ingresses in force ({@code namespace/name}), or {@code null} before the first {@link #retain}. */
    private volatile Set<String> present;

    public IngressStats(ProxyMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void requestCompleted(Route<ServiceBackend> route, int status, long durationNanos) {
        forRoute(route).requestCompleted(status, durationNanos);
    }

    /** The rule's counts and meters, resolved once for the requests of {@code route}. */
    @Override
    public RouteMetrics forRoute(Route<ServiceBackend> route) {
        Set<String> now = present;
        if (route != null && now != null && !now.contains(route.ingress())) {
            return NOT_COUNTED; // its Ingress was deleted while it ran: its series and counts are gone, and stay gone
        }
        RuleKey key = route == null ? NOT_FOUND : new RuleKey(route.ingress(), route.host(), route.path(),
                route.pathType() == null ? "" : route.pathType().apiName());
        Counts ruleCounts = counts.computeIfAbsent(key, k -> new Counts());
        ProxyMetrics.HttpRequestMeter meter = route == null ? metrics.httpRequestMeter("", "", "", "")
                : metrics.httpRequestMeter(route.ingress(), route.host(), route.path(), route.backend().service());
        return (status, durationNanos) -> {
            ruleCounts.add(status);
            meter.record(status, durationNanos);
        };
    }

    /**
     * Counts the Ingresses of {@code next} ({@code namespace/name}) from now on, beside those in force: called before
     * a routing table with them is published, so that a request of a new (or returning) Ingress is never resolved as
     * not counted, which its event loop's {@code RouteMetricsCache} would keep for the table's life. {@link #retain}
     * then forgets the others. Control-plane thread.
     */
    public void admit(Set<String> next) {
        Set<String> now = present;
        if (now == null) {
            return; // every Ingress counts until the first retain
        }
        Set<String> both = new HashSet<>(now);
        both.addAll(next);
        this.present = Set.copyOf(both);
    }

    /**
     * Forgets the counts and series of every Ingress but those of {@code present} ({@code namespace/name}); the 404s'
     * stay. Control-plane thread.
     */
    public void retain(Set<String> present) {
        this.present = Set.copyOf(present); // first: a request of a removed Ingress completing now counts nowhere
        counts.keySet().removeIf(k -> !k.ingress().isEmpty() && !present.contains(k.ingress()));
        metrics.ingressesRemoved(present);
    }

    /** A handshake of the HTTPS listener failed: counted in {@code svcproxy_ingress_tls_handshake_failures_total}. */
    @Override
    public void tlsHandshakeFailed(TlsHandshakeFailure reason) {
        metrics.ingressTlsHandshakeFailed(reason.label());
    }

    /** The certificates the HTTPS listener serves now, for their expiry gauge. */
    void certificates(java.util.List<ProxyMetrics.CertificateExpiry> served) {
        metrics.ingressCertificates(served);
    }

    /** The counts of a rule (empty when it never matched). */
    public Counts counts(RuleKey key) {
        return counts.getOrDefault(key, NONE);
    }
}
