package io.svcproxy.config.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.config.ConfigLoader;
import io.svcproxy.config.ProxyConfig;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.ServicePorts;
import io.svcproxy.config.ServiceSpec;
import io.svcproxy.config.ServiceType;
import io.svcproxy.config.TrafficPolicy;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The registry's merge of the config file and the Kubernetes API. */
class RegistryTest {

    @Test
    void aKubernetesServiceWithoutASchedulerTakesTheDefaultAndKeepsEverythingElse() throws Exception {
        ProxyConfig file = ConfigLoader.parse("proxy: {scheduler: wlc}\nservices: []\n", "svcproxy.yaml");
        ProxyConfig shape = ConfigLoader.parse("proxy: {nodeAddresses: [127.0.20.1]}\nservices:\n  - name: web\n"
                + "    type: LoadBalancer\n    clusterIP: 127.0.10.1\n    externalIPs: [127.0.30.1]\n"
                + "    loadBalancerIPs: [127.0.31.1]\n    externalTrafficPolicy: Local\n"
                + "    ports: [{port: 80, nodePort: 30080}]\n    endpoints: [{ip: 127.0.0.1}]\n", "shape.yaml");
        ServicePortSpec fromApi = ServicePorts.resolve(shape).get(0);
        ServiceSpec s = fromApi.service();
        ServiceSpec unnamed = new ServiceSpec(s.name(), s.namespace(), s.clusterIP(), s.selector(), null,
                s.schedulerFlags(), s.sessionAffinity(), s.ports(), s.endpoints(), s.maxConnections(),
                s.maxConnectionsPerClient(), s.healthCheck(), s.exposure());
        AtomicReference<DesiredState> published = new AtomicReference<>();
        Registry registry = new Registry(true, published::set);
        registry.setConfig(file);
        registry.setKubernetes(List.of(new ServicePortSpec(fromApi.key(), unnamed, fromApi.port(),
                fromApi.endpoints())), true);

        ServiceSpec merged = published.get().servicePorts().get(0).service();
        assertThat(merged.scheduler()).isEqualTo("wlc");
        assertThat(merged.exposure()).isEqualTo(s.exposure());
        assertThat(merged.exposure().type()).isEqualTo(ServiceType.LOAD_BALANCER);
        assertThat(merged.exposure().externalTrafficPolicy()).isEqualTo(TrafficPolicy.LOCAL);
        assertThat(merged.withScheduler(null)).isEqualTo(unnamed);
    }
}
