package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Two of svcproxy's own listeners at one socket (address, port and protocol) are refused by the config file: a
 * nodePort or healthCheckNodePort on a node address where another Service port, the admin server or an Ingress
 * listener listens, and an externalIP or LoadBalancer IP at the admin or Ingress listener's address and port. The
 * first five tests came from helper-106's review: {@code validate} accepted these, {@code run} then exited 1
 * ("cannot bind 127.0.0.216:44100: Address already in use") and a reload to one was counted as applied with the
 * listener never bound (readyz 503, an ERROR every second). The others pin the messages, the place of the error
 * (the claimant written second) and what still shares a port or is no clash.
 */
class OwnListenerClashTest {

    @Test
    void aNodePortAtANodeAddressWhereAnotherServicesExternalIpListensIsRefused() {
        assertThat(errors("""
                proxy:
                  nodeAddresses: [127.0.0.216]
                  nodePortRange: 44000-44999
                services:
                  - {name: a, clusterIP: 127.0.10.216, externalIPs: [127.0.0.216], ports: [{port: 44100}]}
                  - {name: b, type: NodePort, clusterIP: 127.0.10.217, ports: [{port: 44000, nodePort: 44100}]}
                """)).singleElement().asString().startsWith("svcproxy.yaml:6:").contains("nodePort: 44100");
    }

    @Test
    void aNodePortAtANodeAddressThatIsAnotherServicesClusterIpAtThatPortIsRefused() {
        assertThat(errors("""
                proxy:
                  nodeAddresses: [127.0.10.216]
                  nodePortRange: 44000-44999
                services:
                  - {name: a, clusterIP: 127.0.10.216, ports: [{port: 44100}]}
                  - {name: b, type: NodePort, clusterIP: 127.0.10.217, ports: [{port: 44000, nodePort: 44100}]}
                """)).singleElement().asString().startsWith("svcproxy.yaml:6:").contains("nodePort: 44100");
    }

    @Test
    void anExternalIpAtTheAdminListenersAddressAndPortIsRefused() {
        // run: "svcproxy: cannot bind proxy.admin 127.0.0.216:44000: Address already in use", exit 1
        assertThat(errors("""
                proxy:
                  admin: 127.0.0.216:44000
                services:
                  - {name: a, clusterIP: 127.0.10.216, externalIPs: [127.0.0.216], ports: [{port: 44000}]}
                """)).singleElement().asString().startsWith("svcproxy.yaml:4:").contains("port: 44000");
    }

    @Test
    void aLoadBalancerIpAtTheIngressListenersAddressAndPortIsRefused() {
        // run: "svcproxy: cannot bind 127.0.0.216:44000: Address already in use", exit 1
        assertThat(errors("""
                proxy:
                  ingress: {http: 127.0.0.216:44000}
                  nodeAddresses: [127.0.0.219]
                  nodePortRange: 44000-44999
                services:
                  - {name: a, type: LoadBalancer, clusterIP: 127.0.10.216, loadBalancerIPs: [127.0.0.216],
                     ports: [{port: 44000, nodePort: 44100}]}
                """)).singleElement().asString().startsWith("svcproxy.yaml:6:").contains("44000");
    }

    @Test
    void aHealthCheckNodePortWhereTheAdminListensOnANodeAddressIsRefused() {
        // run: "svcproxy: cannot bind proxy.admin 127.0.0.216:44200: Address already in use", exit 1
        assertThat(errors("""
                proxy:
                  admin: 127.0.0.216:44200
                  nodeAddresses: [127.0.0.216]
                  nodePortRange: 44000-44999
                services:
                  - {name: b, type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 44200,
                     clusterIP: 127.0.10.217, ports: [{port: 44000, nodePort: 44100}]}
                """)).singleElement().asString().startsWith("svcproxy.yaml:6:").contains("healthCheckNodePort: 44200");
    }

    @Test
    void theMessagesNameBothClaimants() {
        assertThat(errors("""
                proxy:
                  admin: 127.0.0.216:44000
                  ingress: {http: 127.0.0.216:44001}
                  nodeAddresses: [127.0.0.216]
                  nodePortRange: 44000-44999
                services:
                  - name: a
                    clusterIP: 127.0.10.216
                    externalIPs: [127.0.0.216]
                    ports: [{name: x, port: 44000}, {name: y, port: 44100}]
                  - name: b
                    type: NodePort
                    clusterIP: 127.0.10.217
                    ports: [{port: 80, nodePort: 44100}]
                """)).containsExactly(
                "svcproxy.yaml:9:19: externalIPs[0]: 127.0.0.216 (expected: an address where svcproxy does not "
                        + "listen already at the Service's ports; with port: 44000 at line 10, 127.0.0.216:44000/TCP "
                        + "is its proxy.admin 127.0.0.216:44000)",
                "svcproxy.yaml:14:34: nodePort: 44100 (expected: a port where no other Service listens on the "
                        + "node's addresses; 127.0.0.216:44100/TCP is also an externalIP or loadBalancerIP of "
                        + "default/a at line 9)");
    }

