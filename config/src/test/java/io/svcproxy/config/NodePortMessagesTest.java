package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Messages of the nodePort and healthCheckNodePort checks. From helper-125's review: a wrong nodePortRange was
 * reported, and then every nodePort again against the default range put in its place (a range the file never
 * names); and a clash with a healthCheckNodePort was worded as one with a nodePort (the checks share one map of the
 * numbers taken, which did not say as what).
 */
class NodePortMessagesTest {
    static final String EPS = "    endpoints: [{ip: 127.0.0.32}]\n";

    /**
     * A nodePortRange that is wrong is reported; a nodePort inside the range the user wrote is then also reported,
     * as outside "proxy.nodePortRange 30000-32767", a range the file never names (the default, put in its place).
     */
    @Test
    void aWrongNodePortRangeIsOneErrorNotAlsoOneAtEveryNodePortAgainstTheDefault() {
        assertThat(errors("proxy: {nodePortRange: 40000-30000}\nservices:\n  - name: s\n    clusterIP: 127.0.10.94\n"
                + "    type: NodePort\n    ports: [{port: 80, nodePort: 35000}]\n" + EPS))
                .containsExactly("svcproxy.yaml:1:24: nodePortRange: 40000-30000 (expected: LOW-HIGH, two ports "
                        + "1..65535 with LOW <= HIGH, such as 30000-32767)");
    }

    /** The same for a healthCheckNodePort, and a nodePort left out names no range. */
    @Test
    void aWrongNodePortRangeIsNotNamedNorUsedAtTheOtherChecks() {
        assertThat(errors("proxy: {nodePortRange: 40000-30000}\nservices:\n  - name: s\n    clusterIP: 127.0.10.94\n"
                + "    type: LoadBalancer\n    externalTrafficPolicy: Local\n    healthCheckNodePort: 35001\n"
                + "    ports: [{port: 80, nodePort: 35000}]\n" + EPS
                + "  - name: t\n    clusterIP: 127.0.10.95\n    type: NodePort\n    ports: [{port: 80}]\n" + EPS))
                .containsExactly("svcproxy.yaml:1:24: nodePortRange: 40000-30000 (expected: LOW-HIGH, two ports "
                                + "1..65535 with LOW <= HIGH, such as 30000-32767)",
                        "svcproxy.yaml:13:14: nodePort: missing (expected: a port in proxy.nodePortRange; required for "
                                + "type NodePort)");
    }

    /**
     * A nodePort at the number of a healthCheckNodePort was refused as "a nodePort of one Service port only; ... is
     * also at line 6", and two healthCheckNodePorts of one number as "a port no Service port has as nodePort/TCP":
     * line 6 holds a healthCheckNodePort, not a nodePort. The message names what is at the other line.
     */
    @Test
    void aClashWithAHealthCheckNodePortSaysSo() {
        String lb = "    type: LoadBalancer\n    externalTrafficPolicy: Local\n    healthCheckNodePort: 30005\n";
        assertThat(errors("services:\n  - name: s\n    clusterIP: 127.0.10.94\n" + lb
                + "    ports: [{port: 80, nodePort: 30001}]\n" + EPS
                + "  - name: t\n    clusterIP: 127.0.10.95\n    type: NodePort\n    ports: [{port: 53, nodePort: 30005}]\n"
                + EPS))
                .singleElement().asString().startsWith("svcproxy.yaml:12:34: nodePort: 30005").contains("healthCheckNodePort");
        assertThat(errors("services:\n  - name: s\n    clusterIP: 127.0.10.94\n" + lb
                + "    ports: [{port: 80, nodePort: 30001}]\n" + EPS
                + "  - name: t\n    clusterIP: 127.0.10.95\n" + lb + "    ports: [{port: 80, nodePort: 30002}]\n" + EPS))
                .singleElement().asString().startsWith("svcproxy.yaml:13:26: healthCheckNodePort: 30005")
                .doesNotContain("as nodePort/TCP");
    }
}
