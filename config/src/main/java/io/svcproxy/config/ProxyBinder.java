package io.svcproxy.config;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;

/** Binds the {@code proxy:} section of a config file. */
final class ProxyBinder extends BinderSupport {
    static final List<String> PROXY = List.of("scheduler", "admin", "connectTimeout", "connectAttempts",
            "idleTimeout", "drainTimeout", "vipInterface", "outlierDetection", "maxConnections", "connectQueue",
            "fdGuard", "udpIdleTimeout", "maxUdpFlows", "nodeAddresses", "nodePortRange", "nodeName", "ingress",
            "connectionLog", "transport");
    static final List<String> OUTLIER_DETECTION = List.of("consecutiveFailures", "baseEjectionTime",
            "maxEjectionTime", "maxEjectionPercent");
    static final List<String> FD_GUARD = List.of("pausePercent", "resumePercent");

    /** The settings bound: the defaults until {@link #bindProxy} ran. */
    ProxySettings proxy = ProxySettings.defaults();
    /** False when {@code proxy.scheduler} was given but is not valid (Services then do not inherit it). */
    boolean defaultSchedulerValid = true;
    /**
     * False when {@code proxy.nodePortRange} was given but is not valid: the nodePorts are then not checked against
     * the default range put in its place ({@link ExposureBinder#nodePortRangeValid}).
     */
    boolean nodePortRangeValid = true;

    /** Where {@code connectionLog} is written, when it names a file; for the check against the watched files. */
    Node connectionLogNode;
    /** The config file's folder, against which a relative {@code connectionLog} is resolved; may be null. */
    private final Path base;
    /** Whether the files only a running proxy opens are checked here ({@link ConfigLoader#loadAsWritten}: not). */
    private final boolean runtimeFiles;

    ProxyBinder(Problems p, Path base) {
        this(p, base, true);
    }

    ProxyBinder(Problems p, Path base, boolean runtimeFiles) {
        super(p);
        this.base = base;
        this.runtimeFiles = runtimeFiles;
    }