    @Test
    void theClaimantWrittenSecondIsTheError() {
        // the nodePort first: the externalIP, and the clusterIP at its port, written later are the errors
        assertThat(errors("""
                proxy:
                  nodeAddresses: [127.0.0.216, 127.0.10.218]
                  nodePortRange: 44000-44999
                services:
                  - {name: b, type: NodePort, clusterIP: 127.0.10.217, ports: [{port: 80, nodePort: 44100}]}
                  - {name: a, clusterIP: 127.0.10.216, externalIPs: [127.0.0.216], ports: [{port: 44100}]}
                  - {name: c, clusterIP: 127.0.10.218, ports: [{port: 44100}]}
                """)).containsExactly(
                "svcproxy.yaml:6:54: externalIPs[0]: 127.0.0.216 (expected: an address, port and protocol of one "
                        + "Service only; 127.0.0.216:44100/TCP is also the nodePort of default/b at line 5)",
                "svcproxy.yaml:7:55: port: 44100 (expected: an address, port and protocol of one Service only; "
                        + "127.0.10.218:44100/TCP is also the nodePort of default/b at line 5)");
    }

    @Test
    void aHealthCheckNodePortAtAnotherServicesExternalIpOnANodeAddressIsRefused() {
        assertThat(errors("""
                proxy:
                  nodeAddresses: [127.0.0.216]
                  nodePortRange: 44000-44999
                services:
                  - {name: a, clusterIP: 127.0.10.216, externalIPs: [127.0.0.216], ports: [{port: 44200}]}
                  - {name: b, type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 44200,
                     clusterIP: 127.0.10.217, ports: [{port: 44000, nodePort: 44100}]}
                """)).containsExactly(
                "svcproxy.yaml:6:86: healthCheckNodePort: 44200 (expected: a port where no Service listens on the "
                        + "node's addresses; 127.0.0.216:44200/TCP is also an externalIP or loadBalancerIP of "
                        + "default/a at line 5)");
    }

    @Test
    void aListenerOnEveryAddressSharesItsPortWithTheServicesThere() {
        ProxyConfig config = parse("""
                proxy:
                  admin: 0.0.0.0:44000
                  ingress: {http: "0.0.0.0:44100", https: "[::]:44200"}
                  nodeAddresses: [127.0.0.216]
                  nodePortRange: 44000-44999
                services:
                  - name: a
                    type: LoadBalancer
                    externalTrafficPolicy: Local
                    healthCheckNodePort: 44200
                    clusterIP: 127.0.10.216
                    externalIPs: [127.0.0.217]
                    loadBalancerIPs: [127.0.0.218]
                    ports: [{name: x, port: 44000, nodePort: 44100}, {name: y, port: 44100, nodePort: 44000}]
                """);
        assertThat(config.services()).hasSize(1);
    }

    @Test
    void oneNodePortOnTwoProtocolsBesideAnotherServicesAddressOfTheOtherIsNoClash() {
        ProxyConfig config = parse("""
                proxy:
                  nodeAddresses: [127.0.0.216]
                  nodePortRange: 44000-44999
                services:
                  - name: dns
                    type: NodePort
                    clusterIP: 127.0.10.216
                    ports:
                      - {name: tcp, port: 53, nodePort: 44053}
                      - {name: udp, port: 53, protocol: UDP, nodePort: 44053}
                  - name: u
                    clusterIP: 127.0.10.217
                    externalIPs: [127.0.0.216]
                    ports: [{port: 44100, protocol: UDP}]
                  - name: t
                    type: NodePort
                    clusterIP: 127.0.10.218
                    ports: [{port: 80, nodePort: 44100}]
                """);
        assertThat(config.services()).hasSize(3);
    }

    @Test
    void aNodeAddressAsExternalIpAtAPortNoOneElseUsesIsNoClash() {
        // also the nodePort of the very Service port at its own externalIP: one listener (ServiceAddresses)
        ProxyConfig config = parse("""
                proxy:
                  admin: 127.0.0.216:44300
                  nodeAddresses: [127.0.0.216]
                  nodePortRange: 44000-44999
                services:
                  - {name: a, clusterIP: 127.0.10.216, externalIPs: [127.0.0.216], ports: [{port: 44500}]}
                  - name: b
                    type: NodePort
                    clusterIP: 127.0.10.217
                    externalIPs: [127.0.0.216]
                    ports: [{port: 44100, nodePort: 44100}]
                """);
        assertThat(config.services()).hasSize(2);
    }

    @Test
    void aServiceAddressInANodeAddressRangeIsLeftToTheRun() {
        // a CIDR stands for the host's addresses in it, known when the config is applied, not here
        ProxyConfig config = parse("""
                proxy:
                  nodeAddresses: [127.0.0.0/24]
                  nodePortRange: 44000-44999
                services:
                  - {name: a, clusterIP: 127.0.10.216, externalIPs: [127.0.0.216], ports: [{port: 44100}]}
                  - {name: b, type: NodePort, clusterIP: 127.0.10.217, ports: [{port: 44000, nodePort: 44100}]}
                """);
        assertThat(config.services()).hasSize(2);
    }
}
