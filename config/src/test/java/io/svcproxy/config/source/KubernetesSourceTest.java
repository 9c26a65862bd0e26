package io.svcproxy.config.source;

import static io.svcproxy.config.source.KubernetesServiceMapperTest.conditions;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.ep;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.notReady;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.ready;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.slice;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.svcproxy.config.Addresses;
import io.svcproxy.config.EndpointTarget;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.ServicePortSpec;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The source against the fabric8 mock API server in CRUD mode: each change shows within 2 s. */
@Timeout(60)
class KubernetesSourceTest {
    private static final Duration WITHIN = Duration.ofSeconds(2);
    private static final KubernetesSettings DEFAULT_NS = new KubernetesSettings(null, List.of("default"));

    /** While set, the API server answers every request for Nodes with a 503. */
    private volatile boolean nodesFail;
    private final KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher() {
        @Override
        public MockResponse dispatch(RecordedRequest request) {
            if (nodesFail && request.getPath().startsWith("/api/v1/nodes")) {
                return new MockResponse().setResponseCode(503).setBody("{}");
            }
            return super.dispatch(request);
        }
    };
    private final Recorder recorder = new Recorder();
    private KubernetesMockServer server;
    private KubernetesClient client;
    private KubernetesSource source;

    @BeforeEach
    void startServer() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        server.init();
        client = server.createClient();
    }

    @AfterEach
    void stop() {
        if (source != null) {
            source.close();
        }
        client.close();
        server.destroy();
    }

    @Test
    void reportsSyncedAfterTheFirstListOfAnEmptyCluster() {
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();

        recorder.await(u -> u.synced() && u.servicePorts().isEmpty());
        assertThat(source.synced()).isTrue();
    }

    /**
     * A recompute that fails (here the listener's first call throws, as a bug would) runs again on its own and hands
     * the whole list over: it waited for the next change of some Service, or the resync five minutes on, and even
     * then delivered nothing while the mapping came out the same.
     */
    @Test
    void aFailedRecomputeRunsAgainOnItsOwnAndHandsTheListOver() {
        AtomicInteger calls = new AtomicInteger();
        KubernetesSource.Listener failingOnce = (ports, synced) -> {
            if (calls.getAndIncrement() == 0) {
                throw new IllegalStateException("refused (test)");
            }
            recorder.update(ports, synced);
        };
        source = new KubernetesSource(client, DEFAULT_NS, failingOnce);
        source.start();
        recorder.await(Update::synced);
        assertThat(calls.get()).as("the failed call, then the retry's").isEqualTo(2);
    }

    /**
     * While recomputes keep failing, one retry is pending, backing off with the failures in a row: each failure
     * scheduled a timer of its own and none was cancelled, so every change added one more full recompute for good
     * (helper-97's review). After the first list's failure and four changes' (the next retry then 16 s away),
     * nothing runs for the next seconds.
     */
    @Test
    void failedRecomputesKeepOneRetryThatBacksOff() throws InterruptedException {
        List<Long> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
        source = new KubernetesSource(client, DEFAULT_NS, (ports, synced) -> {
            calls.add(System.nanoTime());
            throw new IllegalStateException("refused (test): a failure that persists");
        });
        source.start();
        for (int i = 1; i <= 4; i++) {
            int before = calls.size();
            client.services().resource(named(web(), "s" + i, "127.0.10." + (20 + i))).create();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> calls.size() > before);
        }
        int seen = calls.size();
        Thread.sleep(4000); // the retries of the first failures (1, 2, 4 s after them) would all fall in here
        assertThat(calls).as("recomputes with no change since (ms after the first): %s",
                calls.stream().map(c -> (c - calls.get(0)) / 1_000_000).toList()).hasSize(seen);
    }

    /** An API server that never answers the lists: what is not listed is named at a WARN, not only retried. */
    @Test
    void namesWhatIsNotListedAfterAWhile() throws InterruptedException {
        server.destroy(); // nothing answers: no informer lists
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.notListedAfter(Duration.ofMillis(300));
        source.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (source.reportedNotListed().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(source.reportedNotListed())
                .containsExactly("services namespace=default", "endpointslices namespace=default");
        assertThat(source.synced()).isFalse();
    }

    @Test
    void followsCreateScaleNotReadyAndDelete() {
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();
        recorder.await(Update::synced);

        client.services().resource(web()).create();
        client.discovery().v1().endpointSlices().resource(slice("web-abc", "web", "IPv4", Map.of("http", 8080),
                ep("127.0.1.1"))).create();
        Update created = recorder.await(u -> endpointsOf(u).size() == 1);
        ServicePortSpec spec = created.servicePorts().get(0);
        assertThat(spec.key().toString()).isEqualTo("127.0.10.10:80/TCP");
        assertThat(spec.service().qualifiedName()).isEqualTo("default/web");
        assertThat(spec.endpoints()).containsExactly(ready("127.0.1.1", 8080));

        // Scale to three.
        client.discovery().v1().endpointSlices().resource(slice("web-abc", "web", "IPv4", Map.of("http", 8080),
                ep("127.0.1.1"), ep("127.0.1.2"), ep("127.0.1.3"))).update();
        recorder.await(u -> endpointsOf(u).equals(List.of(ready("127.0.1.1", 8080), ready("127.0.1.2", 8080),
                ready("127.0.1.3", 8080))));

        // One Pod stops being ready.
        client.discovery().v1().endpointSlices().resource(slice("web-abc", "web", "IPv4", Map.of("http", 8080),
                ep("127.0.1.1"), conditions("127.0.1.2", false, false, false), ep("127.0.1.3"))).update();
        recorder.await(u -> endpointsOf(u).equals(List.of(ready("127.0.1.1", 8080), notReady("127.0.1.2", 8080, false),
                ready("127.0.1.3", 8080))));

        // A second slice of the same Service adds to it.
        client.discovery().v1().endpointSlices().resource(slice("web-def", "web", "IPv4", Map.of("http", 8080),
                ep("127.0.1.9"))).create();
        recorder.await(u -> endpointsOf(u).equals(List.of(ready("127.0.1.1", 8080), notReady("127.0.1.2", 8080, false),
                ready("127.0.1.3", 8080), ready("127.0.1.9", 8080))));

        client.services().inNamespace("default").withName("web").delete();
        recorder.await(u -> u.servicePorts().isEmpty());
    }

    /**
     * kube-proxy's label selector: a Service of another service proxy ({@code service-proxy-name}) is not served, and
     * the EndpointSlices of headless Services are not held.
     */
    @Test
    void leavesTheServicesOfAnotherServiceProxyAlone() {
        client.services().resource(new ServiceBuilder(named(web(), "mesh", "127.0.10.12")).editMetadata()
                .addToLabels("service.kubernetes.io/service-proxy-name", "other-proxy").endMetadata().build()).create();
        client.discovery().v1().endpointSlices().resource(slice("mesh-abc", "mesh", "IPv4", Map.of("http", 8080),
                ep("127.0.3.1"))).create();
        client.services().resource(web()).create();
        client.discovery().v1().endpointSlices().resource(slice("web-abc", "web", "IPv4", Map.of("http", 8080),
                ep("127.0.1.1"))).create();
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();

        Update synced = recorder.await(u -> u.synced() && endpointsOf(u).size() == 1);
        assertThat(synced.servicePorts()).extracting(p -> p.service().name()).containsExactly("web");
    }

    @Test
    void aChangeMapsOnlyItsServiceAndASliceMovingBetweenServicesLeavesOneForTheOther() {
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();
        client.services().resource(web()).create();
        client.services().resource(named(web(), "api", "127.0.10.11")).create();
        client.discovery().v1().endpointSlices().resource(slice("web-abc", "web", "IPv4", Map.of("http", 8080),
                ep("127.0.1.1"))).create();
        client.discovery().v1().endpointSlices().resource(slice("api-abc", "api", "IPv4", Map.of("http", 8080),
                ep("127.0.2.1"))).create();
        Update both = recorder.await(u -> u.synced() && u.servicePorts().size() == 2
                && u.servicePorts().stream().allMatch(p -> p.endpoints().size() == 1));
        ServicePortSpec api = both.servicePorts().get(0);
        assertThat(api.service().name()).isEqualTo("api"); // ordered by namespace, then name

        // web's slice changes: api's Service port is the very object it was (not mapped again)
        client.discovery().v1().endpointSlices().resource(slice("web-abc", "web", "IPv4", Map.of("http", 8080),
                ep("127.0.1.1"), ep("127.0.1.2"))).update();
        Update scaled = recorder.await(u -> u.servicePorts().get(1).endpoints().size() == 2);
        assertThat(scaled.servicePorts().get(0)).isSameAs(api);

        // the slice is relabelled to api: web loses its endpoints, api gains them
        client.discovery().v1().endpointSlices().resource(slice("web-abc", "api", "IPv4", Map.of("http", 8080),
                ep("127.0.1.1"), ep("127.0.1.2"))).update();
        Update moved = recorder.await(u -> u.servicePorts().get(1).endpoints().isEmpty());
        assertThat(moved.servicePorts().get(0).endpoints()).hasSize(3);

        client.services().inNamespace("default").withName("api").delete();
        Update deleted = recorder.await(u -> u.servicePorts().size() == 1);
        assertThat(deleted.servicePorts().get(0).service().name()).isEqualTo("web");
    }

    /**
     * As kube-proxy's slice cache, which keeps a Service's EndpointSlices whether or not the Service is there: slices
     * listed before their Service serve it once it comes, and a Service deleted while its slices remain (the
     * EndpointSlice controller deletes them after it, or never for hand-made ones) is served again with them when it
     * is created again under its name.
     */
    @Test
    void slicesBeforeTheirServiceAndAfterItsDeletionServeItWhenItComes() {
        client.discovery().v1().endpointSlices().resource(slice("web-abc", "web", "IPv4", Map.of("http", 8080),
                ep("127.0.1.1"))).create();
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();
        recorder.await(u -> u.synced() && u.servicePorts().isEmpty());

        client.services().resource(web()).create();
        recorder.await(u -> endpointsOf(u).equals(List.of(ready("127.0.1.1", 8080))));

        client.services().inNamespace("default").withName("web").delete();
        recorder.await(u -> u.servicePorts().isEmpty());

        client.services().resource(named(web(), "web", "127.0.10.13")).create();
        Update again = recorder.await(u -> endpointsOf(u).equals(List.of(ready("127.0.1.1", 8080))));
        assertThat(again.servicePorts().get(0).key().toString()).isEqualTo("127.0.10.13:80/TCP");
    }

    static Service named(Service service, String name, String clusterIP) {
        return new ServiceBuilder(service).editMetadata().withName(name).endMetadata().editSpec()
                .withClusterIP(clusterIP).withClusterIPs(clusterIP).endSpec().build();
    }

    @Test
    void followsAServiceChangingItsPorts() {
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();
        client.services().resource(web()).create();
        recorder.await(u -> u.servicePorts().size() == 1);

        Service twoPorts = new ServiceBuilder(web()).editSpec().addNewPort().withName("admin").withPort(81)
                .withTargetPort(new IntOrString(9090)).endPort().endSpec().build();
        client.services().resource(twoPorts).update();
        Update u = recorder.await(x -> x.servicePorts().size() == 2);
        assertThat(u.servicePorts().get(1).key().port()).isEqualTo(81);
    }

    @Test
    void watchesOnlyTheConfiguredNamespaces() {
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();
        client.services().resource(new ServiceBuilder(web()).editMetadata().withNamespace("prod").endMetadata()
                .editSpec().withClusterIP("127.0.10.20").endSpec().build()).create();
        client.services().resource(web()).create();

        Update u = recorder.await(x -> x.servicePorts().size() == 1);
        assertThat(u.servicePorts().get(0).service().namespace()).isEqualTo("default");
    }

    @Test
    void watchesAllNamespacesWhenNoneIsConfigured() {
        source = new KubernetesSource(client, new KubernetesSettings(null, List.of()), recorder);
        source.start();
        client.services().resource(new ServiceBuilder(web()).editMetadata().withNamespace("prod").endMetadata()
                .editSpec().withClusterIP("127.0.10.20").endSpec().build()).create();
        client.services().resource(web()).create();

        Update u = recorder.await(x -> x.servicePorts().size() == 2);
        assertThat(u.servicePorts()).extracting(s -> s.service().qualifiedName())
                .containsExactly("default/web", "prod/web");
    }

    @Test
    void coalescesABurstOfChanges() throws Exception {
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();
        recorder.await(Update::synced);
        int before = recorder.calls.get();
        client.services().resource(web()).create();
        for (int i = 1; i <= 20; i++) {
            EndpointSliceBuilder b = new EndpointSliceBuilder(slice("web-" + i, "web", "IPv4", Map.of("http", 8080),
                    ep("10.1.1." + i)));
            client.discovery().v1().endpointSlices().resource(b.build()).create();
        }
        recorder.await(u -> endpointsOf(u).size() == 20);
        Thread.sleep(300);
        // 21 objects: far fewer listener calls than events (each call waits 50 ms for more).
        assertThat(recorder.calls.get() - before).isLessThan(21);
    }

    @Test
    void keepsFollowingAfterTheApiServerRestarts() throws Exception {
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();
        client.services().resource(web()).create();
        recorder.await(u -> u.servicePorts().size() == 1);

        // The same store behind a new server on the same port: every watch connection breaks.
        int port = server.getPort();
        server.destroy();
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        server.init(InetAddress.getLoopbackAddress(), port);
        try (KubernetesClient other = server.createClient()) {
            other.discovery().v1().endpointSlices().resource(slice("web-abc", "web", "IPv4", Map.of("http", 8080),
                    ep("127.0.1.1"))).create();
        }

        recorder.await(u -> endpointsOf(u).size() == 1, Duration.ofSeconds(20));
    }

    @Test
    void readsTheZoneFromTheNodeForZoneHints() {
        client.nodes().resource(node("zone-a")).create();
        startWithZoneHintedEndpoints();

        recorder.await(u -> u.synced() && endpointsOf(u).equals(List.of(ready("127.0.1.1", 8080),
                bypassed("127.0.1.2"))));
    }

    /**
     * The Node's zone label is followed, as kube-proxy's NodeTopologyConfig follows it (found by a review,
     * helper-81): a Node that appears, or is labelled, after svcproxy started gets its zone hints honoured, and a
     * relabelled one its new zone's, without a restart.
     */
    @Test
    void followsTheZoneLabelOfTheNodeAfterStart() {
        startWithZoneHintedEndpoints();
        recorder.await(u -> u.synced() && endpointsOf(u).size() == 2); // no Node yet: no zone, both endpoints

        client.nodes().resource(node("zone-a")).create();
        recorder.await(u -> endpointsOf(u).equals(List.of(ready("127.0.1.1", 8080), bypassed("127.0.1.2"))));

        client.nodes().resource(node("zone-b")).update();
        recorder.await(u -> endpointsOf(u).equals(List.of(bypassed("127.0.1.1"), ready("127.0.1.2", 8080))));
    }

    /**
     * The Node's zone is read at start, but an API server that fails that read (a 5xx, which the client retries for
     * about 20 s, then the Node watch's first list the same again) does not hold the Services back: they are published
     * without zone hints within the wait for the zone, and the zone follows when the Node can be read, as
     * kube-proxy, which syncs its rules once Services and EndpointSlices are listed, whatever the Node informer says.
     */
    @Test
    void aNodeReadThatFailsDoesNotHoldTheServicesBack() {
        nodesFail = true;
        startWithZoneHintedEndpoints();
        recorder.await(u -> u.synced() && endpointsOf(u).size() == 2,
                NodeZone.WAIT.plus(Duration.ofSeconds(3)));

        nodesFail = false;
        client.nodes().resource(node("zone-a")).create();
        recorder.await(u -> endpointsOf(u).equals(List.of(ready("127.0.1.1", 8080), bypassed("127.0.1.2"))),
                Duration.ofSeconds(50));
    }

    /**
     * A reload of the YAML's schedulers maps every Service again with a new mapper, which keeps what the old one
     * warned about: a bad annotation is still said once (found by a review, helper-86).
     */
    @Test
    void aBadAnnotationIsWarnedOfOnceAcrossAReloadOfTheSchedulers() {
        assertThat(badAnnotationWarnings(() -> {
            client.services().resource(new ServiceBuilder(web()).editMetadata()
                    .addToAnnotations("svcproxy.io/scheduler", "bogus").endMetadata().build()).create();
            source = new KubernetesSource(client, DEFAULT_NS, recorder);
            source.start();
            recorder.await(u -> u.synced() && u.servicePorts().size() == 1);
            source.setSchedulers(DEFAULT_NS.withServices(List.of(
                    new KubernetesSettings.ServiceScheduler("default", "other", "wlc", Set.of()))));
            client.services().resource(new ServiceBuilder(web()).editMetadata().withName("next").endMetadata()
                    .editSpec().withClusterIP("127.0.10.11").withClusterIPs("127.0.10.11").endSpec().build()).create();
            recorder.await(u -> u.servicePorts().size() == 2); // mapped after the reload's new mapper mapped all
        })).hasSize(1);
    }

    /**
     * What was warned about a Service is forgotten when it goes: the memory of bad annotations holds the Services
     * there are (it grew with every Service ever warned about), and a Service created again under the name is warned
     * of again, as the operator who made it has not seen the first WARN.
     */
    @Test
    void aDeletedServiceIsForgottenByTheWarningsOfBadAnnotations() {
        Service bad = new ServiceBuilder(web()).editMetadata().addToAnnotations("svcproxy.io/scheduler", "bogus")
                .endMetadata().build();
        assertThat(badAnnotationWarnings(() -> {
            source = new KubernetesSource(client, DEFAULT_NS, recorder);
            source.start();
            client.services().resource(bad).create();
            recorder.await(u -> u.synced() && u.servicePorts().size() == 1);
            client.services().resource(bad).delete();
            recorder.await(u -> u.servicePorts().isEmpty());
            client.services().resource(bad).create();
            recorder.await(u -> u.servicePorts().size() == 1);
        })).hasSize(2);
    }

    /** Runs {@code scenario} and returns the mapper's "Bad annotation" WARN lines it caused. */
    private static List<String> badAnnotationWarnings(Runnable scenario) {
        Logger mapperLog = (Logger) LoggerFactory.getLogger(KubernetesServiceMapper.class);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        mapperLog.addAppender(log);
        try {
            scenario.run();
        } finally {
            mapperLog.detachAppender(log);
        }
        return log.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.startsWith("Bad annotation"))
                .toList();
    }

    /** The Node {@code node-a} in {@code zone}. */
    private static Node node(String zone) {
        return new NodeBuilder().withNewMetadata().withName("node-a").addToLabels("topology.kubernetes.io/zone", zone)
                .endMetadata().build();
    }

    /** Creates web with one endpoint hinted for zone-a and one for zone-b, and starts the source as node-a. */
    private void startWithZoneHintedEndpoints() {
        client.services().resource(web()).create();
        client.discovery().v1().endpointSlices().resource(slice("web-abc", "web", "IPv4", Map.of("http", 8080),
                zone(ep("127.0.1.1"), "zone-a"), zone(ep("127.0.1.2"), "zone-b"))).create();
        source = new KubernetesSource(client, new KubernetesSettings(null, List.of("default"), "node-a", null,
                List.of()), recorder);
        source.start();
    }

    @Test
    void connectsThroughAKubeconfigFile(@TempDir Path dir) throws Exception {
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters:
                  - name: mock
                    cluster:
                      server: %s
                      insecure-skip-tls-verify: true
                users:
                  - name: svcproxy
                    user:
                      token: secret-token
                contexts:
                  - name: mock
                    context: {cluster: mock, user: svcproxy, namespace: default}
                current-context: mock
                """.formatted(client.getConfiguration().getMasterUrl()));
        KubernetesSettings settings = new KubernetesSettings(kubeconfig, List.of("default"));
        client.services().resource(web()).create();

        try (KubernetesClient viaFile = KubernetesSource.connect(settings);
             KubernetesSource fromFile = new KubernetesSource(viaFile, settings, recorder)) {
            assertThat(viaFile.getConfiguration().getAutoOAuthToken()).isEqualTo("secret-token");
            assertThat(viaFile.getConfiguration().getMasterUrl()).isEqualTo(client.getConfiguration().getMasterUrl());
            fromFile.start();
            recorder.await(u -> u.synced() && u.servicePorts().size() == 1);
        }
    }

    @Test
    void rejectsAMissingKubeconfigFile(@TempDir Path dir) {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> KubernetesSource.connect(new KubernetesSettings(missing, List.of())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kubeconfig: " + missing + " (expected: a readable kubeconfig file)");
    }

    @Test
    void aKubeconfigThatIsNotYamlIsAnErrorNamingTheFileOnOneLine(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("badkube");
        java.nio.file.Files.writeString(bad, "garbage: [\n");
        assertThatThrownBy(() -> KubernetesSource.connect(new KubernetesSettings(bad, List.of())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("kubeconfig: " + bad + " (expected: a kubeconfig file: ")
                .hasMessageNotContaining("\n");
    }

    // ------------------------------------------------------------------ helpers

    static Service web() {
        return new ServiceBuilder().withNewMetadata().withName("web").withNamespace("default").endMetadata()
                .withNewSpec().withType("ClusterIP").withClusterIP("127.0.10.10").withClusterIPs("127.0.10.10")
                .addNewPort().withName("http").withPort(80).withTargetPort(new IntOrString(8080)).endPort()
                .endSpec().build();
    }

    private static Endpoint zone(Endpoint e, String zone) {
        return new EndpointBuilder(e).withNewHints().addNewForZone(zone).endHints().build();
    }

    /** The other zone's endpoint, listed for the connections it has (no drain deadline), taking no new one. */
    private static EndpointTarget bypassed(String ip) {
        return EndpointTarget.bypassed(Addresses.parseIp(ip), 8080, true, "");
    }

    static List<?> endpointsOf(Update u) {
        return u.servicePorts().isEmpty() ? List.of() : u.servicePorts().get(0).endpoints();
    }

    record Update(List<ServicePortSpec> servicePorts, boolean synced) {
    }

    /** Keeps the listener's last call; waits for one that matches. */
    static final class Recorder implements KubernetesSource.Listener {
        final AtomicReference<Update> last = new AtomicReference<>();
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public void update(List<ServicePortSpec> servicePorts, boolean synced) {
            calls.incrementAndGet();
            synchronized (this) {
                last.set(new Update(servicePorts, synced));
                notifyAll();
            }
        }

        Update await(Predicate<Update> condition) {
            return await(condition, WITHIN);
        }

        synchronized Update await(Predicate<Update> condition, Duration within) {
            long deadline = System.nanoTime() + within.toNanos();
            while (last.get() == null || !condition.test(last.get())) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no matching update within " + within + "; last: " + last.get());
                }
                try {
                    wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
            return last.get();
        }
    }
}
