package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * From helper-106's review. Two Pods selected by one Service at the same IP and target port are one endpoint: svcproxy kept the first and
 * dropped the second with its weight and readiness, silently (seen live: p2 not ready and p3 ready with weight 3 at
 * 127.0.0.221:44001 gave one "not ready" endpoint, and no traffic went to 127.0.0.221). An explicit endpoint written
 * twice is refused for exactly this reason ("one of them would be dropped, and its weight").
 */
class DuplicatePodAddressTest {

    @Test
    void twoSelectedPodsAtOneAddressAndTargetPortAreRefusedNotMerged() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.216
                    ports: [{name: http, port: 44000, targetPort: http}]
                    selector: {app: web}
                pods:
                  - {name: p2, ip: 127.0.0.221, ready: false, labels: {app: web}, ports: [{name: http, containerPort: 44001}]}
                  - {name: p3, ip: 127.0.0.221, labels: {app: web}, ports: [{name: http, containerPort: 44001}], weight: 3}
                """)).singleElement().asString().startsWith("svcproxy.yaml:8:");
    }
}
