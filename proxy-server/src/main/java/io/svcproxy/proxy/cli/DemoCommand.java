package io.svcproxy.proxy.cli;

import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.PodSpec;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ProxySettings;
import io.svcproxy.config.RegistrySettings;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.config.TargetPort;
import io.svcproxy.proxy.dataplane.BindException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code demo}: three in-process HTTP backends on 127.0.0.21-23:8081 that answer with their own name, and a
 * Service {@code demo} at 127.0.10.1:8080 (scheduler rr) selecting them; runs until stopped.
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

    @Override
    public Integer call() throws InterruptedException {
        return serve(spec.commandLine().getOut(), spec.commandLine().getErr());
    }

    int serve(PrintWriter out, PrintWriter err) throws InterruptedException {
        List<TestBackend> backends = new ArrayList<>();
        try {
            for (int i = 0; i < BACKEND_IPS.size(); i++) {
                backends.add(TestBackend.start(new InetSocketAddress(BACKEND_IPS.get(i), BACKEND_PORT),
                        "demo-" + (i + 1), TestBackend.Mode.HTTP));
            }
            ProxyConfig config = config();
            Runnable instructions = () -> {
                out.println("svcproxy demo: Service default/demo at http://" + CLUSTER_IP + ":" + PORT
                        + "/ (scheduler rr) in front of demo-1, demo-2, demo-3 on "
                        + String.join(", ", BACKEND_IPS) + " port " + BACKEND_PORT);
                out.println("  try:   curl http://" + CLUSTER_IP + ":" + PORT
                        + "/   (again and again: the answer rotates)");
                InetSocketAddress admin = config.proxy().admin();
                out.println("  admin: http://" + admin.getHostString() + ":" + admin.getPort()
                        + "/   (/metrics, /api/v1/services, /healthz, /readyz)");
                out.println("  stop:  Ctrl-C");
                out.flush();
            };
            return RunCommand.serve(config, err, instructions);
        } catch (BindException e) {
            err.println("svcproxy: " + e.getMessage());
            err.flush();
            return ExitCodes.RUNTIME_FAILURE;
        } finally {
            for (TestBackend backend : backends) {
                backend.close();
            }
        }
    }

    /** Returns the demo's config: the Service and its three Pods. */
    static ProxyConfig config() {
        try {
            List<PodSpec> pods = new ArrayList<>();
            for (int i = 0; i < BACKEND_IPS.size(); i++) {
                pods.add(new PodSpec("demo-" + (i + 1), "default", InetAddress.getByName(BACKEND_IPS.get(i)),
                        Map.of("app", "demo"), true, 1, Map.of("http", BACKEND_PORT)));
            }
            ServiceSpec service = new ServiceSpec("demo", "default", InetAddress.getByName(CLUSTER_IP),
                    Map.of("app", "demo"), "rr", Set.of(), SessionAffinity.NONE,
                    List.of(new PortSpec("http", Protocol.TCP, PORT, TargetPort.named("http"))), List.of());
            return new ProxyConfig(null, ProxySettings.defaults(), RegistrySettings.none(), List.of(service), pods);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
