package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the zone label ({@code topology.kubernetes.io/zone}) of this node's Node object, as kube-proxy's
 * {@code NodeTopologyConfig} does, so that zone hints follow a Node labelled, or made readable, after svcproxy
 * started. It watches that one Node ({@code list} and {@code watch} on nodes, by field selector); without that
 * permission it says so once and stops, and the zone read at start stays.
 */
final class NodeZoneWatch implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NodeZoneWatch.class);

    private final SharedIndexInformer<Node> informer;

    private NodeZoneWatch(SharedIndexInformer<Node> informer) {
        this.informer = informer;
    }

    /**
     * Starts watching the Node {@code nodeName}, or returns {@code null} after one WARN when this process may not list
     * Nodes (checked with one list first: fabric8's informer logs its own stop at ERROR); {@code zoneSeen} hears its
     * zone label (or {@code null} for none) at each add or update, on the informer's thread. May wait for the API
     * server: call it off the caller's thread.
     */
    static NodeZoneWatch start(KubernetesClient client, String nodeName, long resyncMillis,
                               Consumer<String> zoneSeen) {
        try {
            client.nodes().withField("metadata.name", nodeName).list();
        } catch (RuntimeException e) {
            if (forbidden(httpCode(e), nodeName)) {
                return null;
            }
            log.debug("Node list failed; the watch retries node={} error={}", nodeName, e.toString());
        }
        SharedIndexInformer<Node> informer = client.nodes().withField("metadata.name", nodeName)
                .runnableInformer(resyncMillis);
        NodeZoneWatch watch = new NodeZoneWatch(informer);
        informer.addEventHandler(new ResourceEventHandler<Node>() {
            @Override
            public void onAdd(Node node) {
                zoneSeen.accept(zoneOf(node));
            }

            @Override
            public void onUpdate(Node before, Node node) {
                zoneSeen.accept(zoneOf(node));
            }

            @Override
            public void onDelete(Node node, boolean finalStateUnknown) {
                // the zone it had stays: a node deleted under its proxy is about to be drained
            }
        });
        informer.exceptionHandler((started, t) -> {
            if (!started && forbidden(httpCode(t), nodeName)) { // refused after the list above passed: stop
                return false;
            }
            log.debug("Node watch failed, retrying node={} error={}", nodeName, t.toString());
            return true;
        });
        informer.start();
        return watch;
    }

    private static boolean forbidden(int code, String nodeName) {
        if (code != 403 && code != 401) {
            return false;
        }
        log.warn("Cannot watch the node; its zone as read at start stays (grant list and watch on nodes, or set "
                + "registry.kubernetes.zone) node={} error={}", nodeName, code);
        return true;
    }

    /** The HTTP status of the API server's answer that {@code t} is or wraps, or 0. */
    private static int httpCode(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof KubernetesClientException e && e.getCode() > 0) {
                return e.getCode();
            }
        }
        return 0;
    }

    /** The zone label of {@code node}, or {@code null} when it has none. */
    static String zoneOf(Node node) {
        Map<String, String> labels = node.getMetadata() == null ? null : node.getMetadata().getLabels();
        String zone = labels == null ? null : labels.get(KubernetesSource.ZONE_LABEL);
        return zone == null || zone.isEmpty() ? null : zone;
    }

    @Override
    public void close() {
        informer.stop();
    }
}
