package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.SessionAffinity;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.OutlierDetection;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Two Service ports that list the same endpoints' health (a port that moved to another address, and its draining
 * predecessor, as the reconciler makes them) never eject the last endpoint in service between them, however their
 * event loops interleave.
 */
class SharedHealthEjectionTest {
    private static ServicePortSpec spec(String clusterIP) throws Exception {
        return ServicePorts.resolve(ConfigLoader.parse("services:\n  - name: web\n    clusterIP: " + clusterIP
                + "\n    ports: [{port: 80}]\n    endpoints: [{ip: 127.0.0.1}, {ip: 127.0.0.2}]\n",
                "svcproxy.yaml")).get(0);
    }

    @Test
    void twoPortsSharingTwoEndpointsNeverEjectBoth() throws Exception {
        ServicePortSpec before = spec("127.0.10.1");
        List<BackendState> shared = new ArrayList<>();
        for (EndpointTarget t : before.endpoints()) {
            shared.add(BackendState.of(t.ip(), t.port(), t.weight()));
        }
        ServicePort predecessor = new ServicePort(before, BackendSet.of("rr", Set.of(), SessionAffinity.NONE,
                shared, System::nanoTime));
        ServicePort moved = new ServicePort(spec("127.0.10.2"), BackendSet.of("rr", Set.of(), SessionAffinity.NONE,
                shared, System::nanoTime));
        OutlierDetection outlier = OutlierDetection.defaults();
        CyclicBarrier start = new CyclicBarrier(2);
        ExecutorService loops = Executors.newFixedThreadPool(2);
        Logger log = (Logger) LoggerFactory.getLogger(ServicePort.class);
        Level level = log.getLevel();
        log.setLevel(Level.ERROR); // an ejection's WARN, 400 times
        try {
            for (int round = 0; round < 400; round++) {
                shared.forEach(b -> b.counters().health().clearEjection());
                // each loop ejects "its" endpoint through its own port, both at once
                Future<?> one = loops.submit(() -> ejectAfter(start, predecessor, shared.get(0), outlier));
                Future<?> two = loops.submit(() -> ejectAfter(start, moved, shared.get(1), outlier));
                one.get(10, TimeUnit.SECONDS);
                two.get(10, TimeUnit.SECONDS);
                assertThat(shared).as("round %d: one endpoint stays in service", round)
                        .anyMatch(b -> !b.counters().health().ejected());
                assertThat(shared).as("round %d: the other is ejected", round)
                        .anyMatch(b -> b.counters().health().ejected());
            }
        } finally {
            log.setLevel(level);
            loops.shutdownNow();
        }
    }

    private static Void ejectAfter(CyclicBarrier start, ServicePort port, BackendState backend,
                                   OutlierDetection outlier) throws Exception {
        start.await(10, TimeUnit.SECONDS);
        port.maybeEject(backend, outlier.consecutiveFailures(), outlier, "");
        return null;
    }
}
