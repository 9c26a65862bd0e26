package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** One test per validation message: its exact FILE:LINE:COLUMN and text. */
class ConfigValidationTest {

    // ------------------------------------------------------------------ keys

    @Test
    void reportsUnknownKeyWithDidYouMean() {
        assertThat(errors("""
                service:
                  - name: web
                """)).containsExactly("svcproxy.yaml:1:1: unknown key: service (did you mean 'services'?)");
    }

    @Test
    void reportsUnknownKeyListingTheKnownOnesWhenNoneIsClose() {
        assertThat(errors("""
                proxy:
                  color: blue
                """)).containsExactly("svcproxy.yaml:2:3: unknown key: color (expected: scheduler, admin, "
                + "connectTimeout, connectAttempts, idleTimeout, drainTimeout, vipInterface, outlierDetection, "
                + "maxConnections, connectQueue, fdGuard, udpIdleTimeout, maxUdpFlows, nodeAddresses, nodePortRange, "
                + "nodeName, ingress, connectionLog, transport)");
    }

    @Test
    void suggestsAKeyThatDiffersOnlyInCase() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    SESSIONAFFINITY: None
                    ports: [{port: 80}]
                """)).containsExactly(
                "svcproxy.yaml:4:5: unknown key: SESSIONAFFINITY (did you mean 'sessionAffinity'?)");
    }

    @Test
    void reportsUnknownKeyInsideAnEndpoint() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                    endpoints:
                      - ip: 10.0.0.1
                        wieght: 2
                """)).containsExactly("svcproxy.yaml:7:9: unknown key: wieght (did you mean 'weight'?)");
    }

    @Test
    void reportsDuplicateKeyAtTheSecondKey() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                    clusterIP: 127.0.10.2
                """)).containsExactly("svcproxy.yaml:5:5: duplicate key: clusterIP (first at line 3)");
    }

    @Test
    void reportsDuplicateKeyInAFlowMapping() {
        assertThat(errors("""
                services:
                  - {name: web, clusterIP: 127.0.10.1, ports: [{port: 80, port: 81}]}
                """)).containsExactly("svcproxy.yaml:2:59: duplicate key: port (first at line 2)");
    }

    @Test
    void rejectsMergeKeys() {
        assertThat(errors("""
                proxy:
                  <<: {scheduler: rr}
                """)).containsExactly("svcproxy.yaml:2:3: unknown key: << (merge keys are not supported)");
    }

    // ------------------------------------------------------------------ YAML syntax

    @Test
    void reportsYamlSyntaxErrorAtItsPosition() {
        assertThat(errors("""
                proxy:
                  scheduler: rr: wrr
                """)).containsExactly("svcproxy.yaml:2:16: mapping values are not allowed here");
    }

    @Test
    void reportsUnclosedFlowSequenceWithItsContext() {
        assertThat(errors("""
                services: [{name: web}
                pods: []
                """)).containsExactly("svcproxy.yaml:2:1: expected ',' or ']', but got <scalar> "
                + "(while parsing a flow sequence at line 1, column 11)");
    }

    @Test
    void reportsTabIndentation() {
        assertThat(errors("proxy:\n\tscheduler: rr\n")).singleElement().asString()
                .startsWith("svcproxy.yaml:2:1: found character '\\t(TAB)' that cannot start any token");
    }

    @Test
    void rejectsASecondDocument() {
        assertThat(errors("""
                proxy: {}
                ---
                pods: []
                """)).containsExactly("svcproxy.yaml:2:1: but found another document "
                + "(expected a single document in the stream at line 1, column 1)");
    }

    @Test
    void reportsAnUndefinedAlias() {
        assertThat(errors("""
                proxy: *nothing
                """)).containsExactly("svcproxy.yaml:1:8: found undefined alias nothing");
    }

    @Test
    void rejectsAControlCharacter() {
        assertThat(errors("proxy:\n  scheduler: r\u0001r\n")).containsExactly(
                "svcproxy.yaml:2:15: unacceptable code point U+0001 (special characters are not allowed)");
    }

    @Test
    void rejectsTooManyAliases() {
        StringBuilder yaml = new StringBuilder("labels: &l {a: b}\npods:\n");
        for (int i = 0; i < 60; i++) {
            yaml.append("  - {name: p").append(i).append(", ip: 10.0.0.1, labels: *l}\n");
        }
        assertThat(errors(yaml.toString())).singleElement().asString()
                .isEqualTo("svcproxy.yaml:53:39: too many aliases: more than 50 aliases of collections (the limit, "
                        + "against alias bombs)"); // the 51st alias
    }

    @Test
    void rejectsDeepNesting() {
        String yaml = "pods: " + "[".repeat(60) + "]".repeat(60) + "\n";
        assertThat(errors(yaml)).containsExactly("svcproxy.yaml:1:56: nested too deep: more than 50 levels of "
                + "collections (the limit)"); // the 50th [: the collection the 51st level would be in
    }

    // ------------------------------------------------------------------ types

    @Test
    void rejectsAListAtTheTop() {
        assertThat(errors("""
                - name: web
                """)).containsExactly("svcproxy.yaml:1:1: config: a list (expected: a map of proxy, registry, "
                + "services, pods, ingresses)");
    }

    @Test
    void rejectsAMapWhereAListOfServicesIsExpected() {
        assertThat(errors("""
                services:
                  name: web
                """)).containsExactly("svcproxy.yaml:2:3: services: a map (expected: a list of Services)");
    }

    @Test
    void rejectsAListWhereTheProxySectionIsExpected() {
        assertThat(errors("""
                proxy: [rr]
                """)).containsExactly("svcproxy.yaml:1:8: proxy: a list (expected: a map of scheduler, admin, "
                + "connectTimeout, connectAttempts, idleTimeout, drainTimeout, vipInterface, outlierDetection, "
                + "maxConnections, connectQueue, fdGuard, udpIdleTimeout, maxUdpFlows, nodeAddresses, nodePortRange, "
                + "nodeName, ingress, connectionLog, transport)");
    }

    @Test
    void rejectsAScalarWhereAPortIsExpected() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [80]
                """)).containsExactly("svcproxy.yaml:4:13: ports[0]: 80 (expected: a port: a map of name, "
                + "protocol, port, targetPort, udpIdleTimeout, udpResponses, proxyProtocol, nodePort)");
    }

    @Test
    void rejectsAListWhereASelectorIsExpected() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    selector: [app]
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:4:15: selector: a list (expected: a map of label to value)");
    }

    @Test
    void rejectsAQuotedPortNumber() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: "80"}]
                """)).containsExactly("svcproxy.yaml:4:20: port: 80 (expected: a number 1..65535, not a string: without quotes)");
    }

    // ------------------------------------------------------------------ proxy section

    @Test
    void rejectsAnUnknownDefaultScheduler() {
        assertThat(errors("""
                proxy:
                  scheduler: fifo
                """)).containsExactly(
                "svcproxy.yaml:2:14: scheduler: fifo (expected: rr, wrr, lc, wlc, sed, nq, dh, sh, mh, random)");
    }

    @Test
    void rejectsAnAdminHostName() {
        assertThat(errors("""
                proxy:
                  admin: localhost:9901
                """)).containsExactly("svcproxy.yaml:2:10: admin: localhost:9901 (expected: IP:PORT, such as "
                + "127.0.0.1:9901 or [::1]:9901, or off)");
    }

    @Test
    void rejectsAdminTrue() {
        assertThat(errors("""
                proxy:
                  admin: true
                """)).containsExactly("svcproxy.yaml:2:10: admin: true (expected: IP:PORT, such as "
                + "127.0.0.1:9901 or [::1]:9901, or off)");
    }

    @Test
    void rejectsConnectAttemptsBelowOne() {
        assertThat(errors("""
                proxy:
                  connectAttempts: 0
                """)).containsExactly("svcproxy.yaml:2:20: connectAttempts: 0 (expected: 1..100)");
    }

    @Test
    void rejectsABadDuration() {
        assertThat(errors("""
                proxy:
                  connectTimeout: 2 sec
                """)).containsExactly("svcproxy.yaml:2:19: connectTimeout: 2 sec (expected: a duration: 250ms, "
                + "2s, 5m, 1h, or a whole number of seconds)");
    }

    @Test
    void rejectsADurationOutOfRange() {
        assertThat(errors("""
                proxy:
                  connectTimeout: 0s
                  idleTimeout: 9000h
                """)).containsExactly(
                "svcproxy.yaml:2:19: connectTimeout: 0s (expected: 1ms..1h)",
                "svcproxy.yaml:3:16: idleTimeout: 9000h (expected: 1ms..8760h)");
    }

    @Test
    void rejectsABadInterfaceName() {
        assertThat(errors("""
                proxy:
                  vipInterface: "no spaces allowed"
                """)).containsExactly("svcproxy.yaml:2:17: vipInterface: no spaces allowed (expected: an "
                + "interface name: at most 15 of [A-Za-z0-9_.-], or \"\" for none)");
    }

    // ------------------------------------------------------------------ Service fields

    @Test
    void reportsAMissingNameAtTheService() {
        assertThat(errors("""
                services:
                  - clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:2:5: name: missing (expected: a DNS-1035 label: "
                + "[a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters)");
    }

    @Test
    void reportsAnEmptyNameAtItsKey() {
        assertThat(errors("""
                services:
                  - name:
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:2:5: name: missing (expected: a DNS-1035 label: "
                + "[a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters)");
    }

    @Test
    void rejectsANameThatIsNotADns1035Label() {
        assertThat(errors("""
                services:
                  - name: 1web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:2:11: name: 1web (expected: a DNS-1035 label: "
                + "[a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters)");
    }

    @Test
    void rejectsANameLongerThan63() {
        String name = "a".repeat(64);
        assertThat(errors("services:\n  - name: " + name + "\n    clusterIP: 127.0.10.1\n    ports: [{port: 80}]\n"))
                .containsExactly("svcproxy.yaml:2:11: name: " + name + " (expected: a DNS-1035 label: "
                        + "[a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters)");
    }

    @Test
    void rejectsABadNamespace() {
        assertThat(errors("""
                services:
                  - name: web
                    namespace: Prod
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:3:16: namespace: Prod (expected: a DNS-1123 label: "
                + "[a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters)");
    }

    @Test
    void reportsAMissingClusterIp() {
        assertThat(errors("""
                services:
                  - name: web
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:2:5: clusterIP: missing (expected: an IPv4 or IPv6 address)");
    }

    @Test
    void neverResolvesAHostNameAsClusterIp() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: localhost
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:3:16: clusterIP: localhost (expected: an IPv4 or IPv6 address)");
    }

    @Test
    void rejectsAnIpv4WithLeadingZeros() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.01
                    ports: [{port: 80}]
                """)).containsExactly(
                "svcproxy.yaml:3:16: clusterIP: 127.0.10.01 (expected: an IPv4 or IPv6 address)");
    }

    @Test
    void rejectsAnUnspecifiedClusterIp() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 0.0.0.0
                    ports: [{port: 80}]
                """)).containsExactly(
                "svcproxy.yaml:3:16: clusterIP: 0.0.0.0 (expected: a unicast address, not unspecified)");
    }

    /** IPv4's limited broadcast address serves nothing: it was taken, and only the bind said no, or a UDP bind did not. */
    @Test
    void rejectsTheBroadcastAddressAsAClusterIp() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 255.255.255.255
                    ports: [{port: 80}]
                """)).containsExactly(
                "svcproxy.yaml:3:16: clusterIP: 255.255.255.255 (expected: a unicast address, not broadcast)");
    }

    @Test
    void rejectsAnIpv6ZoneIndex() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: fe80::1%eth0
                    ports: [{port: 80}]
                """)).containsExactly(
                "svcproxy.yaml:3:16: clusterIP: fe80::1%eth0 (expected: an IPv4 or IPv6 address)");
    }

    @Test
    void rejectsAnUnknownServiceScheduler() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    scheduler: fifo
                    ports: [{port: 80}]
                """)).containsExactly(
                "svcproxy.yaml:4:16: scheduler: fifo (expected: rr, wrr, lc, wlc, sed, nq, dh, sh, mh, random)");
    }

    @Test
    void rejectsAnUnknownFlagListingTheValidOnes() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    scheduler: sh
                    schedulerFlags: [sh-fallbak]
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:5:22: schedulerFlags[0]: sh-fallbak (expected: sh-fallback, "
                + "sh-port, mh-fallback, mh-port)");
    }

    @Test
    void rejectsAFlagOfAnotherScheduler() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    scheduler: mh
                    schedulerFlags: [mh-port, sh-port]
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:5:31: schedulerFlags[1]: sh-port (expected: a flag of "
                + "scheduler mh: mh-fallback, mh-port)");
    }

    @Test
    void rejectsAFlagOfTheDefaultSchedulerThatHasNone() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    schedulerFlags: [sh-port]
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:4:22: schedulerFlags[0]: sh-port (expected: no flags; "
                + "scheduler rr has none)");
    }

    @Test
    void acceptsFlagsOfTheDefaultScheduler() {
        ProxyConfig config = parse("""
                proxy: {scheduler: sh}
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    schedulerFlags: [sh-port, sh-fallback]
                    ports: [{port: 80}]
                """);
        assertThat(config.services().get(0).scheduler()).isEqualTo("sh");
        assertThat(config.services().get(0).schedulerFlags()).hasSize(2);
    }

    @Test
    void rejectsARepeatedFlag() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    scheduler: sh
                    schedulerFlags: [sh-port, sh-port]
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:5:31: schedulerFlags[1]: sh-port (expected: each flag once)");
    }

    @Test
    void rejectsAnUnknownSessionAffinity() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    sessionAffinity: clientip
                    ports: [{port: 80}]
                """)).containsExactly(
                "svcproxy.yaml:4:22: sessionAffinity: clientip (expected: None or ClientIP)");
    }

    @Test
    void rejectsASessionAffinityTimeoutOutOfKubernetesRange() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    sessionAffinity: ClientIP
                    sessionAffinityTimeout: 86401
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:5:29: sessionAffinityTimeout: 86401 (expected: 1s..86400s)");
    }

    @Test
    void acceptsASessionAffinityTimeoutWithNoneAndIgnoresIt() {
        ProxyConfig config = parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    sessionAffinity: None
                    sessionAffinityTimeout: 3h
                    ports: [{port: 80}]
                """);
        assertThat(config.services().get(0).sessionAffinity())
                .isEqualTo(io.svcproxy.balancer.SessionAffinity.NONE);
    }

    // ------------------------------------------------------------------ Service ports

    @Test
    void reportsMissingPorts() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                """)).containsExactly("svcproxy.yaml:2:5: ports: missing (expected: a list of at least one port)");
    }

    @Test
    void rejectsAnEmptyPortList() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: []
                """)).containsExactly("svcproxy.yaml:4:12: ports: [] (expected: a list of at least one port)"
                .replace("ports: []", "ports: a list"));
    }

    @Test
    void rejectsAPortOutOfRange() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports:
                      - port: 0
                      - port: 65536
                        name: b
                """)).containsExactly(
                "svcproxy.yaml:5:9: name: missing (expected: a port name; required when a Service has more than "
                        + "one port)",
                "svcproxy.yaml:5:15: port: 0 (expected: 1..65535)",
                "svcproxy.yaml:6:15: port: 65536 (expected: 1..65535)");
    }

    @Test
    void reportsAMissingPortNumber() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{name: http}]
                """)).containsExactly("svcproxy.yaml:4:14: port: missing (expected: 1..65535)");
    }

    @Test
    void requiresPortNamesWhenThereAreSeveralPorts() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports:
                      - {name: http, port: 80}
                      - {port: 443}
                """)).containsExactly("svcproxy.yaml:6:10: name: missing (expected: a port name; required when a "
                + "Service has more than one port)");
    }

    @Test
    void rejectsDuplicatePortNames() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports:
                      - {name: http, port: 80}
                      - {name: http, port: 443}
                """)).containsExactly(
                "svcproxy.yaml:6:16: name: http (expected: a name unique in the Service; also at line 5)");
    }

    @Test
    void acceptsUdpAndTcpOnOnePortNumber() throws Exception {
        ProxyConfig config = ConfigLoader.parse("""
                proxy: {udpIdleTimeout: 5s, maxUdpFlows: 1000}
                services:
                  - name: kube-dns
                    clusterIP: 127.0.10.53
                    ports:
                      - {name: dns, protocol: UDP, port: 53, targetPort: 5353, udpResponses: 1, udpIdleTimeout: 2s}
                      - {name: dns-tcp, protocol: TCP, port: 53, targetPort: 5353}
                    endpoints: [{ip: 127.0.0.53}]
                """, "svcproxy.yaml");
        assertThat(config.proxy().udp()).isEqualTo(new UdpSettings(java.time.Duration.ofSeconds(5), 1000));
        PortSpec dns = config.services().get(0).ports().get(0);
        assertThat(dns.protocol()).isEqualTo(Protocol.UDP);
        assertThat(dns.udpResponses()).isEqualTo(1);
        assertThat(dns.udpIdleTimeout()).isEqualTo(java.time.Duration.ofSeconds(2));
        assertThat(ServicePorts.resolve(config)).extracting(s -> s.key().toString())
                .containsExactly("127.0.10.53:53/UDP", "127.0.10.53:53/TCP");
    }

    @Test
    void rejectsUdpKeysOnATcpPortAndOutOfRangeUdpValues() {
        assertThat(errors("""
                proxy: {udpIdleTimeout: 1ms, maxUdpFlows: 0}
                services:
                  - name: dns
                    clusterIP: 127.0.10.1
                    ports:
                      - {name: a, port: 53, udpResponses: 1}
                      - {name: b, port: 54, protocol: UDP, udpResponses: 0, udpIdleTimeout: 25h}
                """)).containsExactly(
                "svcproxy.yaml:1:25: udpIdleTimeout: 1ms (expected: 10ms..24h)",
                "svcproxy.yaml:1:43: maxUdpFlows: 0 (expected: 1..10000000)",
                "svcproxy.yaml:6:43: udpResponses: 1 (expected: only on a port with protocol: UDP)",
                "svcproxy.yaml:7:58: udpResponses: 0 (expected: 1..1000000)",
                "svcproxy.yaml:7:77: udpIdleTimeout: 25h (expected: 10ms..24h)");
    }

    @Test
    void acceptsProxyProtocolAndRefusesV1OnUdpAndUnknownVersions() throws Exception {
        ProxyConfig config = ConfigLoader.parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports:
                      - {name: a, port: 80, proxyProtocol: v1}
                      - {name: b, port: 81, proxyProtocol: v2}
                    endpoints: [{ip: 127.0.0.1}]
                """, "svcproxy.yaml");
        assertThat(config.services().get(0).ports()).extracting(PortSpec::proxyProtocol)
                .containsExactly(ProxyProtocol.V1, ProxyProtocol.V2);
        assertThat(errors("""
                services:
                  - name: dns
                    clusterIP: 127.0.10.1
                    ports:
                      - {name: a, port: 53, protocol: UDP, proxyProtocol: v1}
                      - {name: b, port: 54, proxyProtocol: v3}
                """)).containsExactly(
                "svcproxy.yaml:5:59: proxyProtocol: v1 (expected: v2 on a UDP port; v1 has no datagram form)",
                "svcproxy.yaml:6:44: proxyProtocol: v3 (expected: v1 or v2)");
    }

    @Test
    void rejectsTwoUdpPortsOnOneAddress() {
        assertThat(errors("""
                services:
                  - name: a
                    clusterIP: 127.0.10.1
                    ports: [{port: 53, protocol: UDP}]
                  - name: b
                    clusterIP: 127.0.10.1
                    ports: [{port: 53, protocol: UDP}]
                """)).singleElement().asString().startsWith("svcproxy.yaml:7:")
                .contains("127.0.10.1:53/UDP");
    }

    @Test
    void rejectsSctp() {
        assertThat(errors("""
                services:
                  - name: sig
                    clusterIP: 127.0.10.1
                    ports: [{port: 2905, protocol: SCTP}]
                """)).containsExactly(
                "svcproxy.yaml:4:36: protocol: SCTP (expected: TCP or UDP; SCTP is not supported)");
    }

    @Test
    void rejectsAnUnknownProtocol() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80, protocol: tcp}]
                """)).containsExactly("svcproxy.yaml:4:34: protocol: tcp (expected: TCP or UDP)");
    }

    @Test
    void rejectsABadTargetPortName() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    selector: {app: web}
                    ports: [{port: 80, targetPort: Http}]
                """)).containsExactly("svcproxy.yaml:5:36: targetPort: Http (expected: a port number 1..65535, or "
                + "an IANA service name: at most 15 lowercase letters, digits and '-', with a letter, no '--')");
    }

    @Test
    void rejectsATargetPortOutOfRange() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80, targetPort: 0}]
                """)).containsExactly("svcproxy.yaml:4:36: targetPort: 0 (expected: 1..65535)");
    }

    // ------------------------------------------------------------------ between Services

    @Test
    void rejectsDuplicateServiceNamesInANamespace() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                  - name: web
                    clusterIP: 127.0.10.2
                    ports: [{port: 80}]
                """)).containsExactly(
                "svcproxy.yaml:5:11: name: web (expected: a name unique in namespace default; also at line 2)");
    }

    @Test
    void acceptsTheSameServiceNameInTwoNamespaces() {
        ProxyConfig config = parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                  - name: web
                    namespace: staging
                    clusterIP: 127.0.10.2
                    ports: [{port: 80}]
                """);
        assertThat(config.services()).extracting(ServiceSpec::qualifiedName)
                .containsExactly("default/web", "staging/web");
    }

    @Test
    void rejectsTwoServicesOnOneClusterIpPortAndProtocol() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                  - name: api
                    clusterIP: 127.0.10.1
                    ports:
                      - {name: http, port: 80}
                """)).containsExactly("svcproxy.yaml:8:28: port: 80 (expected: a clusterIP, port and protocol of "
                + "one Service only; 127.0.10.1:80/TCP is also default/web at line 4)");
    }

    @Test
    void rejectsOnePortTwiceInOneService() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: "::1"
                    ports:
                      - {name: a, port: 80}
                      - {name: b, port: 80, targetPort: 8080}
                """)).containsExactly("svcproxy.yaml:6:25: port: 80 (expected: a clusterIP, port and protocol of "
                + "one Service only; [::1]:80/TCP is also default/web at line 5)");
    }

    // ------------------------------------------------------------------ endpoints

    @Test
    void rejectsSelectorAndEndpointsTogether() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    selector: {app: web}
                    ports: [{port: 80}]
                    endpoints: [{ip: 10.0.0.1}]
                """)).containsExactly(
                "svcproxy.yaml:6:5: endpoints: not allowed with a selector (expected: either selector or endpoints)");
    }

    @Test
    void acceptsEndpointsWithAnEmptySelector() {
        ProxyConfig config = parse("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    selector: {}
                    ports: [{port: 80}]
                    endpoints: [{ip: 10.0.0.1}]
                """);
        assertThat(config.services().get(0).selector()).isNull();
    }

    @Test
    void rejectsANamedTargetPortWithEndpoints() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{name: http, port: 80, targetPort: web}]
                    endpoints: [{ip: 10.0.0.1, port: 8080}]
                """)).containsExactly("svcproxy.yaml:4:48: targetPort: web (expected: a port number; a Service "
                + "with endpoints has no Pods to name ports)");
    }

    @Test
    void rejectsAnEndpointWithNeitherPortNorNumericTargetPort() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{name: http, port: 80, targetPort: web}]
                    endpoints:
                      - ip: 10.0.0.1
                """)).containsExactly(
                "svcproxy.yaml:4:48: targetPort: web (expected: a port number; a Service with endpoints has no "
                        + "Pods to name ports)",
                "svcproxy.yaml:6:9: endpoints[0]: no port for Service port http (expected: port, or ports.http, "
                        + "or a numeric targetPort)");
    }

    @Test
    void rejectsAnEndpointPortOnAServiceWithSeveralPorts() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports:
                      - {name: http, port: 80}
                      - {name: https, port: 443}
                    endpoints:
                      - ip: 10.0.0.1
                        port: 8080
                """)).containsExactly(
                "svcproxy.yaml:9:15: port: 8080 (expected: ports by port name; the Service has 2 ports)");
    }

    @Test
    void rejectsEndpointPortsNamingAnUnknownServicePort() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports:
                      - {name: http, port: 80}
                      - {name: https, port: 443}
                    endpoints:
                      - ip: 10.0.0.1
                        ports: {http: 8080, metrics: 9090}
                """)).containsExactly(
                "svcproxy.yaml:9:29: ports: metrics (expected: a port name of the Service: http, https)");
    }

    @Test
    void rejectsABadPortInEndpointPortsOnce() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{name: http, port: 80}, {name: admin, port: 81}]
                    endpoints:
                      - ip: 10.0.0.1
                        ports: {http: 99999}
                """)).containsExactly("svcproxy.yaml:7:23: ports[http]: 99999 (expected: 1..65535)");
    }

    @Test
    void rejectsPortAndPortsTogether() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{name: http, port: 80}]
                    endpoints:
                      - ip: 10.0.0.1
                        port: 8080
                        ports: {http: 8080}
                """)).containsExactly(
                "svcproxy.yaml:8:9: ports: not allowed with port (expected: one of port or ports)");
    }

    @Test
    void rejectsAnEndpointWeightOutOfRange() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                    endpoints:
                      - {ip: 10.0.0.1, weight: -1}
                      - {ip: 10.0.0.2, weight: 65536}
                """)).containsExactly(
                "svcproxy.yaml:6:32: weight: -1 (expected: 0..65535)",
                "svcproxy.yaml:7:32: weight: 65536 (expected: 0..65535)");
    }

    @Test
    void reportsAMissingEndpointIp() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    ports: [{port: 80}]
                    endpoints:
                      - port: 8080
                """)).containsExactly("svcproxy.yaml:6:9: ip: missing (expected: an IPv4 or IPv6 address)");
    }

    // ------------------------------------------------------------------ Pods

    @Test
    void rejectsDuplicatePodNamesInANamespace() {
        assertThat(errors("""
                pods:
                  - {name: app-1, ip: 10.0.0.1}
                  - {name: app-1, namespace: other, ip: 10.0.0.2}
                  - {name: app-1, ip: 10.0.0.3}
                """)).containsExactly(
                "svcproxy.yaml:4:12: name: app-1 (expected: a name unique in namespace default; also at line 2)");
    }

    @Test
    void rejectsBadPodFields() {
        assertThat(errors("""
                pods:
                  - name: App
                    ip: 10.0.0.300
                    labels: {app: "a b"}
                    ready: maybe
                    weight: 70000
                """)).containsExactly(
                "svcproxy.yaml:2:11: name: App (expected: a DNS-1123 subdomain: dot-separated DNS-1123 labels, "
                        + "at most 253 characters)",
                "svcproxy.yaml:3:9: ip: 10.0.0.300 (expected: an IPv4 or IPv6 address)",
                "svcproxy.yaml:4:19: labels[app]: a b (expected: a label value: at most 63 of [-A-Za-z0-9_.], "
                        + "alphanumeric at the ends)",
                "svcproxy.yaml:5:12: ready: maybe (expected: true or false)",
                "svcproxy.yaml:6:13: weight: 70000 (expected: 0..65535)");
    }

    @Test
    void aNumberOrBooleanWrittenAsAStringOrWithALeadingZeroSaysSo() {
        // Kubernetes refuses a quoted port too, but its message says string against integer; 010 is octal 8 to
        // YAML 1.1 (kubectl) and 10 to YAML 1.2
        assertThat(errors("""
                pods:
                  - name: app
                    ip: 127.0.0.5
                    ready: "true"
                    weight: '2'
                    ports: [{name: http, containerPort: 010}, {name: dns, containerPort: !!str 53}]
                """)).containsExactly(
                "svcproxy.yaml:4:12: ready: true (expected: true or false, not a string: without quotes)",
                "svcproxy.yaml:5:13: weight: 2 (expected: a number 0..65535, not a string: without quotes)",
                "svcproxy.yaml:6:41: containerPort: 010 (expected: 1..65535, without a leading zero)",
                "svcproxy.yaml:6:74: containerPort: 53 (expected: a number 1..65535, not tagged !!str: without the "
                        + "tag)");
    }

    @Test
    void anIpv4MappedIpv6AddressIsRefusedNotTakenAsIpv4() {
        assertThat(errors("""
                pods:
                  - {name: app, ip: "::ffff:127.0.0.5"}
                """)).containsExactly("svcproxy.yaml:2:21: ip: ::ffff:127.0.0.5 (expected: an IPv4 or IPv6 address; "
                + "an IPv4 address is written as IPv4, not IPv4-mapped IPv6)");
    }

    @Test
    void reportsMissingPodNameAndIp() {
        assertThat(errors("""
                pods:
                  - labels: {app: web}
                """)).containsExactly(
                "svcproxy.yaml:2:5: name: missing (expected: a DNS-1123 subdomain: dot-separated DNS-1123 "
                        + "labels, at most 253 characters)",
                "svcproxy.yaml:2:5: ip: missing (expected: an IPv4 or IPv6 address)");
    }

    @Test
    void rejectsBadContainerPorts() {
        assertThat(errors("""
                pods:
                  - name: app-1
                    ip: 10.0.0.1
                    ports:
                      - {name: http, containerPort: 8080}
                      - {name: http, containerPort: 8081}
                      - {name: no--way, containerPort: 8082}
                      - {name: x, protocol: QUIC}
                """)).containsExactly(
                "svcproxy.yaml:6:16: name: http (expected: a name unique in the Pod; also at line 5)",
                "svcproxy.yaml:7:16: name: no--way (expected: an IANA service name: at most 15 lowercase letters, "
                        + "digits and '-', with a letter, no '--')",
                "svcproxy.yaml:8:10: containerPort: missing (expected: 1..65535)",
                "svcproxy.yaml:8:29: protocol: QUIC (expected: TCP, UDP or SCTP)");
    }

    @Test
    void rejectsABadSelectorKey() {
        assertThat(errors("""
                services:
                  - name: web
                    clusterIP: 127.0.10.1
                    selector: {"app name": web}
                    ports: [{port: 80}]
                """)).containsExactly("svcproxy.yaml:4:16: selector: app name (expected: a label key: "
                + "[prefix/]name, name at most 63 of [-A-Za-z0-9_.])");
    }

    // ------------------------------------------------------------------ registry section

    @Test
    void rejectsBadRegistryValues() {
        assertThat(errors("""
                registry:
                  files: pods.yaml
                  kubernetes:
                    namespaces: [Default]
                    kubeconfg: x
                """)).containsExactly(
                "svcproxy.yaml:2:10: files: pods.yaml (expected: a list of file paths)",
                "svcproxy.yaml:4:18: namespaces[0]: Default (expected: a DNS-1123 label: "
                        + "[a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters)",
                "svcproxy.yaml:5:5: unknown key: kubeconfg (did you mean 'kubeconfig'?)");
    }

    // ------------------------------------------------------------------ all at once

    @Test
    void reportsEveryProblemInFileOrder() {
        assertThat(errors("""
                proxy:
                  scheduler: fifo
                  conectAttempts: 3
                services:
                  - name: Web
                    clusterIP: 127.0.10.1
                    ports:
                      - port: 80
                        protocol: SCTP
                    endpoints:
                      - {ip: 10.0.0.1, weight: -1}
                pods:
                  - {name: a, ip: nowhere}
                """)).containsExactly(
                "svcproxy.yaml:2:14: scheduler: fifo (expected: rr, wrr, lc, wlc, sed, nq, dh, sh, mh, random)",
                "svcproxy.yaml:3:3: unknown key: conectAttempts (did you mean 'connectAttempts'?)",
                "svcproxy.yaml:5:11: name: Web (expected: a DNS-1035 label: [a-z]([-a-z0-9]*[a-z0-9])?, at most "
                        + "63 characters)",
                "svcproxy.yaml:9:19: protocol: SCTP (expected: TCP or UDP; SCTP is not supported)",
                "svcproxy.yaml:11:32: weight: -1 (expected: 0..65535)",
                "svcproxy.yaml:13:19: ip: nowhere (expected: an IPv4 or IPv6 address)");
    }

    @Test
    void carriesThePathOfEveryError() throws Exception {
        try {
            ConfigLoader.parse("""
                    services:
                      - name: web
                        clusterIP: 127.0.10.1
                        ports: [{port: 80}]
                      - name: api
                        clusterIP: 127.0.10.2
                        ports: [{port: 80}]
                        endpoints: [{ip: 10.0.0.1, weight: -1}]
                    """, "svcproxy.yaml");
            throw new AssertionError("expected an error");
        } catch (ConfigException e) {
            assertThat(e.errors()).singleElement()
                    .extracting(ConfigError::path).isEqualTo("services[1].endpoints[0].weight");
        }
    }
}
