package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.NodeSettings;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.source.KubernetesServiceMapper;
import io.svcproxy.proxy.ProxyServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The healthCheckNodePort's answer against kube-proxy's (pkg/proxy/healthcheck/service_health.go hcHandler.ServeHTTP,
 * pkg/proxy/endpointsmap.go LocalReadyEndpoints), from helper-113's review. Node address 127.0.0.250, ports 48120-48123;
 * the endpoint is never connected to.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KubeProxyServiceHealthParityTest {
    final ProxyFixture fixture = new ProxyFixture(Transport.select());

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    /**
     * kube-proxy (since 1.28, kubernetes/kubernetes#118999) answers every probe with
     * {@code X-Load-Balancing-Endpoint-Weight: <localEndpoints>} besides the JSON body (GCP's WEIGHTED_MAGLEV backend
     * services weigh nodes by it); svcproxy sends no such header.
     */
    @Test
    void theAnswerCarriesTheEndpointWeightHeaderAsKubeProxys() throws Exception {
        ProxyServer server = fixture.proxy("proxy: {admin: off, nodeName: node-a, nodeAddresses: [127.0.0.250], "
                + "nodePortRange: 48000-48999}\n"
                + "services:\n  - name: shop\n    namespace: web\n    type: LoadBalancer\n"
                + "    clusterIP: 127.0.10.251\n    externalTrafficPolicy: Local\n    healthCheckNodePort: 48122\n"
                + "    ports: [{port: 48120, nodePort: 48121}]\n"
                + "    endpoints: [{ip: 127.0.0.251, port: 48123, nodeName: node-a}]\n");
        assertThat(server.healthChecks().ports()).containsEntry("web/shop", 48122);
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.250:48122/"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"localEndpoints\": 1,");
        assertThat(r.headers().firstValue("x-load-balancing-endpoint-weight"))
                .as("kube-proxy: resp.Header().Set(\"X-Load-Balancing-Endpoint-Weight\", strconv.Itoa(count))")
                .hasValue("1");
    }

    /**
     * An endpoint whose slice says ready and terminating (the EndpointSlice controller writes {@code ready: true} for a
     * terminating Pod of a Service with {@code publishNotReadyAddresses}): kube-proxy's LocalReadyEndpoints counts
     * every local endpoint with {@code IsReady()}, terminating or not, so the node answers 200 with 1. A serving,
     * terminating endpoint that is not ready (which svcproxy's mapping takes as the fallback, ready in its list) is not
     * counted, by kube-proxy nor by svcproxy. svcproxy counted neither before the endpoint carried its ready condition
     * ({@code EndpointTarget.readyCondition}): the load balancer took the node out while kube-proxy's kept it.
     */
    @Test
    void aTerminatingEndpointCountsByItsReadyConditionAsInKubeProxy() {
        Service svc = new ServiceBuilder().withNewMetadata().withName("shop").withNamespace("web").endMetadata()
                .withNewSpec().withType("LoadBalancer").withClusterIP("127.0.10.253").withPublishNotReadyAddresses(true)
                .withExternalTrafficPolicy("Local").withHealthCheckNodePort(48122)
                .addNewPort().withPort(48120).withNodePort(48121).endPort().endSpec().build();
        assertThat(localEndpoints(svc, true)).as("ready and terminating: IsReady()").isEqualTo(1);
        assertThat(localEndpoints(svc, false)).as("serving and terminating, not ready: the fallback").isZero();
    }

    private static int localEndpoints(Service svc, boolean ready) {
        EndpointSlice slice = new EndpointSliceBuilder().withNewMetadata().withName("shop-1").withNamespace("web")
                .addToLabels("kubernetes.io/service-name", "shop").endMetadata().withAddressType("IPv4")
                .addNewPort().withProtocol("TCP").withPort(48123).endPort()
                .withEndpoints(new EndpointBuilder().withAddresses("127.0.0.253").withNodeName("node-a")
                        .withNewConditions().withReady(ready).withServing(true).withTerminating(true).endConditions()
                        .build())
                .build();
        List<ServicePortSpec> specs = new KubernetesServiceMapper(new KubernetesSettings(null, List.of()), "node-a",
                null).map(svc, List.of(slice));
        assertThat(specs).hasSize(1);
        assertThat(specs.get(0).endpoints()).as("taken for the Local traffic either way").singleElement()
                .satisfies(t -> assertThat(t.ready()).isTrue());
        ServiceTable table = new ServiceTable();
        table.put(new ServicePort(specs.get(0), HealthCheckNodePortTest.listInForce(specs.get(0))));
        HealthCheckNodePorts checks = new HealthCheckNodePorts(null, null, table, () -> true);
        checks.apply(List.of(), new NodeSettings(List.of(), 30000, 32767, "node-a"));
        return checks.localEndpoints("web/shop");
    }

    @Test
    void aDualStackPodCountsOnceAsInEachOfKubeProxysFamilies() throws Exception {
        Service svc = new ServiceBuilder().withNewMetadata().withName("shop").withNamespace("web").endMetadata()
                .withNewSpec().withType("LoadBalancer").withClusterIP("127.0.10.253")
                .withClusterIPs("127.0.10.253", "fd00:10::253").withIpFamilies("IPv4", "IPv6")
                .withExternalTrafficPolicy("Local").withHealthCheckNodePort(48122)
                .addNewPort().withPort(48120).withNodePort(48121).endPort().endSpec().build();
        List<EndpointSlice> slices = List.of(dualStackSlice("shop-v4", "IPv4", "127.0.0.253"),
                dualStackSlice("shop-v6", "IPv6", "fd00:40::253"));
        List<ServicePortSpec> specs = new KubernetesServiceMapper(new KubernetesSettings(null, List.of()), "node-a",
                null).map(svc, slices);
        assertThat(specs).hasSize(2);
        ServiceTable table = new ServiceTable();
        for (ServicePortSpec spec : specs) {
            table.put(new ServicePort(spec, HealthCheckNodePortTest.listInForce(spec)));
        }
        HealthCheckNodePorts checks = new HealthCheckNodePorts(null, null, table, () -> true);
        checks.apply(List.of(), new NodeSettings(List.of(), 30000, 32767, "node-a"));
        assertThat(checks.localEndpoints("web/shop")).as("one Pod on this node, in either family's count").isEqualTo(1);
    }

    private static EndpointSlice dualStackSlice(String name, String family, String ip) {
        return new EndpointSliceBuilder().withNewMetadata().withName(name).withNamespace("web")
                .addToLabels("kubernetes.io/service-name", "shop").endMetadata().withAddressType(family)
                .addNewPort().withProtocol("TCP").withPort(48123).endPort()
                .withEndpoints(new EndpointBuilder().withAddresses(ip).withNodeName("node-a").withNewConditions()
                        .withReady(true).withServing(true).withTerminating(false).endConditions().build())
                .build();
    }
}
