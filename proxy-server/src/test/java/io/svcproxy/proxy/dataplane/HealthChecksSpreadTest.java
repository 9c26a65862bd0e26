package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The active checks of a port's endpoints are spread over their interval, as HAProxy spreads its servers' checks
 * ({@code start_check_task}: the first at {@code inter * srvpos / nbcheck}, then every {@code inter}), not a burst
 * of connects to every endpoint at the same instant each interval (helper-151: every endpoint of a port, and every
 * port, was checked in one round). Endpoints on 127.0.151.x, ClusterIP 127.0.10.151.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthChecksSpreadTest {
    private static final int ENDPOINTS = 6;
    private static final Duration HOUR = Duration.ofHours(1);

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final List<ServerSocket> endpoints = new ArrayList<>();
    private HealthChecker checker;

    @AfterEach
    void close() throws Exception {
        if (checker != null) {
            checker.stop();
        }
        for (ServerSocket s : endpoints) {
            s.close();
        }
        group.shutdownGracefully(0, 100, TimeUnit.MILLISECONDS).sync();
    }

    private static ServicePortSpec spec(List<String> ips, int port, String interval, boolean checks)
            throws Exception {
        StringBuilder eps = new StringBuilder();
        for (String ip : ips) {
            eps.append(eps.isEmpty() ? "" : ", ").append("{ip: ").append(ip).append(", port: ").append(port).append('}');
        }
        return ServicePorts.resolve(ConfigLoader.parse("""
                services:
                  - name: spread
                    clusterIP: 127.0.10.151
                    ports: [{port: 46151}]
                    endpoints: [%s]
                %s""".formatted(eps, checks
                ? "    healthCheck: {interval: " + interval + ", timeout: 1s, rise: 1, fall: 3}\n" : ""),
                "svcproxy.yaml")).get(0);
    }

    private static BackendSet set(List<BackendState> backends) {
        return BackendSet.of("rr", Set.of(), SessionAffinity.NONE, backends, System::nanoTime);
    }

    @Test
    void theChecksOfAPortsEndpointsDoNotAllConnectAtTheSameInstant() throws Exception {
        Map<String, Long> firstCheck = new ConcurrentHashMap<>();
        List<String> ips = new ArrayList<>();
        List<BackendState> backends = new ArrayList<>();
        int port = 0;
        for (int i = 1; i <= ENDPOINTS; i++) {
            String ip = "127.0.151." + i;
            ServerSocket s = new ServerSocket();
            s.bind(new InetSocketAddress(InetAddress.getByName(ip), port), 50);
            port = s.getLocalPort();
            endpoints.add(s);
            ips.add(ip);
            backends.add(BackendState.of(InetAddress.getByName(ip), port, 1));
            Thread acceptor = new Thread(() -> {
                while (!s.isClosed()) {
                    try (Socket check = s.accept()) {
                        firstCheck.putIfAbsent(ip, System.nanoTime());
                    } catch (IOException e) {
                        return; // closed by the test's end
                    }
                }
            }, "endpoint-" + ip);
            acceptor.setDaemon(true);
            acceptor.start();
        }
        ServicePort servicePort = new ServicePort(spec(ips, port, "3s", true), set(backends));
        checker = new HealthChecker(servicePort, group.next(), Transport.NIO).start();
        await().atMost(Duration.ofSeconds(20)).until(() -> firstCheck.size() == ENDPOINTS);
        long first = firstCheck.values().stream().mapToLong(Long::longValue).min().orElseThrow();
        long last = firstCheck.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        Map<String, Long> millisAfterFirst = new java.util.TreeMap<>();
        firstCheck.forEach((ip, at) -> millisAfterFirst.put(ip, TimeUnit.NANOSECONDS.toMillis(at - first)));
        // spread over the 3 s interval: not all within one second of each other (they were within a few ms)
        assertThat(TimeUnit.NANOSECONDS.toMillis(last - first))
                .as("ms from the first endpoint's first check to the last one's: %s", millisAfterFirst)
                .isGreaterThanOrEqualTo(1000);
        assertThat(backends).allSatisfy(b -> assertThat(b.counters().health().checkFailures()).isZero());
    }

    /**
     * The offsets, read from the checker's timers with an interval of an hour (no check but the first endpoint's is
     * due during the test): spread, kept when the list changes, a re-added endpoint due within one interval, a
     * shorter interval in force at once without gathering the checks, and no timer with the checks off.
     */
    @Test
    void eachEndpointKeepsItsOffsetAcrossChangesOfTheListAndTheInterval() throws Exception {
        List<String> ips = new ArrayList<>();
        List<BackendState> backends = new ArrayList<>();
        for (int i = 11; i < 19; i++) {
            ips.add("127.0.151." + i); // nothing listens: the one check that runs is refused, below fall
            backends.add(BackendState.of(InetAddress.getByName("127.0.151." + i), 46152, 1));
        }
        ServicePort port = new ServicePort(spec(ips, 46152, "1h", true), set(backends));
        checker = new HealthChecker(port, group.next(), Transport.NIO).start();
        Map<String, Long> start = checker.nextChecks();
        assertThat(start).hasSize(8);
        assertSpread(start, HOUR);

        // one endpoint leaves: no timer for it, the others' stay where they were
        List<String> without = new ArrayList<>(ips);
        without.remove(4);
        List<BackendState> rest = new ArrayList<>(backends);
        BackendState leaving = rest.remove(4);
        port.update(spec(without, 46152, "1h", true), set(rest));
        checker.wake();
        Map<String, Long> afterLeave = checker.nextChecks();
        assertThat(afterLeave).doesNotContainKey(leaving.endpoint()).hasSize(7);
        for (BackendState b : rest.subList(1, rest.size())) {
            assertThat(afterLeave.get(b.endpoint())).as(b.endpoint())
                    .isCloseTo(start.get(b.endpoint()), org.assertj.core.data.Offset.offset(60_000L));
        }

        // it comes back (its counters kept): checked again, within one interval
        port.update(spec(ips, 46152, "1h", true), set(backends.stream()
                .map(b -> b == leaving ? b.withWeight(1, BackendState.State.READY) : b).toList()));
        checker.wake();
        Map<String, Long> back = checker.nextChecks();
        assertThat(back).hasSize(8);
        assertThat(back.get(leaving.endpoint())).isBetween(0L, HOUR.toMillis());
        assertSpread(back, HOUR);

        // a reload to ten minutes: every next check within ten minutes at once, still spread over them
        Duration ten = Duration.ofMinutes(10);
        port.update(spec(ips, 46152, "10m", true), port.backendSet());
        checker.wake();
        Map<String, Long> shorter = checker.nextChecks();
        assertThat(shorter.values()).allSatisfy(d -> assertThat(d).isBetween(-1L, ten.toMillis()));
        assertSpread(shorter, ten);

        // checks off: no timer left
        port.update(spec(ips, 46152, "10m", false), port.backendSet());
        checker.wake();
        assertThat(checker.nextChecks()).isEmpty();
    }

    /** No two endpoints' next checks closer than a quarter of an even share of the interval. */
    private static void assertSpread(Map<String, Long> delays, Duration interval) {
        List<Long> sorted = delays.values().stream().sorted().toList();
        long minGap = interval.toMillis() / (4L * delays.size());
        for (int i = 1; i < sorted.size(); i++) {
            assertThat(sorted.get(i) - sorted.get(i - 1)).as("gap between next checks, ms: %s", delays)
                    .isGreaterThanOrEqualTo(minGap);
        }
    }
}
