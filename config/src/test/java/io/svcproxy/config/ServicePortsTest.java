package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServicePortsTest {
    private static List<String> endpoints(ServicePortSpec spec) {
        return spec.endpoints().stream()
                .map(e -> Addresses.format(e.ip(), e.port()) + "*" + e.weight())
                .toList();
    }

    @Test
    void selectsPodsOfTheNamespaceWhoseLabelsContainTheSelectorNotReadyOnesAsSuch() {
        List<ServicePortSpec> ports = ServicePorts.resolve(parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    selector: {app: web, tier: front}
                    ports: [{port: 80, targetPort: 8080}]
                pods:
                  - {name: a, ip: 127.0.0.11, labels: {app: web, tier: front, extra: x}, weight: 3}
                  - {name: b, ip: 127.0.0.12, labels: {app: web}}
                  - {name: c, ip: 127.0.0.13, labels: {app: web, tier: front}, ready: false}
                  - {name: d, namespace: other, ip: 127.0.0.14, labels: {app: web, tier: front}}
                  - {name: e, ip: 127.0.0.15, labels: {app: web, tier: back}}
                  - {name: f, ip: 127.0.0.16, labels: {app: web, tier: front}, weight: 0}
                """));
        assertThat(ports).hasSize(1);
        ServicePortSpec port = ports.get(0);
        assertThat(port.key()).isEqualTo(new ServiceKey(Addresses.parseIp("127.0.10.1"), 80, Protocol.TCP));
        assertThat(port.service().name()).isEqualTo("web");
        // c is not ready: listed (the admin API and svcproxy_endpoints{state="not_ready"} show it), never picked
        assertThat(endpoints(port)).containsExactly("127.0.0.11:8080*3", "127.0.0.13:8080*1", "127.0.0.16:8080*0");
        assertThat(port.endpoints()).extracting(EndpointTarget::ready).containsExactly(true, false, true);
        assertThat(port.endpoints()).allSatisfy(e -> {
            assertThat(e.serving()).isEqualTo(e.ready());
            assertThat(e.terminating()).isFalse();
        });
    }

    @Test
    void matchesPodsOfTheServiceNamespaceOnly() {
        List<ServicePortSpec> ports = ServicePorts.resolve(parse("""
                services:
                  - {name: web, namespace: prod, clusterIP: 127.0.10.1, selector: {app: web}, ports: [{port: 80}]}
                pods:
                  - {name: a, ip: 127.0.0.11, labels: {app: web}}
                  - {name: a, namespace: prod, ip: 127.0.0.12, labels: {app: web}}
                """));
        assertThat(endpoints(ports.get(0))).containsExactly("127.0.0.12:80*1");
    }

    @Test
    void resolvesANamedTargetPortThroughEachPodAndLeavesOutPodsWithoutIt() {
        List<ServicePortSpec> ports = ServicePorts.resolve(parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    selector: {app: web}
                    ports:
                      - {name: http, port: 80, targetPort: web}
                      - {name: metrics, port: 9090}
                pods:
                  - {name: a, ip: 127.0.0.11, labels: {app: web}, ports: [{name: web, containerPort: 8080}]}
                  - {name: b, ip: 127.0.0.12, labels: {app: web}, ports: [{name: web, containerPort: 8081}]}
                  - {name: c, ip: 127.0.0.13, labels: {app: web}, ports: [{name: other, containerPort: 8080}]}
                """));
        assertThat(ports).extracting(p -> p.port().name()).containsExactly("http", "metrics");
        assertThat(endpoints(ports.get(0))).containsExactly("127.0.0.11:8080*1", "127.0.0.12:8081*1");
        assertThat(endpoints(ports.get(1)))
                .containsExactly("127.0.0.11:9090*1", "127.0.0.12:9090*1", "127.0.0.13:9090*1");
    }

    @Test
    void aNamedTargetPortResolvesToThePodsPortOfThatNameAndTheServicePortsProtocol() {
        // kube-dns's layout: dns over UDP and dns-tcp over TCP, each a container port of its own protocol
        List<ServicePortSpec> ports = ServicePorts.resolve(parse("""
                services:
                  - name: kube-dns
                    clusterIP: 127.0.10.1
                    selector: {app: dns}
                    ports:
                      - {name: dns, protocol: UDP, port: 53, targetPort: dns}
                      - {name: dns-tcp, protocol: TCP, port: 53, targetPort: dns-tcp}
                      - {name: wrong, protocol: TCP, port: 54, targetPort: dns}
                pods:
                  - name: a
                    ip: 127.0.1.1
                    labels: {app: dns}
                    ports: [{name: dns, containerPort: 1053, protocol: UDP}, {name: dns-tcp, containerPort: 2053}]
                """));
        assertThat(endpoints(ports.get(0))).containsExactly("127.0.1.1:1053*1");
        assertThat(endpoints(ports.get(1))).containsExactly("127.0.1.1:2053*1");
        assertThat(endpoints(ports.get(2))).as("a TCP Service port does not take the UDP port of that name")
                .isEmpty();
    }

    @Test
    void anEmptySelectorSelectsNoPod() {
        List<ServicePortSpec> ports = ServicePorts.resolve(parse("""
                services:
                  - {name: web, clusterIP: 127.0.10.1, selector: {}, ports: [{port: 80}]}
                pods:
                  - {name: a, ip: 127.0.0.11, labels: {app: web}}
                """));
        assertThat(ports.get(0).endpoints()).isEmpty();

        ServiceSpec built = new ServiceSpec("web", "default", Addresses.parseIp("127.0.10.1"), Map.of(), "rr",
                java.util.Set.of(), io.svcproxy.balancer.SessionAffinity.NONE,
                List.of(new PortSpec("", Protocol.TCP, 80, TargetPort.of(80))), List.of());
        ProxyConfig config = new ProxyConfig(null, ProxySettings.defaults(), RegistrySettings.none(),
                List.of(built), parse("pods: [{name: a, ip: 127.0.0.11}]").pods());
        assertThat(ServicePorts.resolve(config).get(0).endpoints()).isEmpty();
    }

    @Test
    void explicitEndpointsTakePortThenPortsByNameThenTheNumericTargetPort() {
        List<ServicePortSpec> ports = ServicePorts.resolve(parse("""
                services:
                  - name: one
                    clusterIP: 127.0.10.1
                    ports: [{port: 80, targetPort: 8080}]
                    endpoints:
                      - {ip: 127.0.0.11, port: 9000, weight: 2}
                      - {ip: 127.0.0.12}
                  - name: two
                    clusterIP: 127.0.10.2
                    ports:
                      - {name: http, port: 80, targetPort: 8080}
                      - {name: admin, port: 81}
                    endpoints:
                      - {ip: 127.0.0.11, ports: {http: 7000}}
                      - {ip: 127.0.0.12, ports: {admin: 7001}, weight: 0}
                """));
        assertThat(ports).hasSize(3);
        assertThat(endpoints(ports.get(0))).containsExactly("127.0.0.11:9000*2", "127.0.0.12:8080*1");
        assertThat(endpoints(ports.get(1))).containsExactly("127.0.0.11:7000*1", "127.0.0.12:8080*0");
        assertThat(endpoints(ports.get(2))).containsExactly("127.0.0.11:81*1", "127.0.0.12:7001*0");
    }

    @Test
    void ordersByAddressNumericallyThenPort() {
        List<ServicePortSpec> ports = ServicePorts.resolve(parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                    endpoints:
                      - {ip: 127.0.0.10}
                      - {ip: "::1"}
                      - {ip: 127.0.0.9, port: 81}
                      - {ip: 127.0.0.9, weight: 5}
                      - {ip: 127.0.0.100}
                """));
        assertThat(endpoints(ports.get(0))).containsExactly(
                "127.0.0.9:80*5", "127.0.0.9:81*1", "127.0.0.10:80*1", "127.0.0.100:80*1", "[::1]:80*1");
    }

    @Test
    void servesIpv6ClusterIpsAndEndpoints() {
        List<ServicePortSpec> ports = ServicePorts.resolve(parse("""
                services:
                  - name: web
                    clusterIP: fd00::10
                    selector: {app: web}
                    ports: [{port: 443}]
                pods:
                  - {name: b, ip: "fd00::1:2", labels: {app: web}}
                  - {name: a, ip: "fd00::2", labels: {app: web}}
                  - {name: c, ip: "fd00::10:1", labels: {app: web}}
                """));
        assertThat(ports.get(0).key()).hasToString("[fd00::10]:443/TCP");
        assertThat(endpoints(ports.get(0)))
                .containsExactly("[fd00::2]:443*1", "[fd00::1:2]:443*1", "[fd00::10:1]:443*1");
    }

    @Test
    void returnsOneEntryPerServicePortInFileOrder() {
        List<ServicePortSpec> ports = ServicePorts.resolve(parse("""
                services:
                  - {name: b, clusterIP: 127.0.10.2, ports: [{name: y, port: 2}, {name: x, port: 1}]}
                  - {name: a, clusterIP: 127.0.10.1, ports: [{port: 3}]}
                """));
        assertThat(ports).extracting(p -> p.service().name() + ":" + p.port().label())
                .containsExactly("b:y", "b:x", "a:3");
    }
}
