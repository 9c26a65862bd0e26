package io.svcproxy.proxy.ingress;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.svcproxy.balancer.ConnectionCounters;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.IngressSettings;
import io.svcproxy.config.IngressSpec;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.proxy.HttpIngressServer;
import io.svcproxy.ingress.proxy.HttpsIngressServer;
import io.svcproxy.ingress.proxy.IngressOptions;
import io.svcproxy.ingress.proxy.IngressServer;
import io.svcproxy.ingress.routing.Router;
import io.svcproxy.ingress.routing.RoutingTable;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.dataplane.PortSharing;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ingress of a running proxy: its listeners and its routing. {@link #start} binds the {@code proxy.ingress}
 * listeners on the data plane's event loops; {@link #apply} compiles the Ingresses of each desired state into a new
 * immutable {@link RoutingTable} and publishes it (requests read it with one volatile read), after the reconciler
 * has put the state's Service ports in force, so a backend resolves to its ClusterIP listener's own endpoint set.
 * A rejected config never reaches {@link #apply}: the last good table keeps serving. The HTTPS listener's
 * certificates are the {@code tls} entries of the Ingresses in force, in routing order ({@link IngressCertificates});
 * {@link #apply} swaps them when they change (new handshakes get the new ones, established connections keep
 * theirs), each pair on its own.
 *
 * <p>Control-plane thread for {@link #start}, {@link #apply} and {@link #close}; the listeners run on event loops.
 */
public final class IngressListeners implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IngressListeners.class);

    private final Router<ServiceBackend> router = new Router<>();
    private final BackendLookup lookup;
    private final IngressStats stats;
    /**
     * The notices of the last routing table applied, and of this one: a notice still there is not logged again at
     * the next reload; one that went away and comes back is.
     */
    private Set<String> loggedBefore = new HashSet<>();
    private Set<String> loggedNow = new HashSet<>();
    private volatile List<IngressSpec> ingresses = List.of();
    private volatile HttpIngressServer http;
    private volatile HttpsIngressServer https;
    // Set by start; guarded by this.
    private EventLoopGroup group;
    private Class<? extends ServerChannel> channelType;
    private IngressSettings settings;
    /** {@code proxy.connectTimeout}: each connect to an endpoint, as the TCP relay's. */
    private Duration connectTimeout = IngressOptions.defaults().connectTimeout();
    /** The HTTPS listener's certificates (loaded when it is first bound). */
    private final IngressCertificates certificates;
    /** Listeners a reload moved or turned off whose connections may still be open ({@link #retire}). */
    private final List<IngressServer> retired = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** How a listener on every address shares its port with Service listeners, or {@code null}. */
    private final PortSharing sharing;

    public IngressListeners(BackendLookup lookup, IngressStats stats) {
        this(lookup, stats, null);
    }

    /**
     * With {@code sharing}: a listener on every address shares its port with the Service listeners there (each takes
     * the connections to its own address); without, it is bound as any socket.
     */
    public IngressListeners(BackendLookup lookup, IngressStats stats, PortSharing sharing) {
        this.lookup = Objects.requireNonNull(lookup, "lookup");
        this.stats = Objects.requireNonNull(stats, "stats");
        this.certificates = new IngressCertificates(stats);
        this.sharing = sharing;
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
        if (settings.https() != null) {
            https = bindHttps(settings.https(), options(settings));
        }
        if (settings.http() != null) {
            http = bindHttp(settings.http(), options(settings));
        }
        updateHttpsPort();
    }

    /**
     * Applies changed listener settings of a reload: a listener whose address changed is closed and bound again
     * (its established connections are drained as a shutdown drains them, {@link #retire}), one turned off is closed
     * and drained, one turned on is bound. A changed response timeout or connect timeout ({@code proxy.connectTimeout}) is given to
     * the listeners in place: the connections they accept from then on use it, established ones keep theirs, and
     * no connect is refused meanwhile. {@code className} and {@code publishService} are the Kubernetes source's and
     * take effect at restart. The HTTP listener's redirects name the HTTPS port bound after the change.
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
        List<BindException> failures = new ArrayList<>();
        if (!Objects.equals(previous.https(), next.https())) {
            if (https != null) {
                retire(https);
                https = null;
                log.info("Ingress stopped listening proto=https address={}", format(previous.https()));
            }
            if (next.https() != null) {
                try {
                    https = bindHttps(next.https(), options(next));
                } catch (BindException e) {
                    failures.add(e);
                }
            } else {
                certificates.unload(); // turned off: nothing serves them, so their expiry is nobody's to alert on
            }
        } else {
            retune(https, "https", options(next));
        }
        if (!Objects.equals(previous.http(), next.http())) {
            if (http != null) {
                retire(http);
                http = null;
                log.info("Ingress stopped listening proto=http address={}", format(previous.http()));
            }
            if (next.http() != null) {
                try {
                    http = bindHttp(next.http(), options(next));
                } catch (BindException e) {
                    failures.add(e);
                }
            }
        } else {
            retune(http, "http", options(next));
        }
        updateHttpsPort();
        for (BindException e : failures) {
            log.error("Ingress listener not bound: {}", e.getMessage());
        }
        return failures;
    }

    /**
     * A listener a reload moved or turned off: it stops accepting and its connections end as a shutdown ends them
     * ({@link IngressServer#drain}: HTTP/2 with GOAWAY, HTTP/1.1 between requests), not all at once; they count in
     * {@link #connections} until they are gone.
     */
    private void retire(IngressServer server) {
        server.drain();
        retired.removeIf(r -> r.connections() == 0);
        retired.add(server);
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
        if (settings.https() != null && https == null) {
            try {
                https = bindHttps(settings.https(), options(settings));
            } catch (BindException e) {
                failures.add(e);
            }
        }
        if (settings.http() != null && http == null) {
            try {
                http = bindHttp(settings.http(), options(settings));
            } catch (BindException e) {
                failures.add(e);
            }
        }
        updateHttpsPort();
        return failures;
    }

    private IngressOptions options(IngressSettings settings) {
        return IngressOptions.defaults().withResponseTimeout(settings.responseTimeout())
                .withConnectTimeout(connectTimeout);
    }

    /** Tells the HTTP listener the port its redirects to HTTPS name now ({@link #httpsPort}). */
    private void updateHttpsPort() {
        if (http != null) {
            http.setHttpsPort(httpsPort(settings));
        }
    }

    /**
     * The port plain-HTTP redirects name: {@code httpsRedirectPort}, else the HTTPS listener's bound port (port 0 in
     * the settings: the one the system chose); 0 (no redirects) while no HTTPS listener is bound and none is named.
     */
    private int httpsPort(IngressSettings settings) {
        if (settings.httpsRedirectPort() != 0) {
            return settings.httpsRedirectPort();
        }
        HttpsIngressServer h = https;
        return h != null ? h.localAddress().getPort() : 0;
    }

    private HttpIngressServer bindHttp(InetSocketAddress address, IngressOptions options) throws BindException {
        HttpIngressServer server;
        Consumer<ServerBootstrap> socket = listenerSocket("proxy.ingress.http", address);
        try {
            server = HttpIngressServer.bind(group, channelType, address, router, lookup, options, stats, socket);
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
        Consumer<ServerBootstrap> socket = listenerSocket("proxy.ingress.https", address);
        try {
            server = HttpsIngressServer.bind(group, channelType, address, router, lookup, options, stats,
                    certificates.certificates(ingresses), socket);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BindException(format(address), e);
        } catch (Exception e) { // Netty's bind throws its IOException (address in use) unchecked
            throw new BindException(format(address), e);
        }
        log.info("Ingress listening proto=https address={} certificates={} tls={} responseTimeout={}",
                format(server.localAddress()), certificates.count(), server.certificates().sslProvider(),
                options.responseTimeout());
        return server;
    }

    /** What serves for a TLS entry of the Ingresses in force (see {@link IngressCertificates#status}). */
    public IngressCertificates.TlsStatus tlsStatus(IngressSpec.Tls tls) {
        return certificates.status(tls);
    }

    /** Compiles and publishes the routing table of {@code next}, of a synced state. */
    public void apply(List<IngressSpec> next) {
        apply(next, true);
    }

    /**
     * Compiles and publishes the routing table of {@code next}; unchanged Ingresses compile nothing. Their backends
     * that no Service port answers for are named only from a {@code synced} state (before every source has listed,
     * a Service not listed yet is not missing), each once while the table is in force, also when the Ingresses stay
     * and the Services change.
     */
    public synchronized void apply(List<IngressSpec> next, boolean synced) {
        if (next.equals(ingresses)) {
            if (synced) {
                // the Services changed: a backend whose port went since (renamed, deleted, made ExternalName) is
                // named, once while this table is in force
                noticeMissingBackends(next);
            }
            return;
        }
        loggedBefore = loggedNow;
        loggedNow = new HashSet<>();
        RoutingTable<ServiceBackend> table = IngressRoutes.compile(next, this::notice);
        table.notices().forEach(this::notice);
        Set<String> present = new HashSet<>();
        next.forEach(i -> present.add(i.qualifiedName()));
        stats.admit(present); // before the table: a request of an Ingress added now is counted
        router.update(table);
        certificates.update(next);
        if (synced) {
            noticeMissingBackends(next);
        }
        stats.retain(present); // a deleted Ingress's counts and series go with it
        ingresses = List.copyOf(next);
        log.info("Ingress routes applied ingresses={} rules={} defaultBackend={}", next.size(), table.ruleCount(),
                table.defaultRoute() == null ? "none" : table.defaultRoute().ingress());
    }

    /**
     * Names once each backend no Service port of the state in force answers for (their requests answer 503): a
     * Service not created yet, a port it does not have, or a headless or ExternalName Service, which ingress-nginx
     * would route to (its endpoints, or the name) and svcproxy does not proxy.
     */
    private void noticeMissingBackends(List<IngressSpec> next) {
        for (IngressSpec ingress : next) {
            List<IngressSpec.Backend> backends = new ArrayList<>();
            if (ingress.defaultBackend() != null) {
                backends.add(ingress.defaultBackend());
            }
            ingress.rules().forEach(r -> r.paths().forEach(p -> backends.add(p.backend())));
            for (IngressSpec.Backend b : backends) {
                ServiceBackend backend = IngressRoutes.backend(ingress, b);
                if (lookup.backendSet(backend) == null) {
                    notice("Ingress backend has no Service port ingress=" + ingress.qualifiedName() + " backend="
                            + backend + " (no such Service or port yet, or a headless or ExternalName Service or one "
                            + "labelled service.kubernetes.io/service-proxy-name, which svcproxy does not proxy): its "
                            + "requests answer 503");
                }
            }
        }
    }

    /** Logs {@code line} unless the routing table applied before named it too (it has not gone away since). */
    private void notice(String line) {
        if (loggedNow.add(line) && !loggedBefore.contains(line)) {
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

    /** The client connections of the listeners still open, those of listeners a reload moved included. */
    public int connections() {
        HttpIngressServer h = http;
        HttpsIngressServer s = https;
        int n = (h == null ? 0 : h.connections()) + (s == null ? 0 : s.connections());
        for (IngressServer r : retired) {
            n += r.connections();
        }
        return n;
    }

    /**
     * Ends the requests and WebSocket tunnels of every listener (those a reload moved included) that hold a claim on
     * {@code endpoint}, an endpoint whose drain outlived {@code drainTimeout} ({@link IngressServer#cutRequestsTo});
     * returns how many. Not from an event loop.
     */
    public int cutRequestsTo(ConnectionCounters endpoint) {
        HttpIngressServer h = http;
        HttpsIngressServer s = https;
        int n = (h == null ? 0 : h.cutRequestsTo(endpoint)) + (s == null ? 0 : s.cutRequestsTo(endpoint));
        for (IngressServer r : retired) {
            n += r.cutRequestsTo(endpoint);
        }
        return n;
    }

    /**
     * Stops accepting and resets the connections still open, those of listeners a reload moved included (the
     * drain's deadline, or a shutdown without one): a response or tunnel cut short reaches its client as a reset.
     */
    @Override
    public synchronized void close() {
        if (http != null) {
            http.close();
            http.cut();
            http = null;
        }
        if (https != null) {
            https.close();
            https.cut();
            https = null;
        }
        for (IngressServer r : retired) {
            r.cut();
        }
    }

    /** What {@code key}'s listener at {@code address} sets on its socket: SO_REUSEPORT on a shared port. */
    private Consumer<ServerBootstrap> listenerSocket(String key, InetSocketAddress address) throws BindException {
        return sharing == null ? b -> { } : sharing.ownListener(key, address);
    }
}
