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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A check in flight when its endpoint leaves the list (from helper-98's review). The endpoint, 127.0.0.208, has a
 * full accept queue: the kernel drops its SYNs, so a check's connect hangs until its timeout, by which time the
 * endpoint has left; 127.0.0.209 stays.
 * <ul>
 *   <li>Its verdict is no one's: it ended after the endpoint left (its Pod deleted), and would stay with the
 *       counters kept for its return, so that a new Pod at the address started unhealthy.</li>
 *   <li>With the checks turned off by the same reload, its in-flight flag is given back: wake() clears the
 *       endpoints still listed only, and the endpoint, back later with checks on, was never checked again.</li>
 * </ul>
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthChecksOfLeavingEndpointsTest {
    private final List<Socket> fillers = new ArrayList<>();
    private final ServerSocket endpoint = new ServerSocket();
    private final ServerSocket other = new ServerSocket();
    private EventLoopGroup group;
    private HealthChecker checker;
    private BackendState leaving;
    private BackendState staying;

    HealthChecksOfLeavingEndpointsTest() throws Exception {
    }

    @BeforeEach
    void hangingEndpoint() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
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
        leaving = BackendState.of(InetAddress.getByName("127.0.0.208"), endpoint.getLocalPort(), 1);
        staying = BackendState.of(InetAddress.getByName("127.0.0.209"), endpoint.getLocalPort(), 1);
    }

    @AfterEach
    void close() throws Exception {
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

    private ServicePortSpec spec(boolean withLeaving, boolean checks) throws Exception {
        int p = endpoint.getLocalPort();
        String endpoints = withLeaving
                ? "[{ip: 127.0.0.208, port: " + p + "}, {ip: 127.0.0.209, port: " + p + "}]"
                : "[{ip: 127.0.0.209, port: " + p + "}]";
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

    private static BackendSet set(List<BackendState> backends) {
        return BackendSet.of("rr", Set.of(), SessionAffinity.NONE, backends, System::nanoTime);
    }

    /** The port with both endpoints and checks on, its first check of 127.0.0.208 hanging. */
    private ServicePort checkedPort() throws Exception {
        ServicePort port = new ServicePort(spec(true, true), set(List.of(leaving, staying)));
        checker = new HealthChecker(port, group.next(), Transport.NIO).start();
        Thread.sleep(50); // the first check of 127.0.0.208 hangs on the full accept queue
        return port;
    }

    @Test
    void aCheckThatEndsAfterItsEndpointLeftDoesNotJudgeIt() throws Exception {
        ServicePort port = checkedPort();
        // its Pod is deleted: the endpoint leaves the list (no connection: not listed), checks stay on
        port.update(spec(false, true), set(List.of(staying)));
        checker.wake();
        Thread.sleep(800); // the hanging check timed out meanwhile, and later rounds ran
        assertThat(leaving.counters().health().unhealthy())
                .as("an endpoint judged by a check that ended after it left the list").isFalse();
    }

    @Test
    void anEndpointThatLeftWhileChecksWereTurnedOffIsCheckedAgainWhenItComesBack() throws Exception {
        ServicePort port = checkedPort();
        // one reload: the endpoint left (no connection: it is not listed) and the checks are turned off
        port.update(spec(false, false), set(List.of(staying)));
        checker.wake();
        Thread.sleep(600); // the hanging check timed out meanwhile
        // a later reload: the endpoint is back (its counters, as DepartedEndpoints keeps them) with checks on
        port.update(spec(true, true), set(List.of(leaving.withWeight(1, BackendState.State.READY), staying)));
        checker.wake();
        // and it dies: every connect is refused, and the checks must see it
        for (Socket s : fillers) {
            s.close();
        }
        endpoint.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> leaving.counters().health().unhealthy());
        assertThat(staying.counters().health().unhealthy()).isFalse();
    }
}
