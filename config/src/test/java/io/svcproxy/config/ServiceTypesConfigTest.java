package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The config file's Service types, node settings, external addresses, source ranges and traffic policy. */
class ServiceTypesConfigTest {

    @Test
    void bindsTheSpecExample() {
        ProxyConfig config = parse("""
                proxy:
                  nodeAddresses: [127.0.20.1, 127.0.20.2]
                  nodePortRange: 30000-32767
                  nodeName: node-a
                services:
                  - name: web
                    type: LoadBalancer
                    clusterIP: 127.0.10.100
                    externalIPs: [127.0.30.1]
                    loadBalancerIPs: [127.0.31.1]
                    loadBalancerSourceRanges: [127.0.21.0/24]
                    externalTrafficPolicy: Local
                    ports:
                      - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
                    endpoints:
                      - {ip: 127.0.0.1, nodeName: node-a}
                      - {ip: 127.0.0.2}
                """);
        NodeSettings node = config.proxy().node();
        assertThat(node.nodeAddresses()).containsExactly(Addresses.parseIp("127.0.20.1"),
                Addresses.parseIp("127.0.20.2"));
        assertThat(node.nodePortLow()).isEqualTo(30000);
        assertThat(node.nodePortHigh()).isEqualTo(32767);
        assertThat(node.nodeName()).isEqualTo("node-a");
        ServiceSpec web = config.services().get(0);
        ServiceExposure e = web.exposure();
        assertThat(e.type()).isEqualTo(ServiceType.LOAD_BALANCER);
        assertThat(e.externalIPs()).containsExactly(Addresses.parseIp("127.0.30.1"));
        assertThat(e.loadBalancerIPs()).containsExactly(Addresses.parseIp("127.0.31.1"));
        assertThat(e.loadBalancerSourceRanges()).containsExactly(Cidr.parse("127.0.21.0/24"));
        assertThat(e.externalTrafficPolicy()).isEqualTo(TrafficPolicy.LOCAL);
        assertThat(web.ports().get(0).nodePort()).isEqualTo(30080);
        assertThat(web.endpoints()).extracting(EndpointSpec::nodeName).containsExactly("node-a", "");
    }

    @Test
    void defaultsToClusterIpWithNoNodeAddresses() {
        ProxyConfig config = parse("""
                services:
                  - {name: web, clusterIP: 127.0.10.100, ports: [{port: 80}], endpoints: [{ip: 127.0.0.1}]}
                """);
        assertThat(config.proxy().node()).isEqualTo(NodeSettings.defaults());
        assertThat(config.services().get(0).exposure()).isEqualTo(ServiceExposure.clusterIP());
        assertThat(config.services().get(0).ports().get(0).nodePort()).isZero();
    }

    @Test
    void nodePortMustLieInTheConfiguredRange() {
        assertThat(errors("""
                proxy:
                  nodePortRange: 31000-31010
                services:
                  - name: web
                    type: NodePort
                    clusterIP: 127.0.10.100
                    ports: [{port: 80, nodePort: 30080}]
                """)).containsExactly(
                "svcproxy.yaml:7:34: nodePort: 30080 (expected: a port in proxy.nodePortRange 31000-31010)");
    }

    @Test
    void twoServicesOnOneNodePortAreRefusedAtTheSecond() {
        assertThat(errors("""
                services:
                  - name: a
                    type: NodePort
                    clusterIP: 127.0.10.100
                    ports: [{port: 80, nodePort: 30080}]
                  - name: b
                    type: NodePort
                    clusterIP: 127.0.10.101
                    ports: [{port: 80, nodePort: 30080}]
                """)).containsExactly("svcproxy.yaml:9:34: nodePort: 30080 (expected: a nodePort of one Service "
                + "port only; 30080/TCP is also at line 5)");
    }

    @Test
    void aWrongTypeIsReportedOnceNotAgainAtItsNodePort() {
        assertThat(errors("""
                services:
                  - name: np
                    type: Nodeport
                    clusterIP: 127.0.10.221
                    ports: [{port: 80, nodePort: 30080}]
                    endpoints: [{ip: 127.0.0.5}]
                """)).singleElement().asString().startsWith("svcproxy.yaml:3:11: type: Nodeport (expected: ");
    }

