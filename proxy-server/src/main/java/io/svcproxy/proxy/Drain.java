package io.svcproxy.proxy;

import io.svcproxy.proxy.dataplane.ListenerManager;
import io.svcproxy.proxy.dataplane.ServicePort;
import io.svcproxy.proxy.dataplane.ServiceTable;
import io.svcproxy.proxy.ingress.IngressListeners;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The drain of a graceful stop, split out of {@link ProxyServer}: new connections refused, what is established let
 * finish for up to {@code proxy.drainTimeout}, what is left then cut. The relay's connections and UDP flows drain
 * first (the data plane's own deadline), then the Ingress's requests in flight and its client connections.
 */
final class Drain {
    /** ProxyServer's: its stop is logged by that name, as before the split. */
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final ServiceTable table;
    private final ListenerManager listeners;
    private final IngressListeners ingress;

    Drain(ServiceTable table, ListenerManager listeners, IngressListeners ingress) {
        this.table = table;
        this.listeners = listeners;
        this.ingress = ingress;
    }

    /** Drains within {@code timeout}; logs what was cut at its end. The caller closes everything after. */
    void run(Duration timeout) {
        ingress.drain();
        listeners.closeListeners();
        int open = listeners.connectionCount();
        log.info("Shutting down: listeners closed, draining connections={} ingressConnections={} drainTimeout={}",
                open, ingress.connections(), timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        ListenerManager.Drained cut = listeners.drain(timeout);
        if (cut.connections() > 0 || cut.udpFlows() > 0) {
            log.info("Drain timeout reached: reset connections={}, ended udpFlows={}", cut.connections(),
                    cut.udpFlows());
        }
        int requests = awaitIngress(deadline);
        if (requests > 0 || ingress.connections() > 0) {
            log.info("Drain timeout reached: reset Ingress connections={} requests in flight={}",
                    ingress.connections(), requests);
        }
    }

    /**
     * Waits until no endpoint holds a lease and the Ingress's client connections are closed, or the deadline. With
     * the relay's connections drained, what is left are the Ingress's requests in flight (a request holds its
     * endpoint's lease until its response ends) and its connections, which the drain ends as their requests are
     * answered (HTTP/2 after its GOAWAY, HTTP/1.1 with {@code Connection: close}); WebSocket tunnels last until a
     * side ends them. Returns the leases left.
     */
    private int awaitIngress(long deadline) {
        while (true) {
            int active = 0;
            for (ServicePort port : table.servicePorts()) {
                for (var backend : port.backendSet().backends()) {
                    active += backend.counters().active();
                }
            }
            if (active == 0 && ingress.connections() == 0 || System.nanoTime() >= deadline) {
                return active;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return active;
            }
        }
    }
}
