package io.svcproxy.config.source;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's zone, for zone hints: the YAML's ({@code registry.kubernetes.zone}), fixed; else the zone label of
 * this node's Node, read at start and then followed ({@link NodeZoneWatch}). The Node is read on a thread of its
 * own, because the API server may be slow to answer or fail the read (the client retries a 5xx for about 20 s):
 * {@link #first()} waits for it at most {@link #WAIT}, and a zone read later reaches {@code zoneSeen} as the watch's
 * do. Logs under {@link KubernetesSource}'s logger, as operators follow one name for the source.
 */
final class NodeZone implements AutoCloseable {
    /** How long the first mapping waits for the Node's zone before it maps without one. */
    static final Duration WAIT = Duration.ofSeconds(5);

    private static final Logger log = LoggerFactory.getLogger(KubernetesSource.class);

    private final KubernetesClient client;
    private final String nodeName;
    private final CompletableFuture<String> first = new CompletableFuture<>();
    private NodeZoneWatch watch;
    private boolean closed;

    private NodeZone(KubernetesClient client, String nodeName) {
        this.client = client;
        this.nodeName = nodeName;
    }

    /**
     * Starts reading and following the zone of the Node {@code nodeName}, unless {@code fixed} (the YAML's zone) is
     * set or the name is unknown ({@code null}); {@code zoneSeen} hears every zone read after start, on a thread of
     * the reader or the watch (it hands the zone to its own thread).
     */
    static NodeZone start(KubernetesClient client, String nodeName, String fixed, long resyncMillis,
                          Consumer<String> zoneSeen) {
        NodeZone zone = new NodeZone(client, nodeName);
        if (fixed != null || nodeName == null) {
            zone.first.complete(fixed);
            return zone;
        }
        Thread reader = new Thread(() -> {
            String read = zone.read();
            zone.first.complete(read);
            zoneSeen.accept(read);
            zone.watch(resyncMillis, zoneSeen);
        }, "svcproxy-kubernetes-node");
        reader.setDaemon(true);
        reader.start();
        return zone;
    }

    /** The zone read at start, or {@code null} when there is none or it has not come within {@link #WAIT}. */
    String first() {
        try {
            return first.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            log.info("Kubernetes node not read yet; Services are mapped without zone hints until it is node={}",
                    nodeName);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the source closed meanwhile
            return null;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause()); // read() throws nothing
        }
    }

    /** Starts the watch of the Node (the reader's thread: it may wait for the API server). */
    private void watch(long resyncMillis, Consumer<String> zoneSeen) {
        NodeZoneWatch started = NodeZoneWatch.start(client, nodeName, resyncMillis, zoneSeen);
        synchronized (this) {
            if (closed && started != null) {
                started.close();
            } else {
                watch = started;
            }
        }
    }

    /** Returns the zone label of the Node, or {@code null} when it has none or cannot be read (said so). */
    private String read() {
        try {
            Node node = client.nodes().withName(nodeName).get();
            if (node == null) {
                log.warn("Kubernetes node not found; zone hints are not honoured until it is, and Local traffic "
                        + "policies find no endpoint of this node if the name is wrong node={}", nodeName);
                return null;
            }
            String zone = NodeZoneWatch.zoneOf(node);
            if (zone == null) {
                log.info("Kubernetes node has no zone; zone hints are not honoured until it has node={}", nodeName);
            }
            return zone;
        } catch (RuntimeException e) { // KubernetesClientException, or its cause when the server is unreachable
            log.warn("Cannot read the node's zone; zone hints are not honoured until the Node's watch reads it (or "
                    + "set registry.kubernetes.zone) node={} error={}", nodeName, e.getMessage());
            return null;
        }
    }

    /** Stops following the Node. */
    @Override
    public synchronized void close() {
        closed = true;
        if (watch != null) {
            watch.close();
        }
    }
}
