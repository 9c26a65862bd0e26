package io.svcproxy.proxy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.config.ConfigException;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.source.ConfigFileSource;
import io.svcproxy.config.registry.DesiredState;
import io.svcproxy.config.registry.Registry;
import io.svcproxy.proxy.admin.AdminServer;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.dataplane.HealthCheckNodePorts;
import io.svcproxy.proxy.dataplane.DataPlaneSettings;
import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ReloadStatus;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.dataplane.ServiceTableBackendLookup;
import io.svcproxy.proxy.ingress.IngressListeners;
import io.svcproxy.proxy.ingress.IngressStats;
import io.svcproxy.proxy.dataplane.Transport;
import io.svcproxy.proxy.metrics.MicrometerProxyMetrics;
import io.svcproxy.proxy.reconcile.Reconciler;
import io.svcproxy.proxy.reconcile.SyncRunner;
import io.svcproxy.proxy.vip.ClusterIpHolder;
import io.svcproxy.proxy.vip.VipInterface;
import io.svcproxy.proxy.vip.VipInterfaceException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running svcproxy: the sources, the registry, the reconciler, the data plane, its metrics and its admin
 * server. Wiring only. {@link #start} serves a valid config or fails naming the address it could not bind;
 * later changes flow source → registry → sync runner → reconciler; {@link #shutdown} stops accepting, drains
 * and closes.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    /** A burst of changes within this interval is applied in one sync. */
    static final Duration MIN_SYNC_INTERVAL = Duration.ofMillis(50);
    /** Housekeeping period: drained endpoints, drain deadlines, expired affinity. */
    static final Duration SWEEP_PERIOD = Duration.ofSeconds(1);

    private final PrometheusMeterRegistry meterRegistry;
    private final MicrometerProxyMetrics metrics;
    private final ServiceTable table = new ServiceTable();
    private final ListenerManager listeners;
    private final ClusterIpHolder clusterIps;
    private final Reconciler reconciler;
    private final Registry registry;
    private final SyncRunner syncRunner;
    private final IngressListeners ingress;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile ProxyConfig config;
    /** The config the server started with: what the keys that take effect at restart are in force with. */
    private final ProxyConfig started;
    private volatile DesiredState applied;
    private AdminServer admin;
    private ConfigFileSource fileSource;
    /** With registry.kubernetes: the Kubernetes API's sources; else null. */
    private volatile KubernetesSources kubernetes;
    private volatile boolean shutdown; // read by the health check node ports' answers
    /** Whether {@link #close} ran or runs (under this). */
    private boolean closing;
    private final HealthCheckNodePorts healthChecks;

    private ProxyServer(ProxyConfig config, Transport transport, int workerThreads, ClusterIpHolder clusterIps) {
        this.config = config;
        this.started = config;
        this.meterRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        this.metrics = new MicrometerProxyMetrics(meterRegistry, false); // system metrics: start(), with admin
        this.listeners = new ListenerManager(transport, workerThreads, metrics, DataPlaneSettings.of(config));
        listeners.portSharing().configure(ownListeners(config)); // before any Service port binds
        this.metrics.bindDataPlane(listeners);
        this.clusterIps = clusterIps;
        this.reconciler = new Reconciler(table, listeners, metrics, System::nanoTime, clusterIps);
        this.registry = new Registry(config.registry().kubernetes() != null, state -> triggerSync());
        if (config.registry().kubernetes() != null && config.proxy().ingress().enabled()) {
            registry.expectKubernetesIngresses();
        }
        this.syncRunner = new SyncRunner(this::sync, MIN_SYNC_INTERVAL, Duration.ofSeconds(5), SWEEP_PERIOD);
        this.ingress = new IngressListeners(new ServiceTableBackendLookup(table, listeners::settings, metrics),
                new IngressStats(metrics), listeners.portSharing());
        reconciler.alsoCut(ingress::cutRequestsTo); // an endpoint's drain deadline ends the Ingress's requests too
        this.healthChecks = new HealthCheckNodePorts(listeners.eventLoops(), transport.serverChannel(), table,
                () -> !shutdown && applied != null && applied.servicesSynced(), listeners.portSharing());
    }

    /**
     * Starts serving {@code config}: binds every Service port, then the admin server, and reports ready.
     *
     * @throws BindException if a listener or the admin address cannot be bound (nothing is left running)
     * @throws VipInterfaceException if {@code proxy.vipInterface} is set and cannot be used (nothing is started)
     */
    public static ProxyServer start(ProxyConfig config) throws BindException {
        return start(config, Transport.select(config.proxy().transport()), 0);
    }

    /** Starts serving {@code config} with a chosen transport and number of event loops (0: one per core). */
    public static ProxyServer start(ProxyConfig config, Transport transport, int workerThreads)
            throws BindException {
        String vipInterface = config.proxy().vipInterface();
        ClusterIpHolder clusterIps = vipInterface.isEmpty() ? ClusterIpHolder.NONE : VipInterface.open(vipInterface);
        ProxyServer server = new ProxyServer(config, transport, workerThreads, clusterIps);
        try {
            server.registry.setConfig(config);
            List<BindException> failures = server.applyCurrent();
            if (!failures.isEmpty()) {
                throw failures.get(0);
            }
            server.ingress.start(config.proxy().ingress(), config.proxy().connectTimeout(),
                    server.listeners.eventLoops(), transport.serverChannel());
            InetSocketAddress adminAddress = config.proxy().admin();
            if (adminAddress != null) {
                // after the Service ports listen, before the first scrape can come; without the admin server
                // nothing reads them
                server.metrics.bindSystemMetrics();
                server.admin = new AdminServer(adminAddress, server.table, server.meterRegistry, transport,
                        server.ingress).sharing(server.listeners.portSharing());
                server.admin.start();
            }
            server.startSources();
        } catch (BindException | RuntimeException e) {
            server.close();
            throw e;
        }
        server.updateReadiness(List.of());
        log.info("Serving config={} version={} servicePorts={}", config.source(), server.table.version(),
                server.table.keys().size());
        return server;
    }

    /**
     * Starts watching the config file and its registry files, and the Kubernetes API when configured.
     *
     * @throws IllegalArgumentException if the kubeconfig cannot be used
     */
    private void startSources() {
        if (config.source() != null && Files.isRegularFile(config.source())) {
            fileSource = new ConfigFileSource(config, new ConfigFileSource.Listener() {
                @Override
                public void applied(ProxyConfig next) {
                    reload(next);
                }

                @Override
                public void rejected(Path file, ConfigException errors) {
                    ProxyServer.this.rejected(file, errors);
                }
            });
            fileSource.start();
        }
        KubernetesSettings settings = config.registry().kubernetes();
        if (settings != null) {
            kubernetes = KubernetesSources.start(settings, config.proxy().ingress(),
                    listeners.settings().node().nodeName(), registry);
        }
    }

    private void triggerSync() {
        // The first state is applied synchronously by start(); later ones go through the runner.
        if (applied != null) {
            syncRunner.trigger();
        }
    }

    /** The sync function: applies the registry's latest state (if new) and does the housekeeping. */
    private synchronized boolean sync() {
        if (shutdown) {
            // no state is applied while draining, but the deadlines of what was removed before still hold
            reconciler.sweep();
            return true;
        }
        List<BindException> failures = new java.util.ArrayList<>(applyCurrent());
        failures.addAll(ingress.bindMissing());
        reconciler.sweep();
        updateReadiness(failures);
        return failures.isEmpty();
    }

    private synchronized List<BindException> applyCurrent() {
        DesiredState state = registry.current();
        if (state == null || state == applied && reconciler.settled() && healthChecks.settled()) {
            return List.of();
        }
        DataPlaneSettings settings = DataPlaneSettings.of(state.config());
        // with registry.kubernetes this node's name is the one the mapping was started with (its Local endpoints,
        // terminating fallback and hints), so that the address rules and health check node ports agree with it
        KubernetesSources k = kubernetes;
        listeners.setSettings(k == null ? settings : settings.withNodeName(k.nodeName()));
        applyConnectionLog(state.config().proxy().connectionLog());
        // a health check port given up in this change is free when a nodePort takes it, and a nodePort given up is
        // free when the health checks bind theirs (after the Service ports)
        healthChecks.release(state.servicePorts(), listeners.settings().node());
        List<BindException> failures = new java.util.ArrayList<>(reconciler.apply(state.servicePorts(),
                state.config().proxy().drainTimeout()));
        for (BindException e : healthChecks.apply(state.servicePorts(), listeners.settings().node())) {
            log.error("Cannot serve health check node port: {}", e.getMessage());
            failures.add(e);
        }
        // after the Service ports: backends resolve to the ports now in force (named missing once the state is synced)
        ingress.apply(state.ingresses(), state.synced());
        applied = state;
        table.setVersion(state.version());
        return failures;
    }

    /** Turns the connection log on, off, or to another file, as {@code proxy.connectionLog} says now. */
    private void applyConnectionLog(Path file) {
        try {
            listeners.recorder().setFile(file);
        } catch (java.io.IOException e) {
            log.error("Connection log cannot be opened, the previous one (if any) goes on file={} error={}", file,
                    e.toString());
        }
    }

    /** Makes the connection log reopen its file by name (SIGHUP, after logrotate moved it). Any thread. */
    public void reopenConnectionLog() {
        listeners.recorder().reopen();
    }

    private void updateReadiness(List<BindException> failures) {
        table.setUnbound(failures.stream().map(BindException::getMessage).toList());
        DesiredState state = applied;
        table.setReady(!shutdown && state != null && state.synced() && failures.isEmpty()
                && table.keys().size() == state.servicePorts().size());
    }

    /**
     * Reads the config file again and applies it. An invalid file (or one read empty) is rejected whole: the errors
     * are logged, counted, and the config in force keeps serving. A config not read from a regular file is not read
     * again (see {@link #configNotReloaded}).
     *
     * @return whether the change was applied
     */
    public boolean reloadFromFile() {
        ConfigFileSource watched = fileSource;
        if (watched == null) {
            log.info("Reload skipped: {}", configNotReloaded());
            return false;
        }
        long before = table.version();
        watched.reloadNow();
        return table.version() != before;
    }

    /**
     * Why a reload does not read the config again, or {@code null} when it does: the config was read from a regular
     * file, which is watched. The standard input or a pipe was read once, to its end: read again it would be empty
     * (the writer gone), the empty config that unbinds every Service, or block for good (a FIFO).
     */
    public String configNotReloaded() {
        if (fileSource != null) {
            return null;
        }
        Path source = config.source();
        return source == null ? "the config is not reloaded: it was not read from a file"
                : "the config is not reloaded: it was read once, not from a regular file (the standard input or a "
                + "pipe: restart to change it) config=" + source;
    }

    /** Counts and logs a rejected config change; the config in force keeps serving. */
    void rejected(Path file, ConfigException e) {
        // one line: the errors themselves are logged one per line before it, by the watching config source
        log.error("Reload rejected file={} errors={} first={} (the last good config keeps serving)", file,
                e.errors().size(), e.errors().isEmpty() ? "" : e.errors().get(0));
        metrics.reload(false);
        table.setLastReload(new ReloadStatus(Instant.now(), false, e.getMessage()));
    }

    /**
     * svcproxy's own listeners with {@code config}'s Ingress: the admin server's is the one it started with, as
     * {@code proxy.admin} takes effect at restart.
     */
    private Map<InetSocketAddress, String> ownListeners(ProxyConfig config) {
        Map<InetSocketAddress, String> own = new java.util.LinkedHashMap<>(config.proxy().ownListeners());
        own.values().remove("proxy.admin");
        if (started.proxy().admin() != null) {
            own.put(started.proxy().admin(), "proxy.admin");
        }
        return own;
    }

    /** Applies a valid config by difference, within one sync. */
    public synchronized void reload(ProxyConfig next) {
        if (shutdown) {
            return;
        }
        if (next.equals(config)) {
            log.info("Reload: config unchanged file={}", next.source());
            ReloadStatus last = table.lastReload();
            if (last != null && !last.applied()) {
                // the file was fixed back to what is in force: the rejection it reported is over
                table.setLastReload(new ReloadStatus(Instant.now(), true, ""));
            }
            return;
        }
        ProxyConfig previous = config;
        RestartOnlyKeys.report(started, previous, next, kubernetes == null ? null : kubernetes.nodeName());
        if (kubernetes != null) {
            kubernetes.setSchedulers(previous, next);
        }
        config = next;
        // before its Service ports bind: the ports shared before and after, as the Ingress's listeners move only
        // after the Service ports (a Service at the port it leaves binds beside it), then those after
        Map<InetSocketAddress, String> sharedThrough = new java.util.LinkedHashMap<>(ownListeners(previous));
        sharedThrough.putAll(ownListeners(next));
        listeners.portSharing().configure(sharedThrough);
        registry.setConfig(next);
        List<BindException> failures = new java.util.ArrayList<>(applyCurrent());
        // after the routes of the new config
        failures.addAll(ingress.reconfigure(next.proxy().ingress(), next.proxy().connectTimeout()));
        listeners.portSharing().configure(ownListeners(next));
        if (kubernetes != null) {
            kubernetes.setListeners(previous, next);
        }
        updateReadiness(failures);
        metrics.reload(true);
        table.setLastReload(new ReloadStatus(Instant.now(), true, "")); // what it could not bind: unbound()
        log.info("Reload applied config={} version={} servicePorts={} bindFailures={}", next.source(),
                table.version(), table.keys().size(), failures.size());
        if (!failures.isEmpty()) {
            syncRunner.trigger();
        }
    }

    /** Returns the Service ports in force. */
    public ServiceTable table() {
        return table;
    }

    /** Returns the Ingress: its listeners, routing table and counts. */
    public IngressListeners ingress() {
        return ingress;
    }

    /** Returns the health check node ports served. */
    public HealthCheckNodePorts healthChecks() {
        return healthChecks;
    }

    /** Returns the data plane. */
    public ListenerManager listeners() {
        return listeners;
    }

    /** Returns the config in force. */
    public ProxyConfig config() {
        return config;
    }

    /** Returns the Prometheus registry holding every metric. */
    public PrometheusMeterRegistry meterRegistry() {
        return meterRegistry;
    }

    /** Returns the admin server's bound address, or {@code null} when it is disabled. */
    public InetSocketAddress adminAddress() {
        return admin == null ? null : admin.boundAddress();
    }

    /**
     * Stops gracefully: closes the listeners (new connections are refused), lets established connections
     * finish for up to {@code drainTimeout}, closes those left, then stops the admin server. Idempotent.
     */
    public void shutdown() {
        synchronized (this) {
            if (shutdown) {
                return;
            }
            shutdown = true;
        }
        try {
            // the sync runner goes on, sweeping only (sync), until close()
            table.setReady(false);
            if (kubernetes != null) {
                kubernetes.withdrawStatus(java.time.Duration.ofSeconds(5));
            }
            new Drain(table, listeners, ingress).run(config.proxy().drainTimeout());
        } finally {
            close(); // also when the drain failed: the process must not wait for a second signal
        }
    }

    /** Blocks until {@link #close()} ran. */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    /** Closes everything at once, without draining. Idempotent: a second call (a second signal) returns at once. */
    @Override
    public void close() {
        synchronized (this) {
            shutdown = true;
            if (closing) {
                return;
            }
            closing = true;
        }
        try {
            if (fileSource != null) {
                fileSource.close();
            }
            if (kubernetes != null) {
                kubernetes.close();
            }
            syncRunner.close();
            ingress.close();
            healthChecks.close();
            listeners.close();
            listeners.recorder().close(); // after the connections closed: their lines are queued by now
            clusterIps.close(); // after unbinding: removes the ClusterIPs it added
            if (admin != null) {
                admin.stop();
            }
            metrics.close();
        } finally {
            // before the count-down: the process may exit as soon as it is released
            log.info("Stopped");
            stopped.countDown();
        }
    }
}
