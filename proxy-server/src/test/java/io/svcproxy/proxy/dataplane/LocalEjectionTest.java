package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.BackendSet;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.OutlierDetection;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Outlier ejection under a Local traffic policy: the last endpoint of this node in service is not ejected, since the
 * node's Local traffic may use no other (it would be refused while the node's health check still counts the endpoint
 * ready); one of another node is, while another endpoint is in service.
 */
class LocalEjectionTest {
    private static ServicePort port(String policy) throws Exception {
        ServicePortSpec spec = ServicePorts.resolve(ConfigLoader.parse("services:\n  - name: web\n"
                + "    type: NodePort\n    clusterIP: 127.0.10.1\n    externalTrafficPolicy: " + policy + "\n"
                + "    ports: [{port: 80, nodePort: 30080}]\n"
                + "    endpoints: [{ip: 127.0.0.1, nodeName: node-a}, {ip: 127.0.0.2, nodeName: node-b}, "
                + "{ip: 127.0.0.3, nodeName: node-b}]\n", "svcproxy.yaml")).get(0);
        List<BackendState> backends = new ArrayList<>();
        for (EndpointTarget t : spec.endpoints()) {
            backends.add(BackendState.of(t.ip(), t.port(), t.weight()));
        }
        return new ServicePort(spec, BackendSet.of("rr", java.util.Set.of(),
                io.svcproxy.balancer.SessionAffinity.NONE, backends, System::nanoTime));
    }

    private static boolean ejected(ServicePort port, int index) {
        return port.backendSet().backends().get(index).counters().health().ejected();
    }

    @Test
    void theLastEndpointOfThisNodeIsNotEjectedUnderALocalPolicy() throws Exception {
        OutlierDetection outlier = OutlierDetection.defaults();
        ServicePort local = port("Local");
        BackendState a = local.backendSet().backends().get(0);
        local.maybeEject(a, 5, outlier, "node-a");
        assertThat(ejected(local, 0)).as("node-a's only endpoint, on node-a").isFalse();
        // on node-b it is another node's endpoint: ejected, two others are in service
        local.maybeEject(a, 5, outlier, "node-b");
        assertThat(ejected(local, 0)).isTrue();

        ServicePort two = port("Local");
        two.maybeEject(two.backendSet().backends().get(1), 5, outlier, "node-b");
        assertThat(ejected(two, 1)).as("node-b keeps 127.0.0.3").isTrue();
        two.maybeEject(two.backendSet().backends().get(2), 5, outlier, "node-b");
        assertThat(ejected(two, 2)).as("node-b's last one in service").isFalse();

        ServicePort cluster = port("Cluster");
        cluster.maybeEject(cluster.backendSet().backends().get(0), 5, outlier, "node-a");
        assertThat(ejected(cluster, 0)).as("the Cluster policy: any other endpoint will do").isTrue();
    }
}
