package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** helper-125's review: messages of the nodePort and healthCheckNodePort checks. */
class H125ReviewExposureMessagesTest {
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

    /**
     * A nodePort at the number of a healthCheckNodePort is refused as "a nodePort of one Service port only; ... is
     * also at line 6", and two healthCheckNodePorts of one number as "a port no Service port has as nodePort/TCP":
     * line 6 holds a healthCheckNodePort, not a nodePort. The message should name what is at the other line.
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
