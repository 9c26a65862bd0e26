package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.HealthCheckSpec;
import io.svcproxy.config.PortSpec;
import io.svcproxy.config.Protocol;
import io.svcproxy.config.ServiceKey;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.config.TargetPort;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A Service port that moves shares its endpoints' health with its successor: the predecessor's checker, stopped
 * with a check in flight, must leave the successor's checker able to check (found by helper-80's review: the
 * dropped check kept the shared in-flight flag set, so the endpoint was never checked again).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckerMoveTest {
    private static ServicePort port(String clusterIP, BackendState backend) throws Exception {
        InetAddress ip = InetAddress.getByName(clusterIP);
        PortSpec ps = new PortSpec("http", Protocol.TCP, 18146, TargetPort.of(backend.port()));
        HealthCheckSpec checks = new HealthCheckSpec(Duration.ofMillis(200), Duration.ofMillis(1000), 1, 1);
        ServiceSpec service = new ServiceSpec("hc", "default", ip, Map.of("app", "hc"), "rr", Set.of(),
                SessionAffinity.NONE, List.of(ps), List.of(), 0, 0, checks);
        ServicePortSpec spec = new ServicePortSpec(new ServiceKey(ip, 18146, Protocol.TCP), service, ps,
                List.of(EndpointTarget.ready(backend.address(), backend.port(), 1)));
        return new ServicePort(spec, BackendSet.of("rr", Set.of(), SessionAffinity.NONE, List.of(backend),
                System::nanoTime));
    }

    @Test
    void aPredecessorsCheckChecksInFlightWhenItStopsLeaveTheSuccessorChecking() throws Exception {
        EventLoopGroup group = new NioEventLoopGroup(1);
        List<Socket> fillers = new ArrayList<>();
        ServerSocket endpoint = new ServerSocket();
        HealthChecker successorChecks = null;
        try {
            // an endpoint whose accept queue is full: the kernel drops SYNs, a check's connect hangs until its timeout
            endpoint.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.46"), 0), 1);
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
            BackendState b = BackendState.of(endpoint.getInetAddress(), endpoint.getLocalPort(), 1);
            ServicePort predecessor = port("127.0.10.65", b);
            ServicePort successor = port("127.0.10.66", b.withWeight(1, BackendState.State.READY)); // its counters
            HealthChecker predecessorChecks = new HealthChecker(predecessor, group.next(), Transport.NIO).start();
            Thread.sleep(100); // its first check hangs on the full accept queue
            successorChecks = new HealthChecker(successor, group.next(), Transport.NIO).start();
            predecessorChecks.stop(); // the move: the predecessor unbound with its check in flight
            Thread.sleep(1200); // that check has timed out by now
            // the endpoint dies: every connect is refused, and the successor's checks must see it
            for (Socket s : fillers) {
                s.close();
            }
            endpoint.close();
            await().atMost(Duration.ofSeconds(10)).until(() -> b.counters().health().unhealthy());
        } finally {
            if (successorChecks != null) {
                successorChecks.stop();
            }
            for (Socket s : fillers) {
                s.close();
            }
            endpoint.close();
            group.shutdownGracefully(0, 100, TimeUnit.MILLISECONDS).sync();
        }
    }
}
