package io.svcproxy.proxy.dataplane;

import io.svcproxy.balancer.BackendState;
import io.svcproxy.config.OutlierDetection;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Outlier detection's decision to eject an endpoint of a Service port after failed connects in a row, within its
 * limits: never the last endpoint in service, never past {@code maxEjectionPercent}, and under a {@code Local}
 * traffic policy the same among this node's endpoints. Logs under {@link ServicePort}'s logger, where operators
 * and the log allow-lists have always found "Ejecting endpoint".
 */
final class OutlierEjection {
    private static final Logger log = LoggerFactory.getLogger(ServicePort.class);

    /**
     * Held by every ejection decision: one for the process, since ports share endpoints' health across a move, and
     * only connect failures at the outlier threshold take it.
     */
    private static final Object LOCK = new Object();

    private OutlierEjection() {
    }

    /**
     * Ejects {@code backend} after {@code failures} failed connects in a row, unless it is the last endpoint of
     * this Service port in service (one is always left to try), already ejected, or one more ejection would take
     * the port's ejected endpoints over {@code maxEjectionPercent} of its endpoints that take traffic (neither
     * draining nor quiesced at weight 0). Under a {@code Local} traffic policy both hold among this node's endpoints
     * ({@code nodeName}'s) for a local one: their traffic may use no other, so ejecting the last of them would
     * refuse all of it (and fail the node's health check) on a fault that may pass. Event-loop thread; the decision and the
     * ejection hold {@link #LOCK}, so that two loops cannot eject the last two endpoints at once, also
     * through two ports that list the same endpoints' health (a port that moved and its draining predecessor). An
     * endpoint already ejected, or the last in service (every failed connect while a whole port is down), is
     * passed over before the lock: a stale answer there only leaves the decision to its next failure, and no
     * endpoint is ejected without the lock.
     */
    static void maybeEject(ServicePort port, BackendState backend, int failures, OutlierDetection outlier,
                           String nodeName) {
        if (backend.counters().health().ejected()) {
            return;
        }
        if (!anotherInService(port, backend, null)) {
            log.debug("Not ejecting the last endpoint service={} port={} endpoint={} failures={}", port.serviceLabel(),
                    port.portLabel(), backend.endpoint(), failures);
            return;
        }
        synchronized (LOCK) {
            decideEjection(port, backend, failures, outlier, nodeName);
        }
    }

    private static void decideEjection(ServicePort port, BackendState backend, int failures,
                                       OutlierDetection outlier, String nodeName) {
        if (backend.counters().health().ejected()) {
            return;
        }
        boolean another = anotherInService(port, backend, null);
        io.svcproxy.config.ServiceExposure exposure = port.spec().service().exposure();
        boolean localPolicy = exposure.internalTrafficPolicy() == io.svcproxy.config.TrafficPolicy.LOCAL
                || exposure.externalTrafficPolicy() == io.svcproxy.config.TrafficPolicy.LOCAL;
        EligibleEndpoints pool = null; // the endpoints the share is taken of: this node's, for a local endpoint
        if (another && localPolicy && !nodeName.isEmpty()) {
            EligibleEndpoints local = port.localEndpoints(nodeName);
            if (local.test(backend)) {
                another = anotherInService(port, backend, local);
                pool = local;
            }
        }
        if (!another) {
            log.debug("Not ejecting the last endpoint service={} port={} endpoint={} failures={}", port.serviceLabel(),
                    port.portLabel(), backend.endpoint(), failures);
            return;
        }
        // the share of the endpoints that take traffic, or would but for their health: not draining, not quiesced
        int ejected = 0;
        int endpoints = 0;
        for (BackendState b : port.backendSet().backends()) {
            // out of service by its health: counted when it has a weight to return to (one written with weight 0
            // takes no traffic either way, and would widen the share; helper-98's review)
            boolean serving = b.weight() > 0 || (b.state() == BackendState.State.EJECTED
                    || b.state() == BackendState.State.UNHEALTHY) && b.lastWeight() > 0;
            if (serving && (pool == null || pool.test(b))) {
                endpoints++;
                ejected += b.counters().health().ejected() ? 1 : 0;
            }
        }
        if (!outlier.mayEjectAnother(ejected, endpoints)) {
            log.debug("Not ejecting endpoint service={} port={} endpoint={} failures={}: {} of {} ejected, "
                    + "maxEjectionPercent {}", port.serviceLabel(), port.portLabel(), backend.endpoint(), failures,
                    ejected, endpoints, outlier.maxEjectionPercent());
            return;
        }
        Duration time = backend.counters().health().eject(System.nanoTime(), outlier.baseEjectionTime(),
                outlier.maxEjectionTime());
        if (time != null) {
            log.warn("Ejecting endpoint service={} port={} endpoint={} failures={} for={}", port.serviceLabel(),
                    port.portLabel(), backend.endpoint(), failures, io.svcproxy.config.Durations.format(time));
            port.healthChanged();
        }
    }

    /** Whether an endpoint other than {@code backend} is in service with a weight ({@code among} it, if given). */
    private static boolean anotherInService(ServicePort port, BackendState backend, EligibleEndpoints among) {
        for (BackendState b : port.backendSet().backends()) {
            if (b.counters() != backend.counters() && b.weight() > 0 && b.inService()
                    && (among == null || among.test(b))) {
                return true;
            }
        }
        return false;
    }

}
