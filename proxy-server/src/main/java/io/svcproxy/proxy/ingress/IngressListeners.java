package io.svcproxy.proxy.ingress;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.IngressSettings;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.proxy.HttpIngressServer;
import io.svcproxy.ingress.proxy.HttpsIngressServer;
import io.svcproxy.ingress.proxy.IngressOptions;
import io.svcproxy.ingress.proxy.IngressServer;
import io.svcproxy.ingress.proxy.TlsCertificates;
import io.svcproxy.ingress.proxy.TlsEntry;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.metrics.ProxyMetrics;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ingress of a running proxy: its listeners and its routing. {@link #start} binds the {@code proxy.ingress}
 * listeners on the data plane's event loops; {@link #apply} compiles the Ingresses of each desired state into a new
 * immutable {@link RoutingTable} and publishes it (requests read it with one volatile read), after the reconciler
 * has put the state's Service ports in force, so a backend resolves to its ClusterIP listener's own endpoint set.
 * A rejected config never reaches {@link #apply}: the last good table keeps serving. The HTTPS listener's
 * certificates are the {@code tls} entries of the Ingresses in force, in routing order; {@link #apply} swaps them
 * when they change (new handshakes get the new ones, established connections keep theirs), and a set that does not
 * load is logged and leaves the certificates in force.
 *
 * <p>Control-plane thread for {@link #start}, {@link #apply} and {@link #close}; the listeners run on event loops.
 */
public final class IngressListeners implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IngressListeners.class);

    private final Router<ServiceBackend> router = new Router<>();
    private final BackendLookup lookup;
    private final IngressStats stats;
    /** The notices of the routing tables compiled so far: each is logged once, not on every reload. */
    private final Set<String> logged = new HashSet<>();
    private volatile List<IngressSpec> ingresses = List.of();
    private volatile HttpIngressServer http;
    private volatile HttpsIngressServer https;
    // Set by start; guarded by this.
    private EventLoopGroup group;
    private Class<? extends ServerChannel> channelType;
    private IngressSettings settings;
    /** {@code proxy.connectTimeout}: each connect to an endpoint, as the TCP relay's. */
    private Duration connectTimeout = IngressOptions.defaults().connectTimeout();
    /** The HTTPS listener's certificates, or {@code null} without that listener. */
    private TlsCertificates certificates;
    /** The TLS entries {@link #certificates} were last built from. */
    private List<IngressSpec.Tls> certificatesOf = List.of();
    /** What became of each entry of {@link #certificatesOf}, for {@link #tlsStatus}. */
    private volatile Map<IngressSpec.Tls, TlsCertificates.Outcome> tlsOutcomes = Map.of();

    public IngressListeners(BackendLookup lookup, IngressStats stats) {
        this.lookup = Objects.requireNonNull(lookup, "lookup");
        this.stats = Objects.requireNonNull(stats, "stats");
    }

    /**
     * Binds the listeners of {@code settings} (none when neither {@code http} nor {@code https} is set).
     *
     * @throws BindException if an address cannot be bound; the message names it
     */
    public synchronized void start(IngressSettings settings, Duration connectTimeout, EventLoopGroup group,
                                   Class<? extends ServerChannel> channelType) throws BindException {
        this.group = group;
        this.channelType = channelType;
        this.settings = settings;
        this.connectTimeout = connectTimeout;
        IngressOptions options = options(settings);
        if (settings.http() != null) {
            http = bindHttp(settings.http(), options);
        }
        if (settings.https() != null) {
            https = bindHttps(settings.https(), options);
        }
    }

    /**
     * Applies changed listener settings of a reload: a listener whose address changed is closed and bound again
     * (its established connections go on with the old settings until they end), one turned off is closed, one
     * turned on is bound. A changed response timeout or connect timeout ({@code proxy.connectTimeout}) is given to
     * the listeners in place: the connections they accept from then on use it, established ones keep theirs, and
     * no connect is refused meanwhile. {@code className} is the Kubernetes source's and takes effect at restart.
     *
     * @return the addresses that could not be bound (their listener is then off)
     */
    public synchronized List<BindException> reconfigure(IngressSettings next, Duration nextConnectTimeout) {
        IngressSettings previous = settings;
        if (previous == null || previous.equals(next) && connectTimeout.equals(nextConnectTimeout)) {
            return List.of();
        }
        settings = next;
        connectTimeout = nextConnectTimeout;
        IngressOptions options = options(next);
        List<BindException> failures = new ArrayList<>();
        if (!Objects.equals(previous.http(), next.http())) {
            if (http != null) {
                http.close();
                http = null;
                log.info("Ingress stopped listening proto=http address={}", format(previous.http()));
            }
            if (next.http() != null) {
                try {
                    http = bindHttp(next.http(), options);
                } catch (BindException e) {
                    failures.add(e);
                }
            }
        } else {
            retune(http, "http", options);
        }
        if (!Objects.equals(previous.https(), next.https())) {
            if (https != null) {
                https.close();
                https = null;
                log.info("Ingress stopped listening proto=https address={}", format(previous.https()));
            }
            if (next.https() != null) {
                try {
                    https = bindHttps(next.https(), options);
                } catch (BindException e) {
                    failures.add(e);
                }
            }
        } else {
            retune(https, "https", options);
        }
        for (BindException e : failures) {
            log.error("Ingress listener not bound: {}", e.getMessage());
        }
        return failures;
    }

    /** Gives a listener that stays where it is the options of a reload, when they changed. */
    private static void retune(IngressServer server, String proto, IngressOptions options) {
        if (server != null && !server.options().equals(options)) {
            server.setOptions(options);
            log.info("Ingress listener settings changed proto={} address={} responseTimeout={} connectTimeout={}",
                    proto, format(server.localAddress()), options.responseTimeout(), options.connectTimeout());
        }
    }

    /**
     * Binds the configured listeners that are not bound (a reload's bind that failed), as the sync runner retries
     * Service ports. Returns the addresses that still cannot be bound.
     */
    public synchronized List<BindException> bindMissing() {
        if (settings == null) {
            return List.of();
        }
        List<BindException> failures = new ArrayList<>();
        IngressOptions options = options(settings);
        if (settings.http() != null && http == null) {
            try {
                http = bindHttp(settings.http(), options);
            } catch (BindException e) {
                failures.add(e);
            }
        }
        if (settings.https() != null && https == null) {
            try {
                https = bindHttps(settings.https(), options);
            } catch (BindException e) {
                failures.add(e);
            }
        }
        return failures;
    }

    private IngressOptions options(IngressSettings settings) {
        return IngressOptions.defaults().withResponseTimeout(settings.responseTimeout())
                .withConnectTimeout(connectTimeout);
    }

    private HttpIngressServer bindHttp(InetSocketAddress address, IngressOptions options) throws BindException {
        HttpIngressServer server;
        try {
            server = HttpIngressServer.bind(group, channelType, address, router, lookup, options, stats);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BindException(format(address), e);
        } catch (Exception e) { // Netty's bind throws its IOException (address in use) unchecked
            throw new BindException(format(address), e);
        }
        log.info("Ingress listening proto=http address={} responseTimeout={} connectTimeout={}",
                format(server.localAddress()), options.responseTimeout(), options.connectTimeout());
        return server;
    }

    private HttpsIngressServer bindHttps(InetSocketAddress address, IngressOptions options) throws BindException {
        HttpsIngressServer server;
        try {
            if (certificates == null) {
                List<IngressSpec.Tls> tls = tlsOf(ingresses);
                certificates = TlsCertificates.of(entries(tls));
                loaded(ingresses, tls, certificates.outcomes());
            }
            server = HttpsIngressServer.bind(group, channelType, address, router, lookup, options, stats,
                    certificates);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BindException(format(address), e);
        } catch (Exception e) { // Netty's bind throws its IOException (address in use) unchecked
            throw new BindException(format(address), e);
        }
        log.info("Ingress listening proto=https address={} certificates={} tls={} responseTimeout={}",
                format(server.localAddress()), certificatesOf.size(), certificates.sslProvider(),
                options.responseTimeout());
        return server;
    }

    /** The usable TLS entries of the Ingresses, in routing order (the first serves clients without SNI). */
    private static List<IngressSpec.Tls> tlsOf(List<IngressSpec> ingresses) {
        List<IngressSpec.Tls> out = new ArrayList<>();
        for (IngressSpec ingress : ingresses) {
            for (IngressSpec.Tls tls : ingress.tls()) {
                if (tls.usable()) {
                    out.add(tls);
                }
            }
        }
        return out;
    }

    private static List<TlsEntry> entries(List<IngressSpec.Tls> tls) {
        List<TlsEntry> out = new ArrayList<>();
        for (IngressSpec.Tls t : tls) {
            String cert = t.secretName() != null ? "secret " + t.secretName() + " tls.crt" : "certFile " + t.certFile();
            String key = t.secretName() != null ? "secret " + t.secretName() + " tls.key" : "keyFile " + t.keyFile();
            out.add(new TlsEntry(t.hosts(), cert, t.certificatePem().getBytes(StandardCharsets.US_ASCII), key,
                    t.privateKeyPem().getBytes(StandardCharsets.US_ASCII)));
        }
        return out;
    }

    /** Swaps the HTTPS listener's certificates when the TLS entries changed; a set that does not load is logged. */
    private void updateCertificates(List<IngressSpec> next) {
        if (certificates == null) {
            return;
        }
        List<IngressSpec.Tls> tls = tlsOf(next);
        if (tls.equals(certificatesOf)) {
            return;
        }
        List<TlsCertificates.Outcome> outcomes = certificates.update(entries(tls));
        log.info("Ingress certificates swapped certificates={} served={}", tls.size(), certificates.served().size());
        loaded(next, tls, outcomes);
    }

    /**
     * Notes what became of each TLS entry (for {@link #tlsStatus} and the expiry gauge), and warns of each entry that
     * did not load and of each certificate served past its end of validity.
     */
    private void loaded(List<IngressSpec> specs, List<IngressSpec.Tls> tls, List<TlsCertificates.Outcome> outcomes) {
        certificatesOf = tls;
        Map<IngressSpec.Tls, TlsCertificates.Outcome> byEntry = new HashMap<>();
        List<ProxyMetrics.CertificateExpiry> expiry = new ArrayList<>();
        Instant now = Instant.now();
        for (int i = 0; i < tls.size(); i++) {
            IngressSpec.Tls t = tls.get(i);
            TlsCertificates.Outcome o = outcomes.get(i);
            byEntry.put(t, o);
            if (o.problem() != null) {
                log.warn("Ingress certificate not loaded, {}: {} hosts={}", o.served() == null
                        ? "its hosts get the default certificate" : "its previous certificate keeps serving",
                        o.problem(), t.hosts());
            }
            if (o.served() != null) {
                expiry.add(new ProxyMetrics.CertificateExpiry(ingressOf(specs, t), o.served().entry().certSource(),
                        o.served().notAfter()));
                if (o.served().notAfter().isBefore(now)) {
                    log.warn("Ingress certificate expired, served anyway: {} notAfter={} hosts={}",
                            o.served().entry().certSource(), o.served().notAfter(), t.hosts());
                }
            }
        }
        tlsOutcomes = byEntry;
        stats.certificates(expiry);
    }

    /** The Ingress (namespace/name) a TLS entry belongs to, as the metrics name it. */
    private static String ingressOf(List<IngressSpec> specs, IngressSpec.Tls t) {
        for (IngressSpec spec : specs) {
            if (spec.tls().contains(t)) {
                return spec.qualifiedName();
            }
        }
        return "";
    }

    /** What serves for a TLS entry of the Ingresses in force. */
    public record TlsStatus(boolean loaded, Instant notAfter, String problem) {
    }

    /**
     * The state of {@code tls}: {@code loaded} when its own certificate serves; {@code notAfter} of the certificate
     * that serves for it (its previous one when its new content did not load), {@code null} if none does;
     * {@code problem} why its content did not load, {@code null} if it did. Without an HTTPS listener, or for an
     * entry with no certificate, nothing is loaded.
     */
    public TlsStatus tlsStatus(IngressSpec.Tls tls) {
        TlsCertificates.Outcome o = tlsOutcomes.get(tls);
        if (o == null) {
            return new TlsStatus(false, null, null);
        }
        return new TlsStatus(o.problem() == null && o.served() != null,
                o.served() == null ? null : o.served().notAfter(), o.problem());
    }

    /** Compiles and publishes the routing table of {@code next}; unchanged Ingresses compile nothing. */
    public synchronized void apply(List<IngressSpec> next) {
        if (next.equals(ingresses)) {
            return;
        }
        RoutingTable<ServiceBackend> table = IngressRoutes.compile(next, this::notice);
        table.notices().forEach(this::notice);
        router.update(table);
        updateCertificates(next);
        ingresses = List.copyOf(next);
        log.info("Ingress routes applied ingresses={} rules={} defaultBackend={}", next.size(), table.ruleCount(),
                table.defaultRoute() == null ? "none" : table.defaultRoute().ingress());
    }

    private void notice(String line) {
        if (logged.add(line)) {
            log.warn(line);
        }
    }

    private static String format(InetSocketAddress address) {
        return Addresses.format(address.getAddress(), address.getPort());
    }

    /** The Ingresses in force, in routing order. */
    public List<IngressSpec> ingresses() {
        return ingresses;
    }

    /** The routing table in force. */
    public RoutingTable<ServiceBackend> table() {
        return router.table();
    }

    public IngressStats stats() {
        return stats;
    }

    public BackendLookup lookup() {
        return lookup;
    }

    /** The HTTPS listener's bound address, or {@code null} when there is none. */
    public InetSocketAddress httpsAddress() {
        HttpsIngressServer h = https;
        return h == null ? null : h.localAddress();
    }

    /** The HTTP listener's bound address, or {@code null} when there is none. */
    public InetSocketAddress httpAddress() {
        HttpIngressServer h = http;
        return h == null ? null : h.localAddress();
    }

    /** The timeouts and limits the HTTP listener gives the connections it accepts now, or {@code null} without it. */
    public IngressOptions httpOptions() {
        HttpIngressServer server = http;
        return server == null ? null : server.options();
    }

    /**
     * Graceful shutdown's first step: the listeners stop accepting and their connections are asked to end
     * ({@link IngressServer#drain}); {@link #connections} counts those still open.
     */
    public synchronized void drain() {
        if (http != null) {
            http.drain();
        }
        if (https != null) {
            https.drain();
        }
    }

    /** The client connections of the listeners still open. */
    public int connections() {
        HttpIngressServer h = http;
        HttpsIngressServer s = https;
        return (h == null ? 0 : h.connections()) + (s == null ? 0 : s.connections());
    }

    /** Stops accepting; connections in progress are closed with the event loops. */
    @Override
    public synchronized void close() {
        if (http != null) {
            http.close();
            http = null;
        }
        if (https != null) {
            https.close();
            https = null;
        }
    }
}
