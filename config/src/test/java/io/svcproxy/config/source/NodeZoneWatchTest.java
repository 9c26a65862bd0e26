package io.svcproxy.config.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * Following this node's zone label: what it hears, and what it does without the permission to watch Nodes (one WARN,
 * nothing started: fabric8's informer would log its own stop at ERROR).
 */
@Timeout(30)
class NodeZoneWatchTest {
    private final List<String> zones = new CopyOnWriteArrayList<>();
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private KubernetesMockServer server;
    private KubernetesClient client;
    private NodeZoneWatch watch;

    @AfterEach
    void stop() {
        ((Logger) LoggerFactory.getLogger(NodeZoneWatch.class)).detachAppender(log);
        if (watch != null) {
            watch.close();
        }
        client.close();
        server.destroy();
    }

    private void start(KubernetesCrudDispatcher dispatcher) {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, true);
        server.init();
        client = server.createClient();
        log.start();
        ((Logger) LoggerFactory.getLogger(NodeZoneWatch.class)).addAppender(log);
        watch = NodeZoneWatch.start(client, "node-a", Duration.ofMinutes(5).toMillis(), zones::add);
    }

    private static NodeBuilder node(String name, String zone) {
        NodeBuilder b = new NodeBuilder().withNewMetadata().withName(name).endMetadata();
        return zone == null ? b : b.editMetadata().addToLabels("topology.kubernetes.io/zone", zone).endMetadata();
    }

    @Test
    void hearsTheZoneOfItsOwnNodeOnly() {
        start(new KubernetesCrudDispatcher());
        client.nodes().resource(node("node-b", "zone-b").build()).create();
        client.nodes().resource(node("node-a", null).build()).create();
        await().atMost(Duration.ofSeconds(5)).until(() -> zones.size() == 1);
        client.nodes().resource(node("node-a", "zone-a").build()).update();
        await().atMost(Duration.ofSeconds(5)).until(() -> zones.size() == 2);
        assertThat(zones).containsExactly(null, "zone-a");
    }

    @Test
    void withoutThePermissionToWatchNodesItSaysSoOnceAndStops() {
        start(new KubernetesCrudDispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                if (request.getPath().startsWith("/api/v1/nodes")) {
                    return new MockResponse().setResponseCode(403);
                }
                return super.dispatch(request);
            }
        });
        assertThat(watch).as("nothing started").isNull();
        assertThat(warnings()).singleElement().asString()
                .startsWith("Cannot watch the node; its zone as read at start stays");
    }

    private List<String> warnings() {
        return log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
                .toList();
    }
}