    void bindProxy(Node node) {
        MappingNode map = Values.map(node, "proxy", "a map of " + String.join(", ", PROXY), p);
        if (map == null) {
            return;
        }
        Fields f = new Fields(map, "proxy", p, PROXY);
        ProxySettings d = ProxySettings.defaults();
        String scheduler = d.scheduler();
        if (f.has("scheduler")) {
            scheduler = scheduler(f.value("scheduler"), f.child("scheduler"));
            if (scheduler == null) {
                defaultSchedulerValid = false;
                scheduler = d.scheduler();
            }
        }
        InetSocketAddress admin = d.admin();
        if (f.has("admin")) {
            admin = admin(f.value("admin"), f.child("admin"), d.admin());
        }
        Duration connectTimeout = orDefault(f, "connectTimeout", Duration.ofMillis(1), Duration.ofHours(1),
                "1ms..1h", d.connectTimeout());
        int connectAttempts = d.connectAttempts();
        if (f.has("connectAttempts")) {
            Integer n = Values.integer(f.value("connectAttempts"), f.child("connectAttempts"), 1, 100, p);
            connectAttempts = n == null ? connectAttempts : n;
        }
        Duration idleTimeout = orDefault(f, "idleTimeout", Duration.ofMillis(1), MAX_TIMEOUT, "1ms..8760h",
                d.idleTimeout());
        Duration drainTimeout = orDefault(f, "drainTimeout", Duration.ZERO, MAX_TIMEOUT, "0s..8760h",
                d.drainTimeout());
        String vipInterface = d.vipInterface();
        if (f.has("vipInterface")) {
            String expected = "an interface name: at most 15 of [A-Za-z0-9_.-], or \"\" for none";
            String v = Values.text(f.value("vipInterface"), f.child("vipInterface"), expected, p);
            if (v != null && !v.isEmpty() && (!v.matches("[A-Za-z0-9_.-]{1,15}") || v.equals(".")
                    || v.equals(".."))) {
                Values.wrong(p, f.value("vipInterface"), f.child("vipInterface"), expected);
            } else if (v != null) {
                vipInterface = v;
            }
        }
        OutlierDetection outlier = f.has("outlierDetection")
                ? outlierDetection(f.value("outlierDetection"), f.child("outlierDetection"))
                : OutlierDetection.defaults();
        ProxyLimits dl = ProxyLimits.defaults();
        int maxConnections = integerOr(f, "maxConnections", 0, 10_000_000, dl.maxConnections());
        int connectQueue = integerOr(f, "connectQueue", 1, 1_000_000, dl.connectQueue());
        int pause = dl.fdPausePercent();
        int resume = dl.fdResumePercent();
        if (f.has("fdGuard")) {
            MappingNode guard = Values.map(f.value("fdGuard"), f.child("fdGuard"),
                    "a map of " + String.join(", ", FD_GUARD), p);
            if (guard != null) {
                Fields g = new Fields(guard, f.child("fdGuard"), p, FD_GUARD);
                pause = integerOr(g, "pausePercent", 2, 100, pause);
                // unwritten, it keeps the default's distance below the pause: pausePercent 50 alone resumes below 40
                int resumeDefault = Math.max(1, Math.min(resume, pause - (dl.fdPausePercent() - dl.fdResumePercent())));
                resume = integerOr(g, "resumePercent", 1, 99, resumeDefault);
                if (resume >= pause) {
                    Node at = g.has("resumePercent") ? g.value("resumePercent") : g.missingAt("pausePercent");
                    p.at(at, g.child("resumePercent"), Values.label(g.child("resumePercent")) + ": " + resume
                            + " (expected: below pausePercent " + pause + ")");
                }
            }
        }
        UdpSettings du = UdpSettings.defaults();
        Duration udpIdleTimeout = orDefault(f, "udpIdleTimeout", Duration.ofMillis(10), Duration.ofHours(24),
                "10ms..24h", du.idleTimeout());
        int maxUdpFlows = integerOr(f, "maxUdpFlows", 1, 10_000_000, du.maxFlows());
        ExposureBinder nodeBinder = new ExposureBinder(p);
        NodeSettings nodeSettings = nodeBinder.node(f);
        nodePortRangeValid = nodeBinder.nodePortRangeValid;
        IngressSettings ingress = f.has("ingress")
                ? new IngressBinder(p, null).bindSettings(f.value("ingress"), f.child("ingress"))
                : IngressSettings.defaults();
        if (f.has("ingress") && admin != null) {
            checkNotAdmin(admin, ingress.http(), f.value("ingress"), f.child("ingress"), "http");
            checkNotAdmin(admin, ingress.https(), f.value("ingress"), f.child("ingress"), "https");
        }
        Path connectionLog = f.has("connectionLog") ? connectionLog(f.value("connectionLog"), f.child("connectionLog"))
                : null;
        connectionLogNode = connectionLog == null ? null : f.value("connectionLog");
        TransportChoice transport = f.has("transport") ? transport(f.value("transport"), f.child("transport"))
                : TransportChoice.AUTO;
        proxy = new ProxySettings(scheduler, admin, connectTimeout, connectAttempts, idleTimeout, drainTimeout,
                vipInterface, outlier, new ProxyLimits(maxConnections, connectQueue, pause, resume),
                new UdpSettings(udpIdleTimeout, maxUdpFlows), nodeSettings, ingress, connectionLog, transport);
    }

    /** Returns the transport named at {@code node}; {@code auto} (and an error) for anything else. */
    TransportChoice transport(Node node, String path) {
        String expected = "one of " + TransportChoice.names();
        String v = Values.text(node, path, expected, p);
        if (v == null) {
            return TransportChoice.AUTO;
        }
        TransportChoice choice = TransportChoice.of(v);
        if (choice == null) {
            Values.wrong(p, node, path, expected);
            return TransportChoice.AUTO;
        }
        return choice;
    }

