package io.svcproxy.proxy.admin;

import static io.svcproxy.proxy.metrics.ServicePortFixtures.backend;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.notReady;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.servicePort;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.Protocol;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * From helper-110's review: SPEC.md ("UDP Service ports") gives every endpoint of a UDP port in {@code
 * /api/v1/services} its {@code flows}, and docs/operations.md ("Reading the health and the metrics") every endpoint
 * its {@code consecutiveFailures}, {@code ejections} and {@code failedChecks}; the entries of not-ready endpoints
 * (listed when no endpoint of the port is ready, kube-proxy's fallback) have none of them. Seen on the real product: a
 * Service whose Pods all turned not ready listed {@code {"state": "not ready", ..., "connectFailures": 6}} for an
 * endpoint ejected three times, without {@code ejections}.
 */
class NotReadyEndpointFieldsTest {
    @Test
    void notReadyEndpointsOfAUdpPortHaveEveryPerEndpointField() throws Exception {
        BackendState ready = backend("127.0.0.11", 8080, 1);
        ServicePort dns = servicePort("default", "dns", "127.0.10.53", 53, "dns", Protocol.UDP, "rr",
                List.of(ready), List.of(notReady("127.0.0.12", 8080)));
        ServiceTable table = new ServiceTable();
        table.put(dns);

        JsonNode endpoints = new ObjectMapper().readTree(new ServicesJson().render(table))
                .get("services").get(0).get("endpoints");

        assertThat(endpoints).hasSize(2);
        JsonNode readyEntry = endpoints.get(0);
        JsonNode notReadyEntry = endpoints.get(1);
        assertThat(notReadyEntry.get("state").asText()).isEqualTo("not ready");
        for (String field : List.of("flows", "consecutiveFailures", "ejections", "failedChecks")) {
            assertThat(readyEntry.has(field)).as("ready entry has %s", field).isTrue();
            assertThat(notReadyEntry.has(field)).as("not-ready entry has %s: %s", field, notReadyEntry).isTrue();
        }
    }
}
