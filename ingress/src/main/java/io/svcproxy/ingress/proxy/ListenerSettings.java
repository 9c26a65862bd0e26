package io.svcproxy.ingress.proxy;

import io.netty.util.concurrent.FastThreadLocal;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.IngressMetrics;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.Router;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every connection of one listener shares: the routing, the Service ports' endpoint sets, the limits, the
 * scheme it adds as {@code X-Forwarded-Proto}, the per-event-loop endpoint pools, response timeouts and metrics,
 * the port its redirects to HTTPS name ({@link IngressServer#setHttpsPort}; read per request), and its open endpoint
 * connections (for an endpoint's drain deadline).
 */
record ListenerSettings(Router<ServiceBackend> router, BackendLookup lookup, IngressOptions options, String proto,
                        FastThreadLocal<EndpointPool> pools, IngressMetrics metrics,
                        FastThreadLocal<RouteMetricsCache> routeMetrics,
                        FastThreadLocal<ResponseDeadlines> responseDeadlines, AtomicInteger httpsPort,
                        EndpointConnections endpoints) {
    /** Idle kept-alive connections per endpoint and event loop; more are closed when their response ends. */
    static final int MAX_IDLE_PER_ENDPOINT = 128;

    static ListenerSettings create(Router<ServiceBackend> router, BackendLookup lookup, IngressOptions options,
                                   String proto, IngressMetrics metrics) {
        FastThreadLocal<EndpointPool> pools = new FastThreadLocal<>() {
            @Override
            protected EndpointPool initialValue() {
                return new EndpointPool(MAX_IDLE_PER_ENDPOINT);
            }
        };
        FastThreadLocal<RouteMetricsCache> routeMetrics = new FastThreadLocal<>() {
            @Override
            protected RouteMetricsCache initialValue() {
                return new RouteMetricsCache(router, metrics);
            }
        };
        return new ListenerSettings(router, lookup, options, proto, pools, metrics, routeMetrics,
                responseDeadlines(options), new AtomicInteger(), new EndpointConnections());
    }

    /**
     * The same listener with other timeouts and limits, for the connections it accepts from now on (a reload's);
     * the endpoint pools and metrics are shared, so kept-alive endpoint connections stay in use.
     */
    ListenerSettings withOptions(IngressOptions next) {
        return new ListenerSettings(router, lookup, next, proto, pools, metrics, routeMetrics,
                next.responseTimeout().equals(options.responseTimeout()) ? responseDeadlines : responseDeadlines(next),
                httpsPort, endpoints);
    }

    /** One {@link ResponseDeadlines} per event loop, all with {@code options}' response timeout. */
    private static FastThreadLocal<ResponseDeadlines> responseDeadlines(IngressOptions options) {
        long responseTimeout = options.responseTimeout().toNanos();
        return new FastThreadLocal<>() {
            @Override
            protected ResponseDeadlines initialValue() {
                return new ResponseDeadlines(responseTimeout);
            }
        };
    }

    /** The metrics of the requests of {@code route} (the 404s: {@code null}), cached for the calling event loop. */
    IngressMetrics.RouteMetrics metricsOf(Route<ServiceBackend> route) {
        return routeMetrics.get().of(route);
    }
}
