package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import java.io.Closeable;
import java.io.FileInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-98's review: a check whose socket svcproxy itself cannot open (EMFILE: no descriptor left) says nothing about the
 * endpoint. The relay (FrontendHandler: "the proxy's own failure, not the endpoint's", refused as fd_limit) and the
 * Ingress (Exchange reports it, ConnectErrors counts it as reason local) do not count it against the endpoint;
 * HealthChecker does (Bootstrap.connect returns a failed future with a ChannelException, read as a failed check), so at the
 * descriptor limit every checked endpoint turns unhealthy with a WARN each and must then pass {@code rise} checks.
 *
 * <p>Lowers this JVM's soft RLIMIT_NOFILE with prlimit(1) for a moment (the hard limit is untouched, and the soft
 * one is restored in {@code finally}).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckOwnSocketFailureTest {
    private static long openFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static void setSoftNofile(long soft) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(ProcessHandle.current().pid()),
                "--nofile=" + soft + ":").inheritIO().start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
    }

    private static long softNofile() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                return Long.parseLong(line.substring(26).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException("no Max open files in /proc/self/limits");
    }

    private static ServicePort port(int endpointPort, String clusterIP, String endpointIp) throws Exception {
        ServicePortSpec spec = ServicePorts.resolve(ConfigLoader.parse("""
                services:
                  - name: fd
                    clusterIP: %s
                    ports: [{port: 46086}]
                    endpoints: [{ip: %s, port: %d}]
                    healthCheck: {interval: 5s, timeout: 1s, rise: 1, fall: 1}
                """.formatted(clusterIP, endpointIp, endpointPort), "svcproxy.yaml")).get(0);
        List<BackendState> list = new ArrayList<>();
        for (EndpointTarget t : spec.endpoints()) {
            list.add(BackendState.of(t.ip(), t.port(), t.weight()));
        }
        return new ServicePort(spec, BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list, System::nanoTime));
    }

    @Test
    void aCheckSvcproxyCouldNotOpenASocketForDoesNotCountAgainstTheEndpoint() throws Exception {
        assertThat(Files.isExecutable(Path.of("/usr/bin/prlimit")) || Files.isExecutable(Path.of("/bin/prlimit")))
                .as("prlimit(1) (util-linux) is needed").isTrue();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        group.next().submit(() -> { }).sync();
        HealthChecker checker = null;
        long original = softNofile();
        List<Closeable> fillers = new ArrayList<>();
        try (ServerSocket endpoint = new ServerSocket()) {
            endpoint.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.206"), 0), 50);
            // warm-up (loads every class of both outcomes while descriptors are plenty): a check that passes and one
            // that is refused, on ports and endpoints of their own
            ServicePort passing = port(endpoint.getLocalPort(), "127.0.10.207", "127.0.0.206");
            int closedPort;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.207"))) {
                closedPort = s.getLocalPort();
            }
            ServicePort refused = port(closedPort, "127.0.10.208", "127.0.0.207");
            HealthChecker warm1 = new HealthChecker(passing, group.next(), Transport.NIO).start();
            HealthChecker warm2 = new HealthChecker(refused, group.next(), Transport.NIO).start();
            for (int i = 0; i < 100 && !refused.backendSet().backends().get(0).counters().health().unhealthy(); i++) {
                Thread.sleep(50);
            }
            warm1.stop();
            warm2.stop();
            group.next().submit(() -> { }).sync();
            ServicePort port = port(endpoint.getLocalPort(), "127.0.10.206", "127.0.0.206");
            BackendState backend = port.backendSet().backends().get(0);
            setSoftNofile(openFds() + 16);
            // use up what is left: the checker's socket(2) fails with EMFILE
            for (int i = 0; i < 256; i++) {
                try {
                    fillers.add(new FileInputStream("/dev/null"));
                } catch (IOException e) {
                    break;
                }
            }
            checker = new HealthChecker(port, group.next(), Transport.NIO).start();
            // the first round runs at once; give it a moment on its loop (bounded)
            group.next().schedule(() -> { }, 500, TimeUnit.MILLISECONDS).sync();
            boolean unhealthy = backend.counters().health().unhealthy();
            int failedChecks = backend.counters().health().checkFailures();
            for (Closeable c : fillers) {
                c.close();
            }
            fillers.clear();
            setSoftNofile(original);
            assertThat(unhealthy).as("the endpoint (listening all along) read unhealthy").isFalse();
            assertThat(failedChecks).as("failed checks counted against the endpoint").isZero();
        } finally {
            for (Closeable c : fillers) {
                c.close();
            }
            if (softNofile() != original) {
                setSoftNofile(original);
            }
            if (checker != null) {
                checker.stop();
            }
            group.shutdownGracefully(0, 100, TimeUnit.MILLISECONDS).sync();
        }
    }
}
