package io.svcproxy.config;

import static io.svcproxy.config.ConfigAssertions.errors;
import static io.svcproxy.config.ConfigAssertions.parse;
import static org.assertj.core.api.Assertions.assertThat;

import io.svcproxy.balancer.SchedulerFlag;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The {@code registry.kubernetes} section: its values and one test per validation message. */
class KubernetesSettingsTest {

    @Test
    void readsNodeZoneAndSchedulersPerService() {
        KubernetesSettings k = parse("""
                registry:
                  kubernetes:
                    namespaces: [default, prod]
                    nodeName: node-a.example
                    zone: eu-west-1a
                    services:
                      - {name: web, scheduler: sh, schedulerFlags: [sh-port]}
                      - {namespace: prod, name: api, scheduler: lc}
                """).registry().kubernetes();

        assertThat(k.kubeconfig()).isNull();
        assertThat(k.namespaces()).containsExactly("default", "prod");
        assertThat(k.nodeName()).isEqualTo("node-a.example");
        assertThat(k.zone()).isEqualTo("eu-west-1a");
        assertThat(k.services()).containsExactly(
                new KubernetesSettings.ServiceScheduler("default", "web", "sh", Set.of(SchedulerFlag.SH_PORT)),
                new KubernetesSettings.ServiceScheduler("prod", "api", "lc", Set.of()));
        assertThat(k.scheduler("prod", "api").scheduler()).isEqualTo("lc");
        assertThat(k.scheduler("default", "api")).isNull();
    }

    @Test
    void leavesNodeAndZoneToTheSourceWhenNotWritten() {
        KubernetesSettings k = parse("""
                registry:
                  kubernetes: {}
                """).registry().kubernetes();

        assertThat(k).isEqualTo(new KubernetesSettings(null, List.of()));
        assertThat(k.nodeName()).isNull();
        assertThat(k.zone()).isNull();
        assertThat(k.services()).isEmpty();
    }

    @Test
    void kubernetesWrittenWithNoValueIsTheApiWithTheDefaultsAsAnEmptyMap() {
        // every key commented out: still the Kubernetes API, not the key left out
        KubernetesSettings k = parse("""
                registry:
                  kubernetes:
                  #  kubeconfig: ~/.kube/config
                """).registry().kubernetes();

        assertThat(k).isEqualTo(new KubernetesSettings(null, List.of()));
    }

    @Test
    void kubernetesWrittenAsAnExplicitNullIsAnErrorNotTheApi() {
        // "kubernetes: ~" reads as "off" to many; the key given would turn the API on
        assertThat(errors("registry:\n  kubernetes: ~\n")).containsExactly("svcproxy.yaml:2:3: kubernetes: ~ "
                + "(expected: a map of kubeconfig, namespaces, nodeName, zone, services, or {} for the defaults; "
                + "leave the key out to not watch the Kubernetes API)");
        assertThat(errors("registry:\n  kubernetes: null\n")).singleElement().asString()
                .startsWith("svcproxy.yaml:2:3: kubernetes: null (expected: a map of");
    }

    @Test
    void rejectsABadNodeName() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    nodeName: Node_A
                """)).containsExactly("svcproxy.yaml:3:15: nodeName: Node_A (expected: a DNS-1123 subdomain: "
                + "dot-separated DNS-1123 labels, at most 253 characters)");
    }

    @Test
    void rejectsABadZone() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    zone: "eu west"
                """)).containsExactly("svcproxy.yaml:3:11: zone: eu west (expected: a label value: at most 63 of "
                + "[-A-Za-z0-9_.], alphanumeric at the ends)");
    }

    @Test
    void rejectsAnEmptyZone() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    zone: ""
                """)).containsExactly("svcproxy.yaml:3:11: zone: \"\" (expected: a label value: at most 63 of "
                + "[-A-Za-z0-9_.], alphanumeric at the ends)");
    }

    @Test
    void rejectsServicesThatAreNotAList() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    services: web
                """)).containsExactly("svcproxy.yaml:3:15: services: web (expected: a list of Services: a map of "
                + "namespace, name, scheduler, schedulerFlags)");
    }

    @Test
    void rejectsAServiceThatIsNotAMap() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    services: [web]
                """)).containsExactly("svcproxy.yaml:3:16: services[0]: web (expected: a Service: a map of "
                + "namespace, name, scheduler, schedulerFlags)");
    }

    @Test
    void rejectsAnUnknownKeyInAService() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    services:
                      - {name: web, scheduler: rr, sessionAffinity: None}
                """)).containsExactly("svcproxy.yaml:4:36: unknown key: sessionAffinity (expected: namespace, name, "
                + "scheduler, schedulerFlags)");
    }

    @Test
    void requiresTheNameAndScheduler() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    services:
                      - namespace: prod
                """)).containsExactly(
                "svcproxy.yaml:4:9: name: missing (expected: a DNS-1035 label: [a-z]([-a-z0-9]*[a-z0-9])?, at "
                        + "most 63 characters)",
                "svcproxy.yaml:4:9: scheduler: missing (expected: rr, wrr, lc, wlc, sed, nq, dh, sh, mh, random)");
    }

    @Test
    void rejectsABadNameAndNamespace() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    services:
                      - {namespace: Prod, name: 1web, scheduler: rr}
                """)).containsExactly(
                "svcproxy.yaml:4:21: namespace: Prod (expected: a DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, "
                        + "at most 63 characters)",
                "svcproxy.yaml:4:33: name: 1web (expected: a DNS-1035 label: [a-z]([-a-z0-9]*[a-z0-9])?, at most "
                        + "63 characters)");
    }

    @Test
    void rejectsAnUnknownScheduler() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    services:
                      - {name: web, scheduler: fifo}
                """)).containsExactly(
                "svcproxy.yaml:4:32: scheduler: fifo (expected: rr, wrr, lc, wlc, sed, nq, dh, sh, mh, random)");
    }

    @Test
    void rejectsAFlagOfAnotherScheduler() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    services:
                      - {name: web, scheduler: sh, schedulerFlags: [mh-port]}
                """)).containsExactly(
                "svcproxy.yaml:4:53: schedulerFlags[0]: mh-port (expected: a flag of scheduler sh: sh-fallback, "
                        + "sh-port)");
    }

    @Test
    void rejectsTheSameServiceTwice() {
        assertThat(errors("""
                registry:
                  kubernetes:
                    services:
                      - {name: web, scheduler: rr}
                      - {namespace: default, name: web, scheduler: lc}
                """)).containsExactly("svcproxy.yaml:5:36: name: web (expected: a Service named once in namespace "
                + "default; also at line 4)");
    }

    @Test
    void aTildeIsTheHomeOfTheEnvironmentAsKubectlReadsIt() {
        // $HOME when set (a container user with no passwd entry has user.home "?"), else user.home
        assertThat(Values.home("/home/svc", "/root")).isEqualTo(java.nio.file.Path.of("/home/svc"));
        assertThat(Values.home("", "/root")).isEqualTo(java.nio.file.Path.of("/root"));
        assertThat(Values.home(null, "/root")).isEqualTo(java.nio.file.Path.of("/root"));
        assertThat(parse("registry:\n  kubernetes: {kubeconfig: ~/.kube/config}\n").registry().kubernetes()
                .kubeconfig()).isEqualTo(Values.home().resolve(".kube/config"));
    }
}
