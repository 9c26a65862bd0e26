package io.svcproxy.proxy.metrics;

import static io.svcproxy.proxy.metrics.ServicePortFixtures.backend;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.respec;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.servicePort;
import static io.svcproxy.proxy.metrics.ServicePortFixtures.set;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.Protocol;
import io.svcproxy.proxy.dataplane.ServicePort;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * DepartedEndpoints hands an endpoint that comes back the very counters it left with; the endpoint meters, which
 * keep what counters that left had counted while another member of the labels still lists the endpoint, count them
 * live again and not twice (helper-94's review: the total jumped from 4 to 7 across the flap).
 * Here a single-port Service changed from 80/TCP to 80/UDP (same labels; the TCP port drains a connection, as in
 * aUdpSuccessorOfATcpPortWithTheSameLabelsHasItsOwnFlowMeters), and the endpoint's readiness flaps on the UDP port.
 */
class ReturnedCountersTest {
    private final MicrometerProxyMetrics metrics =
            new MicrometerProxyMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), false);

    @AfterEach
    void close() {
        metrics.close();
    }

    @Test
    void countersTakenBackFromDepartedEndpointsAreNotCountedTwice() {
        BackendState tcpSide = backend("127.0.0.11", 8080, 1);
        ServicePort tcp = servicePort("default", "web", "127.0.10.1", 80, "http", "rr", List.of(tcpSide), List.of());
        metrics.servicePortAdded(tcp);
        tcpSide.counters().lease().established(); // one TCP connection, still open
        metrics.servicePortDraining(tcp);

        BackendState udpSide = backend("127.0.0.11", 8080, 1);
        ServicePort udp = servicePort("default", "web", "127.0.10.1", 80, "http", Protocol.UDP, "rr",
                List.of(udpSide), List.of());
        metrics.servicePortAdded(udp);
        for (int i = 0; i < 3; i++) {
            udpSide.counters().lease().release(); // three flows that ended
        }
        String[] endpoint = {"service", "default/web", "port", "http", "endpoint", "127.0.0.11:8080"};
        assertThat(PrometheusText.parse(metrics.scrape()).value("svcproxy_connections_total", endpoint))
                .isEqualTo(4);

        // the Pod is not ready for a moment: no flow, so it leaves the UDP port's list (kept by DepartedEndpoints)
        udp.update(respec(udp, List.of(), List.of()), set("rr", List.of()));
        metrics.servicePortChanged(udp);
        // ready again: EndpointList takes back the very counters it left with
        BackendState back = udpSide.withWeight(1, BackendState.State.READY);
        assertThat(back.counters()).isSameAs(udpSide.counters());
        udp.update(respec(udp, List.of(back), List.of()), set("rr", List.of(back)));
        metrics.servicePortChanged(udp);

        assertThat(PrometheusText.parse(metrics.scrape()).value("svcproxy_connections_total", endpoint))
                .as("1 TCP connection + 3 UDP flows; nothing new happened across the flap").isEqualTo(4);
    }
}