    @Test
    void aServicePortAtTheAddressOfTheAdminOrIngressListenerIsRefused() {
        // validate said ok, and run failed to bind it ("Address already in use"), or a reload applied it unbound
        assertThat(errors("""
                proxy:
                  admin: 127.0.10.5:9901
                  ingress: {http: 127.0.0.221:19906}
                services:
                  - name: a
                    clusterIP: 127.0.0.221
                    ports: [{port: 19906}]
                    endpoints: [{ip: 127.0.0.5}]
                  - name: b
                    clusterIP: 127.0.10.5
                    ports: [{name: web, port: 9901}, {name: dns, port: 9901, protocol: UDP}]
                    endpoints: [{ip: 127.0.0.5, ports: {web: 80, dns: 53}}]
                """)).containsExactly(
                "svcproxy.yaml:7:20: port: 19906 (expected: a port where svcproxy does not listen already; "
                        + "127.0.0.221:19906/TCP is its proxy.ingress.http 127.0.0.221:19906)",
                "svcproxy.yaml:11:31: port: 9901 (expected: a port where svcproxy does not listen already; "
                        + "127.0.10.5:9901/TCP is its proxy.admin 127.0.10.5:9901)");
    }

    @Test
    void aServicePortAtThePortOfAnOwnListenerOnEveryAddressSharesIt() {
        // the Service port listens at its own addresses beside the listener on every address (SO_REUSEPORT) and
        // takes the connections to them, as kube-proxy's rules take them before a node's process on that port: a
        // Service on port 80 next to an Ingress on 0.0.0.0:80 was refused, and one from the API left out
        ProxyConfig config = parse("""
                proxy:
                  admin: 0.0.0.0:30901
                  ingress: {http: "[::]:80"}
                  nodeAddresses: [127.0.0.1]
                services:
                  - name: web
                    type: NodePort
                    clusterIP: 127.0.10.5
                    externalIPs: [127.0.0.7]
                    ports: [{name: http, port: 80, nodePort: 30901}, {name: api, port: 30901, nodePort: 30902}]
                    endpoints: [{ip: 127.0.0.5, ports: {http: 8080, api: 9090}}]
                """);
        assertThat(config.services()).singleElement().satisfies(s -> assertThat(s.ports()).hasSize(2));
    }

    @Test
    void aNodePortOrIngressListenerWhereTheAdminServerOrAnotherListenerIsIsRefused() {
        // validate said ok, and run exited 1: "cannot bind ... Address already in use" (helper-77's review)
        assertThat(errors("""
                proxy:
                  admin: 127.0.0.1:30101
                  ingress: {http: 127.0.0.1:30101, https: 127.0.0.1:30102}
                  nodeAddresses: [127.0.0.1, 127.0.21.0/24]
                services:
                  - name: np
                    type: NodePort
                    clusterIP: 127.0.10.5
                    ports: [{name: a, port: 80, nodePort: 30102}, {name: b, port: 81, nodePort: 30103}]
                    endpoints: [{ip: 127.0.0.5}]
                """)).containsExactly(
                "svcproxy.yaml:3:19: proxy.ingress.http: 127.0.0.1:30101 (expected: an address where svcproxy does "
                        + "not listen already; proxy.admin is 127.0.0.1:30101)",
                "svcproxy.yaml:9:43: nodePort: 30102 (expected: a port where svcproxy does not listen already on "
                        + "the node's addresses; 30102 is its proxy.ingress.https 127.0.0.1:30102)");
        // an Ingress listener on a node address range's address, at a nodePort; the admin server elsewhere
        assertThat(errors("""
                proxy:
                  admin: 127.0.0.1:30101
                  ingress: {http: 127.0.21.7:30103}
                  nodeAddresses: [127.0.21.0/24]
                services:
                  - name: np
                    type: NodePort
                    clusterIP: 127.0.10.5
                    ports: [{port: 80, nodePort: 30103}]
                    endpoints: [{ip: 127.0.0.5}]
                """)).singleElement().asString().startsWith("svcproxy.yaml:9:34: nodePort: 30103 (expected: a port "
                + "where svcproxy does not listen already on the node's addresses; 30103 is its proxy.ingress.http");
        // no node addresses: NodePorts listen nowhere, no clash
        assertThat(parse("""
                proxy:
                  admin: 0.0.0.0:30101
                services:
                  - name: np
                    type: NodePort
                    clusterIP: 127.0.10.5
                    ports: [{port: 80, nodePort: 30101}]
                    endpoints: [{ip: 127.0.0.5}]
                """).services()).hasSize(1);
    }