    /**
     * Returns the connection log's file, or {@code null} for {@code off} (or any YAML false). The file's folder
     * must exist and the file must not be a folder; a file that exists must be writable, and one that does not
     * must be creatable (its folder writable), so that a file that cannot be written is rejected with its line
     * (by validate, by run before it serves, by a reload) rather than failing later. Writable is access(2)'s
     * answer for this process (its user, groups and capabilities). A file that is not a regular one (a named pipe,
     * {@code /dev/stdout}) is accepted when writable: the log opens it without waiting for its reader.
     */
    Path connectionLog(Node node, String path) {
        String expected = "a file svcproxy can write or create in an existing folder, or off";
        if (node instanceof ScalarNode s && (node.getTag().equals(Tag.BOOL) || s.getValue().equalsIgnoreCase("off"))) {
            String lower = s.getValue().toLowerCase(Locale.ROOT);
            if (!(lower.equals("off") || lower.equals("false") || lower.equals("no") || lower.equals("n"))) {
                Values.wrong(p, node, path, expected);
            }
            return null;
        }
        Path file = Values.path(node, path, base, p);
        if (file == null) {
            return null;
        }
        Path folder = file.toAbsolutePath().getParent();
        if (runtimeFiles && (Files.isDirectory(file) || folder == null || !Files.isDirectory(folder)
                || !(Files.exists(file) ? Files.isWritable(file) : Files.isWritable(folder)))) {
            Values.wrong(p, node, path, expected);
            return null;
        }
        return file;
    }

    OutlierDetection outlierDetection(Node node, String path) {
        OutlierDetection d = OutlierDetection.defaults();
        MappingNode map = Values.map(node, path, "a map of " + String.join(", ", OUTLIER_DETECTION), p);
        if (map == null) {
            return d;
        }
        Fields f = new Fields(map, path, p, OUTLIER_DETECTION);
        int failures = integerOr(f, "consecutiveFailures", 0, 1000, d.consecutiveFailures());
        Duration base = orDefault(f, "baseEjectionTime", Duration.ofMillis(100), Duration.ofHours(24), "100ms..24h",
                d.baseEjectionTime());
        // unwritten, the maximum is at least the base (Envoy's max_ejection_time: 300s or base_ejection_time,
        // whichever is larger): `baseEjectionTime: 10m` alone was refused for the default maximum of 5m
        Duration max = orDefault(f, "maxEjectionTime", Duration.ofMillis(100), Duration.ofHours(24), "100ms..24h",
                d.maxEjectionTime().compareTo(base) < 0 ? base : d.maxEjectionTime());
        if (max.compareTo(base) < 0) {
            Node at = f.has("maxEjectionTime") ? f.value("maxEjectionTime") : f.missingAt("baseEjectionTime");
            p.at(at, f.child("maxEjectionTime"), Values.label(f.child("maxEjectionTime")) + ": "
                    + Durations.format(max) + " (expected: at least baseEjectionTime " + Durations.format(base) + ")");
        }
        int percent = integerOr(f, "maxEjectionPercent", 0, 100, d.maxEjectionPercent());
        return new OutlierDetection(failures, base, max, percent);
    }

    /**
     * Refuses an Ingress listener where the admin server listens: the same port at the same address, or at any
     * address when either binds every address (port 0, a free port each, never clashes).
     */
    private void checkNotAdmin(InetSocketAddress admin, InetSocketAddress listener, Node ingress, String path,
                               String key) {
        if (listener != null && listener.getPort() != 0
                && Addresses.takes(admin, listener.getAddress(), listener.getPort())) {
            Node at = Values.valueOf(ingress, key);
            p.at(at == null ? ingress : at, path + "." + key, path + "." + key + ": "
                    + Addresses.format(listener.getAddress(), listener.getPort()) + " (expected: an address where "
                    + "svcproxy does not listen already; proxy.admin is "
                    + Addresses.format(admin.getAddress(), admin.getPort()) + ")");
        }
    }

    /** Returns the admin address; {@code off} or {@code false} (any YAML false) disable it ({@code null}). */
    InetSocketAddress admin(Node node, String path, InetSocketAddress dflt) {
        String expected = "IP:PORT, such as 127.0.0.1:9901 or [::1]:9901, or off";
        if (!(node instanceof ScalarNode s)) {
            Values.wrong(p, node, path, expected);
            return dflt;
        }
        String v = s.getValue();
        if (node.getTag().equals(Tag.BOOL) || v.equalsIgnoreCase("off") || v.equalsIgnoreCase("false")) {
            String lower = v.toLowerCase(Locale.ROOT);
            if (lower.equals("off") || lower.equals("false") || lower.equals("no") || lower.equals("n")) {
                return null;
            }
            Values.wrong(p, node, path, expected);
            return dflt;
        }
        try {
            return Addresses.parseSocketAddress(v);
        } catch (IllegalArgumentException e) {
            Values.wrong(p, node, path, expected);
            return dflt;
        }
    }
}
