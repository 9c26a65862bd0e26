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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * From helper-98's review: {@code maxEjectionPercent} is a share of the endpoints that take traffic, "not draining, not at weight 0"
 * (docs/operations.md, limits table). An endpoint quiesced with {@code weight: 0} in the config that also fails its
 * active checks is published as {@code UNHEALTHY} with weight 0, and ServicePort.decideEjection counts it as serving
 * (state UNHEALTHY), which inflates the denominator and lets more of the real serving endpoints be ejected.
 */
class EjectionShareWeightZeroTest {
    @Test
    void weightZeroEndpointsFailingTheirChecksDoNotWidenTheEjectionShare() throws Exception {
        ServicePortSpec spec = ServicePorts.resolve(ConfigLoader.parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.200
                    ports: [{port: 46080}]
                    endpoints:
                      - {ip: 127.0.0.200}
                      - {ip: 127.0.0.201}
                      - {ip: 127.0.0.202}
                      - {ip: 127.0.0.203, weight: 0}
                      - {ip: 127.0.0.204, weight: 0}
                """, "svcproxy.yaml")).get(0);
        List<BackendState> list = new ArrayList<>();
        for (EndpointTarget t : spec.endpoints()) {
            BackendState b = BackendState.of(t.ip(), t.port(), t.weight());
            if (t.weight() == 0) {
                // quiesced by the operator, and down: its checks fail, the reconciler publishes it UNHEALTHY, weight 0
                b.counters().health().checkResult(false, 1, 1);
                b = b.outOfService(0, BackendState.State.UNHEALTHY);
            }
            list.add(b);
        }
        ServicePort port = new ServicePort(spec, BackendSet.of("rr", Set.of(), SessionAffinity.NONE, list,
                System::nanoTime));
        OutlierDetection outlier = new OutlierDetection(5, Duration.ofSeconds(10), Duration.ofMinutes(5), 50);
        Logger log = (Logger) LoggerFactory.getLogger(ServicePort.class);
        Level level = log.getLevel();
        log.setLevel(Level.ERROR); // the ejection's WARN is expected here
        try {
            port.maybeEject(list.get(0), 5, outlier, "");
            assertThat(list.get(0).counters().health().ejected()).as("the first ejection is always allowed").isTrue();
            port.maybeEject(list.get(1), 5, outlier, "");
        } finally {
            log.setLevel(level);
        }
        // 3 endpoints take traffic; a second ejection would be 2/3 = 67% > maxEjectionPercent 50
        assertThat(list.get(1).counters().health().ejected())
                .as("two of the three serving endpoints ejected under maxEjectionPercent 50").isFalse();
    }
}