    @Test
    void anEndpointWrittenTwiceIsRefusedNotDroppedWithItsWeight() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.221
                    ports: [{port: 80, targetPort: 8080}]
                    endpoints:
                      - {ip: 127.0.0.221}
                      - {ip: 127.0.0.221, port: 8080, weight: 5}
                      - {ip: 127.0.0.221, port: 8081}
                  - name: two
                    clusterIP: 127.0.10.222
                    ports: [{name: a, port: 80}, {name: b, port: 81}]
                    endpoints:
                      - {ip: 127.0.0.222, ports: {a: 80, b: 81}}
                      - {ip: 127.0.0.222, ports: {a: 80, b: 81}}
                """)).containsExactly(
                "svcproxy.yaml:7:14: ip: 127.0.0.221 (expected: an endpoint listed once; 127.0.0.221:8080 is also at "
                        + "line 6)",
                "svcproxy.yaml:14:14: ip: 127.0.0.222 (expected: an endpoint listed once; 127.0.0.222:80 is also at "
                        + "line 13 for port a)");
    }

    @Test
    void anEndpointThatLoopsBackThroughSvcproxyIsRefusedAndAChainIsNot() {
        // a connection to the endpoint comes back to svcproxy, which picks it again: one client became 200 connections
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.221
                    ports: [{port: 18080}]
                    endpoints: [{ip: 127.0.10.221}, {ip: 127.0.0.221}]
                  - name: a
                    clusterIP: 127.0.10.222
                    externalIPs: [127.0.30.5]
                    ports: [{port: 80}]
                    endpoints: [{ip: 127.0.10.223}]
                  - name: b
                    clusterIP: 127.0.10.223
                    ports: [{port: 80}]
                    endpoints: [{ip: 127.0.30.5}]
                  - name: front
                    clusterIP: 127.0.10.224
                    ports: [{port: 80}]
                    endpoints: [{ip: 127.0.10.225}]
                  - name: back
                    clusterIP: 127.0.10.225
                    ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]
                    endpoints: [{ip: 127.0.0.225, ports: {http: 80, dns: 53}}]
                  - name: sel
                    clusterIP: 127.0.10.226
                    selector: {app: loop}
                    ports: [{port: 80, targetPort: http}]
                pods:
                  - {name: loop-1, ip: 127.0.10.226, labels: {app: loop}, ports: [{name: http, containerPort: 80}]}
                  - {name: fine-1, ip: 127.0.10.226, labels: {app: loop}, ports: [{name: http, containerPort: 9090}]}
                """)).containsExactly(
                "svcproxy.yaml:5:22: ip: 127.0.10.221 (expected: an address that is not svcproxy's own in a loop; "
                        + "127.0.10.221:18080/TCP is the clusterIP of default/web, whose endpoints lead back here: each "
                        + "connection would come back to svcproxy and make another)",
                "svcproxy.yaml:10:22: ip: 127.0.10.223 (expected: an address that is not svcproxy's own in a loop; "
                        + "127.0.10.223:80/TCP is the clusterIP of default/b, whose endpoints lead back here: each "
                        + "connection would come back to svcproxy and make another)",
                "svcproxy.yaml:14:22: ip: 127.0.30.5 (expected: an address that is not svcproxy's own in a loop; "
                        + "127.0.30.5:80/TCP is an externalIP or loadBalancerIP of default/a, whose endpoints lead back "
                        + "here: each connection would come back to svcproxy and make another)",
                "svcproxy.yaml:28:12: name: loop-1 (expected: a Pod at an address that is not svcproxy's own in a "
                        + "loop; 127.0.10.226:80/TCP is the clusterIP of default/sel, whose endpoints lead back here: "
                        + "each connection would come back to svcproxy and make another)");
    }

    @Test
    void anExternalIpThatIsAnotherServicesClusterIpOrExternalIpAtTheSamePortIsRefused() {
        assertThat(errors("""
                services:
                  - name: a
                    clusterIP: 127.0.10.100
                    externalIPs: [127.0.30.1]
                    ports: [{port: 80}]
                  - name: b
                    clusterIP: 127.0.30.1
                    ports: [{port: 80}]
                  - name: c
                    clusterIP: 127.0.10.102
                    externalIPs: [127.0.10.100, 127.0.30.1]
                    ports: [{name: a, port: 80}, {name: b, port: 81}]
                  - name: d
                    type: LoadBalancer
                    clusterIP: 127.0.10.103
                    loadBalancerIPs: [127.0.30.1]
                    ports: [{port: 80, protocol: UDP, nodePort: 30080}]
                """)).containsExactly(
                "svcproxy.yaml:8:20: port: 80 (expected: an address, port and protocol of one Service only; "
                        + "127.0.30.1:80/TCP is also an externalIP or loadBalancerIP of default/a at line 5)",
                "svcproxy.yaml:12:29: port: 80 (expected: an address, port and protocol of one Service only; "
                        + "127.0.10.100:80/TCP is also the clusterIP of default/a at line 5)",
                "svcproxy.yaml:12:29: port: 80 (expected: an address, port and protocol of one Service only; "
                        + "127.0.30.1:80/TCP is also the clusterIP of default/b at line 8)");
    }

    @Test
    void oneNodePortMayServeTcpAndUdp() {
        ProxyConfig config = parse("""
                services:
                  - name: dns
                    type: NodePort
                    clusterIP: 127.0.10.100
                    ports:
                      - {name: tcp, port: 53, nodePort: 30053}
                      - {name: udp, port: 53, protocol: UDP, nodePort: 30053}
                    endpoints: [{ip: 127.0.0.1}]
                """);
        assertThat(config.services().get(0).ports()).extracting(PortSpec::nodePort).containsExactly(30053, 30053);
    }

    @Test
    void nodePortIsRequiredForNodePortAndRefusedForClusterIp() {
        assertThat(errors("""
                services:
                  - name: a
                    type: NodePort
                    clusterIP: 127.0.10.100
                    ports: [{port: 80}]
                  - name: b
                    clusterIP: 127.0.10.101
                    ports: [{port: 80, nodePort: 30081}]
                """)).containsExactly(
                "svcproxy.yaml:5:14: nodePort: missing (expected: a port in proxy.nodePortRange 30000-32767; "
                        + "required for type NodePort)",
                "svcproxy.yaml:8:34: nodePort: 30081 (expected: only on a Service of type NodePort or "
                        + "LoadBalancer)");
    }

    @Test
    void reportsABadCidrAtItsLineAndColumn() {
        assertThat(errors("""
                services:
                  - name: web
                    type: LoadBalancer
                    clusterIP: 127.0.10.100
                    loadBalancerSourceRanges: [127.0.21.0/24, 127.0.21.1/24, 127.0.0.0/33]
                    ports: [{port: 80, nodePort: 30080}]
                """)).containsExactly(
                "svcproxy.yaml:5:47: loadBalancerSourceRanges[1]: 127.0.21.1/24 (expected: "
                        + ExposureBinder.CIDR_EXPECTED + ")",
                "svcproxy.yaml:5:62: loadBalancerSourceRanges[2]: 127.0.0.0/33 (expected: "
                        + ExposureBinder.CIDR_EXPECTED + ")");
    }

    @Test
    void nodeAddressesTakeCidrsForThisHostsAddressesAsKubeProxyDoes() {
        NodeSettings node = parse("""
                proxy:
                  nodeAddresses: [127.0.20.1, 127.0.21.0/24, "fd00:20::/64"]
                services: []
                """).proxy().node();
        assertThat(node.nodeAddresses()).containsExactly(Addresses.parseIp("127.0.20.1"));
        assertThat(node.nodeAddressRanges()).extracting(Cidr::toString).containsExactly("127.0.21.0/24",
                "fd00:20:0:0:0:0:0:0/64");
        assertThat(errors("""
                proxy:
                  nodeAddresses: [127.0.21.1/24, 127.0.22.0/33, node-a, 127.0.23.0/24, 127.0.23.0/24]
                services: []
                """)).containsExactly(
                "svcproxy.yaml:2:19: nodeAddresses[0]: 127.0.21.1/24 (expected: " + ExposureBinder.CIDR_EXPECTED + ")",
                "svcproxy.yaml:2:34: nodeAddresses[1]: 127.0.22.0/33 (expected: " + ExposureBinder.CIDR_EXPECTED + ")",
                "svcproxy.yaml:2:49: nodeAddresses[2]: node-a (expected: an IPv4 or IPv6 address)",
                "svcproxy.yaml:2:72: nodeAddresses[4]: 127.0.23.0/24 (expected: each address once; also at line 2)");
    }

    @Test
    void refusesLoadBalancerFieldsOnOtherTypesAndWrongValues() {
        assertThat(errors("""
                proxy:
                  nodePortRange: 32767-30000
                  nodeAddresses: [127.0.20.1, 127.0.20.1]
                services:
                  - name: web
                    type: NodePort
                    clusterIP: 127.0.10.100
                    loadBalancerIPs: [127.0.31.1]
                    externalTrafficPolicy: local
                    ports: [{port: 80, nodePort: 30080}]
                  - name: ext
                    type: ExternalName
                    clusterIP: 127.0.10.101
                    externalIPs: [224.0.0.1]
                    loadBalancerSourceRanges: [127.0.0.0/8]
                    ports: [{port: 80}]
                """)).containsExactly(
                "svcproxy.yaml:2:18: nodePortRange: 32767-30000 (expected: " + ExposureBinder.RANGE_EXPECTED + ")",
                "svcproxy.yaml:3:31: nodeAddresses[1]: 127.0.20.1 (expected: each address once; also at line 3)",
                "svcproxy.yaml:8:22: loadBalancerIPs: a list (expected: only on a Service of type LoadBalancer)",
                "svcproxy.yaml:9:28: externalTrafficPolicy: local (expected: Cluster or Local)",
                "svcproxy.yaml:12:11: type: ExternalName (expected: ClusterIP, NodePort or LoadBalancer; "
                        + "ExternalName has no address to proxy)",
                "svcproxy.yaml:14:19: externalIPs[0]: 224.0.0.1 (expected: a unicast address, not multicast)");
    }

    @Test
    void proxyNodeNameIsADnsSubdomain() {
        assertThat(errors("""
                proxy:
                  nodeName: Node_A
                """)).containsExactly("svcproxy.yaml:2:13: nodeName: Node_A (expected: "
                + Names.DNS1123_SUBDOMAIN_EXPECTED + ")");
        assertThat(parse("""
                proxy: {nodeName: ip-10-0-0-1.eu-west-1.compute.internal}
                """).proxy().node().nodeName()).isEqualTo("ip-10-0-0-1.eu-west-1.compute.internal");
    }

    @Test
    void healthCheckNodePortOnALocalLoadBalancerOnlyInTheRangeAndFreeOfNodePorts() {
        ProxyConfig config = parse("""
                services:
                  - name: web
                    type: LoadBalancer
                    clusterIP: 127.0.10.100
                    externalTrafficPolicy: Local
                    healthCheckNodePort: 30099
                    ports: [{port: 80, nodePort: 30080}]
                """);
        assertThat(config.services().get(0).exposure().healthCheckNodePort()).isEqualTo(30099);
        assertThat(errors("""
                services:
                  - name: web
                    type: LoadBalancer
                    clusterIP: 127.0.10.100
                    healthCheckNodePort: 30099
                    ports: [{port: 80, nodePort: 30080}]
                  - name: local
                    type: LoadBalancer
                    clusterIP: 127.0.10.101
                    externalTrafficPolicy: Local
                    healthCheckNodePort: 29999
                    ports: [{port: 80, nodePort: 30081}]
                  - name: clash
                    type: LoadBalancer
                    clusterIP: 127.0.10.102
                    externalTrafficPolicy: Local
                    healthCheckNodePort: 30080
                    ports: [{port: 80, nodePort: 30082}]
                  - name: text
                    type: LoadBalancer
                    clusterIP: 127.0.10.103
                    externalTrafficPolicy: Local
                    healthCheckNodePort: http
                    ports: [{port: 80, nodePort: 30083}]
                """)).containsExactly(
                "svcproxy.yaml:5:26: healthCheckNodePort: 30099 (expected: only on a Service of type LoadBalancer "
                        + "with externalTrafficPolicy: Local)",
                "svcproxy.yaml:11:26: healthCheckNodePort: 29999 (expected: a port in proxy.nodePortRange "
                        + "30000-32767)",
                "svcproxy.yaml:17:26: healthCheckNodePort: 30080 (expected: a port no Service port has as "
                        + "nodePort/TCP; 30080 is also at line 6)",
                "svcproxy.yaml:23:26: healthCheckNodePort: http (expected: 1..65535)");
    }
}
