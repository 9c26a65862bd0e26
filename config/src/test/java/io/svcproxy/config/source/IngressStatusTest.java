package io.svcproxy.config.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngressBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.svcproxy.config.IngressSettings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** The addresses of a publish Service, as ingress-nginx takes them, and the status they make. */
class IngressStatusTest {
    private static ServiceBuilder service(String type) {
        return new ServiceBuilder().withNewMetadata().withName("front").withNamespace("default").endMetadata()
                .withNewSpec().withType(type).withClusterIP("127.0.10.165").endSpec();
    }

    private static List<String> keys(List<IngressLoadBalancerIngress> entries) {
        return entries.stream().map(e -> e.getIp() != null ? e.getIp() : "host:" + e.getHostname()).toList();
    }

    @Test
    void takesEachServiceTypesAddressesAsIngressNginxDoes() {
        assertThat(keys(IngressStatus.published(service("ClusterIP").build()))).containsExactly("127.0.10.165");
        assertThat(keys(IngressStatus.published(service(null).build()))).containsExactly("127.0.10.165");
        assertThat(keys(IngressStatus.published(service("NodePort").build()))).containsExactly("127.0.10.165");
        assertThat(keys(IngressStatus.published(service("NodePort").editSpec()
                .withExternalIPs("127.0.50.8", "127.0.50.9").endSpec().build())))
                .containsExactly("127.0.50.8", "127.0.50.9");
        assertThat(keys(IngressStatus.published(service("ExternalName").editSpec().withClusterIP(null)
                .withExternalName("front.example").endSpec().build()))).containsExactly("host:front.example");
        Service lb = service("LoadBalancer").editSpec().withExternalIPs("127.0.50.1", "127.0.50.9").endSpec()
                .withNewStatus().withNewLoadBalancer().addNewIngress().withIp("127.0.50.1").endIngress()
                .addNewIngress().withHostname("lb.example").endIngress().endLoadBalancer().endStatus().build();
        assertThat(keys(IngressStatus.published(lb))).containsExactly("127.0.50.1", "host:lb.example", "127.0.50.9");
        assertThat(IngressStatus.published(service("LoadBalancer").build())).as("no address assigned yet").isEmpty();
    }

    @Test
    void aPublishServiceReplacesTheStatusOfServedIngressesAndLeavesOnlyOthersEntriesOfTheRest() {
        List<IngressLoadBalancerIngress> ours = List.of(ip("127.0.50.1"), host("lb.example"));
        List<IngressLoadBalancerIngress> stale = List.of(ip("127.0.40.7"), ip("127.0.50.1"));
        assertThat(keys(IngressStatus.statusEntries(stale, ours, true, true)))
                .as("a dead replica's address is gone").containsExactly("127.0.50.1", "host:lb.example");
        assertThat(IngressStatus.statusEntries(List.of(host("lb.example"), ip("127.0.50.1")), ours, true, true))
                .as("the same set: nothing to write").isNull();
        assertThat(keys(IngressStatus.statusEntries(stale, ours, false, true))).containsExactly("127.0.40.7");
        assertThat(keys(IngressStatus.statusEntries(stale, ours, true, false)))
                .as("merged, without a publish Service").containsExactly("127.0.40.7", "127.0.50.1", "host:lb.example");
    }

    private static IngressLoadBalancerIngress ip(String ip) {
        return new IngressLoadBalancerIngressBuilder().withIp(ip).build();
    }

    /** An entry that gains a hostname at the same IP is written, as ingress-nginx compares IP and hostname. */
    @Test
    void anEntryWhoseHostnameChangedIsWritten() {
        List<IngressLoadBalancerIngress> current = List.of(ip("127.0.50.1"));
        List<IngressLoadBalancerIngress> ours = List.of(new IngressLoadBalancerIngressBuilder().withIp("127.0.50.1")
                .withHostname("lb.example").build());
        assertThat(IngressStatus.statusEntries(current, ours, true, true)).as("the hostname is written")
                .containsExactlyElementsOf(ours);
        assertThat(IngressStatus.statusEntries(ours, ours, true, true)).as("and then it is there").isNull();
    }

