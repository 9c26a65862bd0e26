package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * From helper-98's review: a check still in flight when its endpoint leaves the list (its Pod deleted: it stops listening) is
 * still judged: with {@code fall: 1} HealthChecker logs "Endpoint unhealthy" (WARN) for an endpoint that is no
 * longer in the list, and stores the verdict in its departed counters, so a Pod that later gets the same address
 * starts unhealthy (weight 0 until {@code rise} checks pass) for a failure of its predecessor. Envoy drops a removed
 * host's check session; the in-flight result should be abandoned (as for a stopped checker) when the endpoint is
 * not in the port's list any more.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckResultAfterLeavingTest {
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
    void aCheckThatEndsAfterItsEndpointLeftDoesNotJudgeIt() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        List<Socket> fillers = new ArrayList<>();
        ServerSocket endpoint = new ServerSocket();
        ServerSocket other = new ServerSocket();
        HealthChecker checker = null;
        try {
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
            // its Pod is deleted: the endpoint leaves the list (no connection: not listed), checks stay on
            port.update(spec(p, false, true), BackendSet.of("rr", Set.of(), SessionAffinity.NONE, List.of(staying),
                    System::nanoTime));
            checker.wake();
            Thread.sleep(800); // the hanging check timed out meanwhile, and later rounds ran
            assertThat(leaving.counters().health().unhealthy())
                    .as("an endpoint judged by a check that ended after it left the list").isFalse();
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
