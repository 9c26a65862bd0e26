package io.svcproxy.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * The {@code proxy.ingress} section: where the Ingress listens and which Kubernetes Ingresses it serves.
 *
 * @param http            the HTTP/1.1 (and h2c) listener, or {@code null} when off (the default)
 * @param https           the TLS listener, or {@code null} when off (the default)
 * @param className       the IngressClass whose Kubernetes Ingresses are served, with those of the default class
 *                        (default {@code svcproxy})
 * @param responseTimeout from a request sent to an endpoint until its response headers; then 504 (default 60s)
 * @param httpsRedirectPort the port a redirect from plain HTTP to HTTPS names, for a listener behind a port mapping
 *                        (a Service's 443 to the Pod's 8443); 0 (the default): the {@code https} listener's port
 * @param publishService  {@code namespace/name} of the Service in front of the Ingress whose addresses go into the
 *                        served Ingresses' {@code status.loadBalancer} (ingress-nginx's {@code --publish-service}),
 *                        or {@code null}: the listeners' addresses (and {@code $POD_IP} for an unspecified one)
 */
public record IngressSettings(InetSocketAddress http, InetSocketAddress https, String className,
                              Duration responseTimeout, int httpsRedirectPort, String publishService) {
    /** The IngressClass served when {@code className} is not written. */
    public static final String DEFAULT_CLASS_NAME = "svcproxy";

    public IngressSettings {
        Objects.requireNonNull(className, "className");
        Objects.requireNonNull(responseTimeout, "responseTimeout");
        if (httpsRedirectPort < 0 || httpsRedirectPort > 65535) {
            throw new IllegalArgumentException("httpsRedirectPort: " + httpsRedirectPort + " (expected: 1-65535, or 0 "
                    + "for the https listener's)");
        }
    }

    /** The settings without {@code httpsRedirectPort} and {@code publishService}. */
    public IngressSettings(InetSocketAddress http, InetSocketAddress https, String className,
                           Duration responseTimeout) {
        this(http, https, className, responseTimeout, 0, null);
    }

    /** No listener, class {@code svcproxy}, a response timeout of 60 seconds. */
    public static IngressSettings defaults() {
        return new IngressSettings(null, null, DEFAULT_CLASS_NAME, Duration.ofSeconds(60), 0, null);
    }

    /** Whether a listener is configured, HTTP or HTTPS. */
    public boolean enabled() {
        return http != null || https != null;
    }
}
