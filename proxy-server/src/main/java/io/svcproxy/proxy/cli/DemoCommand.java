package io.svcproxy.proxy.cli;

import io.svcproxy.config.ConfigException;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.proxy.dataplane.BindException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code demo}: three in-process HTTP backends on 127.0.0.21-23:8081 that answer with their own name, and a
 * Service {@code demo} at 127.0.10.1:8080 (scheduler rr) selecting them; runs until stopped. With {@code
 * --connection-log} it records its traffic, and {@code --write-config} writes its config as YAML, the two inputs
 * of {@code simulate}.
 */
@Command(name = "demo", description = "Run a self-contained demo: three backends behind the Service "
        + "127.0.10.1:8080.")
final class DemoCommand implements Callable<Integer> {
    static final String CLUSTER_IP = "127.0.10.1";
    static final int PORT = 8080;
    static final int BACKEND_PORT = 8081;
    static final List<String> BACKEND_IPS = List.of("127.0.0.21", "127.0.0.22", "127.0.0.23");

    @Spec
    CommandSpec spec;

    @Option(names = "--connection-log", paramLabel = "FILE",
            description = "Record one JSON line per ended connection (proxy.connectionLog), for simulate --trace.")
    Path connectionLog;

    @Option(names = "--write-config", paramLabel = "FILE",
            description = "Write the demo's config as YAML (for simulate --config) and go on.")
    Path writeConfig;

    @Override
    public Integer call() throws InterruptedException {
        Signals signals = Signals.install();
        signals.configRead(); // the demo has no config to read: a stop from now on stops it once started
        signals.loggingReady();
        return serve(signals, spec.commandLine().getOut(), spec.commandLine().getErr());
    }

    /** Serves the demo until a signal stops it ({@code signals}: as {@link RunCommand#serve} takes them). */
    int serve(Signals signals, PrintWriter out, PrintWriter err) throws InterruptedException {
        ProxyConfig config;
        try {
            config = connectionLog == null ? config() : configWith(connectionLog.toAbsolutePath());
        } catch (ConfigException e) {
            err.println("svcproxy demo: --connection-log " + connectionLog + ": expected a file svcproxy can write "
                    + "or create in an existing folder");
            err.flush();
            return ExitCodes.INVALID;
        }
        List<TestBackend> backends = new ArrayList<>();
        try {
            if (writeConfig != null) {
                Files.writeString(writeConfig, yaml(CLUSTER_IP, PORT, BACKEND_IPS, List.of(BACKEND_PORT,
                        BACKEND_PORT, BACKEND_PORT), null), StandardCharsets.UTF_8);
            }
            for (int i = 0; i < BACKEND_IPS.size(); i++) {
                backends.add(TestBackend.start(new InetSocketAddress(BACKEND_IPS.get(i), BACKEND_PORT),
                        "demo-" + (i + 1), TestBackend.Mode.HTTP));
            }
            Runnable instructions = () -> {
                out.println("svcproxy demo: Service default/demo at http://" + CLUSTER_IP + ":" + PORT
                        + "/ (scheduler rr) in front of demo-1, demo-2, demo-3 on "
                        + String.join(", ", BACKEND_IPS) + " port " + BACKEND_PORT);
                out.println("  try:   curl http://" + CLUSTER_IP + ":" + PORT
                        + "/   (again and again: the answer rotates)");
                InetSocketAddress admin = config.proxy().admin();
                out.println("  admin: http://" + admin.getHostString() + ":" + admin.getPort()
                        + "/   (/metrics, /api/v1/services, /healthz, /readyz)");
                if (connectionLog != null) {
                    out.println("  log:   " + connectionLog + "   (one line per ended connection)");
                }
                out.println("  stop:  Ctrl-C");
                out.flush();
            };
            return RunCommand.serve(signals, config, err, instructions);
        } catch (BindException e) {
            err.println("svcproxy: " + e.getMessage());
            err.flush();
            return ExitCodes.RUNTIME_FAILURE;
        } catch (IOException e) {
            err.println("svcproxy: cannot write " + writeConfig + ": " + e.getMessage());
            err.flush();
            return ExitCodes.INVALID;
        } finally {
            for (TestBackend backend : backends) {
                backend.close();
            }
        }
    }

    /**
     * Returns the demo's config as YAML: the Service {@code default/demo} (rr, port {@code http} to the Pods'
     * named port) and one Pod per backend, labelled {@code app: demo}. The demo serves exactly this text.
     *
     * @param backendPorts each backend's port, in the order of {@code backendIps}
     * @param connectionLog {@code proxy.connectionLog}, or {@code null} for none
     */
    static String yaml(String clusterIp, int port, List<String> backendIps, List<Integer> backendPorts,
                       Path connectionLog) {
        StringBuilder b = new StringBuilder();
        if (connectionLog != null) {
            // single-quoted: a path may hold " #", ": " or quotes, which a plain YAML scalar would cut or refuse
            b.append("proxy:\n  connectionLog: '").append(connectionLog.toString().replace("'", "''"))
                    .append("'\n");
        }
        b.append("services:\n")
                .append("  - name: demo\n")
                .append("    clusterIP: ").append(clusterIp).append('\n')
                .append("    selector: {app: demo}\n")
                .append("    scheduler: rr\n")
                .append("    ports: [{name: http, port: ").append(port).append(", targetPort: http}]\n")
                .append("pods:\n");
        for (int i = 0; i < backendIps.size(); i++) {
            b.append("  - {name: demo-").append(i + 1).append(", ip: ").append(backendIps.get(i))
                    .append(", labels: {app: demo}, ports: [{name: http, containerPort: ")
                    .append(backendPorts.get(i)).append("}]}\n");
        }
        return b.toString();
    }

    /** Returns the demo's config, built in code (no file to watch), with {@code connectionLog} or none. */
    static ProxyConfig config(Path connectionLog) {
        try {
            return configWith(connectionLog);
        } catch (ConfigException e) {
            throw new IllegalStateException("the demo's own config is invalid:\n" + e.getMessage(), e);
        }
    }

    /**
     * The demo's config with {@code connectionLog}, which the user chose: one the config refuses (a folder that
     * does not exist, a file that cannot be written or created) is the user's mistake, reported as such.
     */
    private static ProxyConfig configWith(Path connectionLog) throws ConfigException {
        ProxyConfig parsed = ConfigLoader.parse(yaml(CLUSTER_IP, PORT, BACKEND_IPS,
                List.of(BACKEND_PORT, BACKEND_PORT, BACKEND_PORT), connectionLog), "demo.yaml");
        return new ProxyConfig(null, parsed.proxy(), parsed.registry(), parsed.services(), parsed.pods(),
                parsed.ingresses());
    }

    /** Returns the demo's config without a connection log. */
    static ProxyConfig config() {
        return config(null);
    }
}
