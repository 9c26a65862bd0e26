package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.balancer.PickContext;
import io.svcproxy.ingress.BackendLookup;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import io.svcproxy.ingress.routing.RoutingTable;
import java.util.function.Supplier;

/**
 * What becomes of a request the frontend accepted, the same for an HTTP/1.1 request and an HTTP/2 stream: the
 * routing table's rule for its host and path (one volatile read of the table), then, in this order, the {@code 308}
 * to HTTPS ({@link HttpsRedirects}), the {@code 404} of no rule, or the endpoint the rule's Service port picks (one
 * lookup of the port), else its {@code 503}.
 */
final class RequestRouting {
    /**
     * The decision. {@code status}: the proxy's own answer ({@code 308}, {@code 404}, {@code 503}), or {@code null}
     * when {@code backend} serves the request; {@code route}: the matched rule, {@code null} with {@code 404} only.
     */
    record Decision(Route<ServiceBackend> route, HttpResponseStatus status, String location,
                    BackendLookup.Target target, PickContext pickContext, BackendState backend) {
        static Decision answer(Route<ServiceBackend> route, HttpResponseStatus status, String location) {
            return new Decision(route, status, location, null, null, null);
        }
    }

    private RequestRouting() {
    }

    /**
     * Routes a request by its {@code Host} field ({@code null} without one), its path in normal form
     * ({@link io.svcproxy.ingress.routing.RequestPath}) and its target as received (for a redirect's
     * {@code Location}); {@code connection}: the scheduler's view of the client's connection, asked for only when
     * an endpoint is picked.
     */
    static Decision route(ListenerSettings settings, String host, String path, String target,
                          Supplier<PickContext> connection) {
        RoutingTable<ServiceBackend> table = settings.router().table();
        Route<ServiceBackend> route = table.matchPath(host, path);
        String location = HttpsRedirects.location(settings, table, route, host, target);
        if (location != null) {
            return Decision.answer(route, HttpResponseStatus.PERMANENT_REDIRECT, location);
        }
        if (route == null) {
            return Decision.answer(null, HttpResponseStatus.NOT_FOUND, null);
        }
        BackendLookup.Target port = settings.lookup().target(route.backend());
        PickContext context = port == null ? null : port.narrow(connection.get());
        BackendState backend = port == null ? null : port.set().pick(context);
        if (backend == null) {
            if (port != null) {
                port.outcomes().noEndpoint();
            }
            return Decision.answer(route, HttpResponseStatus.SERVICE_UNAVAILABLE, null);
        }
        return new Decision(route, null, null, port, context, backend);
    }
}
