package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.svcproxy.balancer.BackendState;
import io.svcproxy.ingress.ServiceBackend;
import io.svcproxy.ingress.routing.Route;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An answered request, HTTP/1.1 or HTTP/2 alike: counted under its rule in the metrics (one the proxy refused as
 * malformed, before any rule, under the labels of a 404: no Ingress, host, path or Service) and written as one line
 * to the access log, the logger
 * {@code io.svcproxy.ingress.access} at DEBUG (off unless enabled).
 */
final class AccessLog {
    /** One line per answered request at DEBUG; also the Ingress's client-side network failures, at DEBUG. */
    static final Logger LOG = LoggerFactory.getLogger("io.svcproxy.ingress.access");

    private AccessLog() {
    }

    /**
     * @param request {@code null} when the request never became one (an HTTP/2 stream whose head failed to convert)
     */
    static void answered(ListenerSettings settings, SocketAddress client, String proto, HttpRequest request,
                         int status, Route<ServiceBackend> route, BackendState backend, long startNanos) {
        long duration = System.nanoTime() - startNanos;
        settings.metricsOf(route).requestCompleted(status, duration);
        if (LOG.isDebugEnabled()) {
            LOG.debug("client={} proto={} method={} host={} uri={} status={} ingress={} service={} endpoint={} "
                            + "durationMs={}",
                    client, proto, request == null ? "" : request.method(),
                    request == null ? "" : request.headers().get(HttpHeaderNames.HOST),
                    request == null ? "" : request.uri(), status,
                    route == null ? "" : route.ingress(), route == null ? "" : route.backend(),
                    backend == null ? "" : backend.endpoint(), duration / 1_000_000);
        }
    }
}
