package io.svcproxy.config.source;

import static io.svcproxy.config.source.KubernetesServiceMapperTest.ep;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.ready;
import static io.svcproxy.config.source.KubernetesServiceMapperTest.slice;
import static io.svcproxy.config.source.KubernetesSourceTest.named;
import static io.svcproxy.config.source.KubernetesSourceTest.web;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import io.svcproxy.config.KubernetesSettings;
import io.svcproxy.config.ServicePortSpec;
import io.svcproxy.config.source.KubernetesSourceTest.Recorder;
import io.svcproxy.config.source.KubernetesSourceTest.Update;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The source across API server outages and expired watches, as kube-proxy's informers (client-go's reflector): nothing
 * is published before the first full list, the last list stays served while the API server is away, and a watch
 * refused with {@code 410 Gone} is followed by a new list whose deletions and changes are all published.
 */
@Timeout(60)
class KubernetesSourceRelistTest {
    private static final KubernetesSettings DEFAULT_NS = new KubernetesSettings(null, List.of("default"));
    private static final String EXPIRED = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
            + "\"message\":\"too old resource version\",\"reason\":\"Expired\",\"code\":410}";

    /** While set, every watch ends at once with 410 Expired, as the API server's for a compacted resource version. */
    private volatile boolean watchesGone;
    /** Lists (not watches) of EndpointSlices the API server answered. */
    private final AtomicInteger sliceLists = new AtomicInteger();
    private final AtomicInteger serviceLists = new AtomicInteger();
    private final KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher() {
        @Override
        public MockResponse dispatch(RecordedRequest request) {
            String path = request.getPath();
            boolean watch = path.contains("watch=true");
            if (watch && watchesGone) {
                // as kube-apiserver's cacher: the watch is accepted, then ends with one ERROR event (not an HTTP 410)
                return new MockResponse().withWebSocketUpgrade(new WebSocketListener() {
                    @Override
                    public void onOpen(WebSocket ws, Response response) {
                        ws.send("{\"type\":\"ERROR\",\"object\":" + EXPIRED + "}");
                        ws.close(1000, "expired");
                    }
                });
            }
            MockResponse response = super.dispatch(request);
            if (!watch && "GET".equals(request.getMethod())) {
                if (path.startsWith("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?")) {
                    sliceLists.incrementAndGet();
                } else if (path.startsWith("/api/v1/namespaces/default/services?")) {
                    serviceLists.incrementAndGet();
                }
            }
            return response;
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

    /**
     * The watches break and come back refused with 410 Gone while a Service and its slice are deleted and another
     * Service's slice changes: the new list drops the deleted Service (the watch never tells of it) and serves the
     * changed endpoints; until then the last list stays served.
     */
    @Test
    void aWatchGoneRelistsAndPublishesWhatWasDeletedAndChangedMeanwhile() {
        client.services().resource(named(web(), "keep", "127.0.149.10")).create();
        client.services().resource(named(web(), "drop", "127.0.149.11")).create();
        client.discovery().v1().endpointSlices().resource(slice("keep-a", "keep", "IPv4", Map.of("http", 8080),
                ep("127.0.149.1"))).create();
        client.discovery().v1().endpointSlices().resource(slice("drop-a", "drop", "IPv4", Map.of("http", 8080),
                ep("127.0.149.2"))).create();
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();
        recorder.await(u -> u.synced() && names(u).equals(List.of("drop", "keep"))
                && u.servicePorts().stream().allMatch(p -> p.endpoints().size() == 1));
        int calls = recorder.calls.get();

        watchesGone = true;
        int port = server.getPort();
        server.destroy(); // every watch connection breaks
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        server.init(InetAddress.getLoopbackAddress(), port);
        try (KubernetesClient other = server.createClient()) {
            other.services().inNamespace("default").withName("drop").delete();
            other.discovery().v1().endpointSlices().inNamespace("default").withName("drop-a").delete();
            other.discovery().v1().endpointSlices().resource(slice("keep-a", "keep", "IPv4", Map.of("http", 8080),
                    ep("127.0.149.3"))).update();
        }
        int slices = sliceLists.get();
        int services = serviceLists.get();
        // the informers list again after each refused watch: wait for one list of each kind after the changes
        await().atMost(Duration.ofSeconds(30)).until(() -> sliceLists.get() > slices && serviceLists.get() > services);
        watchesGone = false;

        Update relisted = recorder.await(u -> names(u).equals(List.of("keep"))
                && u.servicePorts().get(0).endpoints().equals(List.of(ready("127.0.149.3", 8080))),
                Duration.ofSeconds(30));
        assertThat(relisted.synced()).isTrue();
        assertThat(recorder.calls.get()).as("listener calls since the outage").isGreaterThan(calls);
    }

    /**
     * The API server is unreachable at start and comes up with Services: nothing is published while it is away
     * (not a list of no Service), and the first call is the full list, synced.
     */
    @Test
    void anApiServerUnreachableAtStartPublishesNothingUntilItHasListed() throws Exception {
        client.services().resource(named(web(), "keep", "127.0.149.10")).create();
        client.discovery().v1().endpointSlices().resource(slice("keep-a", "keep", "IPv4", Map.of("http", 8080),
                ep("127.0.149.1"))).create();
        int port = server.getPort();
        server.destroy();
        source = new KubernetesSource(client, DEFAULT_NS, recorder);
        source.start();
        Thread.sleep(500); // the first list attempts fail in here
        assertThat(recorder.calls.get()).isZero();
        assertThat(source.synced()).isFalse();

        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        server.init(InetAddress.getLoopbackAddress(), port);

        Update first = recorder.await(Update::synced, Duration.ofSeconds(30));
        assertThat(recorder.calls.get()).isEqualTo(1);
        assertThat(names(first)).containsExactly("keep");
        assertThat(first.servicePorts().get(0).endpoints()).containsExactly(ready("127.0.149.1", 8080));
    }

    private static List<String> names(Update u) {
        return u.servicePorts().stream().map(ServicePortSpec::service).map(s -> s.name()).toList();
    }
}
