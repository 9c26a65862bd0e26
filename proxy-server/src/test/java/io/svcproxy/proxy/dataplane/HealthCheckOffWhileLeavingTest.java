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
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-98's review: HealthChecker.check's listener returns early when the checks were turned off while a check was in
 * flight ("wake() forgets the verdicts"), leaving the endpoint's in-flight flag set. wake() only clears the endpoints
 * still in the list; an endpoint that left the list in the same change (its Pod deleted in the reload that turned
 * the checks off) keeps the flag in its departed counters. When it comes back with checks on, startCheck() refuses
 * it forever: it is never checked again (and one that left unhealthy would stay at weight 0 for good).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckOffWhileLeavingTest {
    private static ServicePortSpec spec(int endpointPort, boolean withEndpoint, boolean checks) throws Exception {
        String endpoints = withEndpoint
                ? "[{ip: 127.0.0.208, port: " + endpointPort + "}, {ip: 127.0.0.209, port: " + endpointPort + "}]"
                : "[{ip: 127.0.0.209, port: " + endpointPort + "}]";
        return ServicePorts.resolve(ConfigLoader.parse("""
                services:
                  - name: hc
                    clusterIP: 127.0.10.209
                    ports: [{port: 46089}]
                    endpoints: %s
                %s""".formatted(endpoints,
                checks ? "    healthCheck: {interval: 200ms, timeout: 200ms, rise: 1, fall: 1}\n" : ""),
                "svcproxy.yaml")).get(0);
    }

    @Test
    void anEndpointThatLeftWhileChecksWereTurnedOffIsCheckedAgainWhenItComesBack() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        List<Socket> fillers = new ArrayList<>();
        ServerSocket endpoint = new ServerSocket();
        ServerSocket other = new ServerSocket();
        HealthChecker checker = null;
        try {
            // an endpoint whose accept queue is full: the kernel drops SYNs, a check's connect hangs until its timeout
            endpoint.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.208"), 0), 1);
            other.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.209"), endpoint.getLocalPort()), 50);
            for (int i = 0; i < 4; i++) {
                Socket s = new Socket();
                try {
                    s.connect(endpoint.getLocalSocketAddress(), 300);
                    fillers.add(s);
                } catch (SocketTimeoutException e) {
                    s.close();
                    break;
                }
            }
            int p = endpoint.getLocalPort();
            BackendState leaving = BackendState.of(InetAddress.getByName("127.0.0.208"), p, 1);
            BackendState staying = BackendState.of(InetAddress.getByName("127.0.0.209"), p, 1);
            ServicePort port = new ServicePort(spec(p, true, true), BackendSet.of("rr", Set.of(), SessionAffinity.NONE,
                    List.of(leaving, staying), System::nanoTime));
            checker = new HealthChecker(port, group.next(), Transport.NIO).start();
            Thread.sleep(50); // the first check of 127.0.0.208 hangs on the full accept queue
            // one reload: the endpoint left (no connection: it is not listed) and the checks are turned off
            port.update(spec(p, false, false), BackendSet.of("rr", Set.of(), SessionAffinity.NONE, List.of(staying),
                    System::nanoTime));
            checker.wake();
            Thread.sleep(600); // the hanging check timed out meanwhile
            // a later reload: the endpoint is back (its counters, as DepartedEndpoints keeps them) with checks on
            port.update(spec(p, true, true), BackendSet.of("rr", Set.of(), SessionAffinity.NONE,
                    List.of(leaving.withWeight(1, BackendState.State.READY), staying), System::nanoTime));
            checker.wake();
            // and it dies: every connect is refused, and the checks must see it
            for (Socket s : fillers) {
                s.close();
            }
            endpoint.close();
            await().atMost(Duration.ofSeconds(10)).until(() -> leaving.counters().health().unhealthy());
            assertThat(staying.counters().health().unhealthy()).isFalse();
        } finally {
            if (checker != null) {
                checker.stop();
            }
            for (Socket s : fillers) {
                s.close();
            }
            endpoint.close();
            other.close();
            group.shutdownGracefully(0, 100, TimeUnit.MILLISECONDS).sync();
        }
    }
}