    /**
     * A write refused by a conflict (another replica wrote first) is written again at the next recompute, which the
     * winner's write sets off; one refused otherwise (a 403) waits out its back-off, not every recompute (found by
     * reviews, helper-85 and helper-87: replicas that lost one conflict backed off together and lost again).
     */
    @Test
    void aConflictIsWrittenAgainAtTheNextRecomputeAndARefusalAfterItsBackOff() {
        AtomicInteger puts = new AtomicInteger();
        AtomicInteger answer = new AtomicInteger(409);
        KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                if ("PUT".equals(request.getMethod()) && request.getPath().split("\\?")[0].endsWith("/status")) {
                    puts.incrementAndGet();
                    int code = answer.getAndSet(0);
                    if (code != 0) {
                        return new MockResponse().setResponseCode(code).setBody("{\"kind\":\"Status\","
                                + "\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":" + code + "}");
                    }
                }
                return super.dispatch(request);
            }
        };
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                dispatcher, true);
        server.init();
        try (KubernetesClient client = server.createClient()) {
            Ingress shop = client.network().v1().ingresses().resource(new IngressBuilder().withNewMetadata()
                    .withName("shop").withNamespace("default").endMetadata().withNewSpec()
                    .withIngressClassName("svcproxy").endSpec().build()).create();
            IngressStatus status = new IngressStatus(client, new IngressSettings(new InetSocketAddress("127.0.10.166",
                    80), null, "svcproxy", Duration.ofSeconds(60)), null);
            assertThat(status.write(List.of(shop), List.of(shop))).as("a conflict: no back-off").isZero();
            assertThat(status.write(List.of(shop), List.of(shop))).isZero();
            assertThat(puts).as("written again at once, and taken").hasValue(2);

            Ingress other = client.network().v1().ingresses().resource(new IngressBuilder().withNewMetadata()
                    .withName("other").withNamespace("default").endMetadata().withNewSpec()
                    .withIngressClassName("svcproxy").endSpec().build()).create();
            answer.set(403);
            assertThat(status.write(List.of(other), List.of(other))).as("a refusal: its back-off")
                    .isEqualTo(IngressStatus.RETRY_FIRST.toNanos());
            assertThat(status.write(List.of(other), List.of(other))).isPositive();
            assertThat(puts).as("not written again before it is due").hasValue(3);
        } finally {
            server.destroy();
        }
    }

    /**
     * An IPv6 listener's address is written in its RFC 5952 form, as Kubernetes writes IPs (and the PROXY header and
     * X-Forwarded-For do): from helper-130's review, it was Java's text, 0:0:0:0:0:0:0:1.
     */
    @Test
    void anIpv6ListenersAddressIsWrittenInItsCanonicalForm() {
        IngressSettings v6 = new IngressSettings(new InetSocketAddress("0:0:0:0:0:0:0:1", 8080),
                new InetSocketAddress("127.0.130.13", 8443), "svcproxy", Duration.ofSeconds(60));
        assertThat(IngressStatus.listenerIps(v6, null)).containsExactly("::1", "127.0.130.13");
    }

    /**
     * A reload that turns the listeners off leaves no address of our own: the old one still leaves the served
     * Ingress, at the next write or, when that was refused, at the shutdown's withdrawal (found by helper-130's
     * review: with no address the status was not written at all, and a shutdown withdrew nothing). With nothing to
     * take out, nothing is written.
     */
    @Test
    void listenersTurnedOffTakeTheirAddressOutAtTheNextWriteOrAtShutdown() {
        AtomicInteger puts = new AtomicInteger();
        AtomicInteger refuse = new AtomicInteger();
        KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                if ("PUT".equals(request.getMethod()) && request.getPath().split("\\?")[0].endsWith("/status")) {
                    puts.incrementAndGet();
                    if (refuse.getAndDecrement() > 0) {
                        return new MockResponse().setResponseCode(403).setBody("{\"kind\":\"Status\","
                                + "\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":403}");
                    }
                }
                return super.dispatch(request);
            }
        };
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                dispatcher, true);
        server.init();
        try (KubernetesClient client = server.createClient()) {
            client.network().v1().ingresses().resource(new IngressBuilder().withNewMetadata().withName("shop")
                    .withNamespace("default").endMetadata().withNewSpec().withIngressClassName("svcproxy").endSpec()
                    .build()).create();
            IngressStatus status = new IngressStatus(client, new IngressSettings(new InetSocketAddress("127.0.130.11",
                    80), null, "svcproxy", Duration.ofSeconds(60)), null);
            status.write(shop(client), shop(client));
            assertThat(statusIps(client)).containsExactly("127.0.130.11");

            IngressSettings off = new IngressSettings(null, null, "svcproxy", Duration.ofSeconds(60));
            status.setListeners(off);
            status.write(shop(client), shop(client));
            assertThat(statusIps(client)).as("after the listeners were turned off").isEmpty();
            int written = puts.get();
            status.write(shop(client), shop(client));
            assertThat(puts).as("nothing to take out: not written").hasValue(written);

            status.setListeners(new IngressSettings(new InetSocketAddress("127.0.130.12", 80), null, "svcproxy",
                    Duration.ofSeconds(60)));
            status.write(shop(client), shop(client));
            status.setListeners(off);
            refuse.set(1);
            status.write(shop(client), shop(client));
            assertThat(statusIps(client)).as("the write refused").containsExactly("127.0.130.12");
            assertThat(status.withdrawsAtShutdown()).isTrue();
            status.withdraw(shop(client));
            assertThat(statusIps(client)).as("after the shutdown's withdrawal").isEmpty();
        } finally {
            server.destroy();
        }
    }

    private static List<Ingress> shop(KubernetesClient client) {
        return List.of(client.network().v1().ingresses().inNamespace("default").withName("shop").get());
    }

    private static List<String> statusIps(KubernetesClient client) {
        Ingress shop = shop(client).get(0);
        if (shop.getStatus() == null || shop.getStatus().getLoadBalancer() == null
                || shop.getStatus().getLoadBalancer().getIngress() == null) {
            return List.of();
        }
        return shop.getStatus().getLoadBalancer().getIngress().stream().map(IngressLoadBalancerIngress::getIp)
                .toList();
    }

    private static IngressLoadBalancerIngress host(String name) {
        return new IngressLoadBalancerIngressBuilder().withHostname(name).build();
    }
}
