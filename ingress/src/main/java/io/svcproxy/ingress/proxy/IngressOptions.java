package io.svcproxy.ingress.proxy;

import java.time.Duration;
import java.util.Objects;

/**
 * The timeouts and limits of an Ingress listener. {@link #defaults()} gives the values below; the {@code withXxx}
 * copies change one.
 *
 * @param responseTimeout from the request sent to an endpoint until its response headers; then 504 (SPEC
 *                        {@code proxy.ingress.responseTimeout}, default 60 s)
 * @param requestTimeout  from the first byte of a request until its last header line; then 408 and the connection
 *                        is closed (HAProxy's {@code timeout http-request}; default 30 s)
 * @param idleTimeout     a client connection with no request in flight (HTTP/1.1) or no open stream (HTTP/2) and
 *                        no traffic for this long is closed (default 120 s); a WebSocket tunnel idle for this long too
 * @param connectTimeout  for each connect to an endpoint; a failed connect tries another endpoint (default 5 s)
 * @param maxInitialLine  the request line's length in bytes; longer: 414 (default 8 KiB)
 * @param maxHeaderSize   the header block's size in bytes (HTTP/2: SETTINGS_MAX_HEADER_LIST_SIZE); larger: 431
 *                        (default 16 KiB)
 * @param maxHeaders      the number of header fields; more: 431 (default 100, as HAProxy's {@code tune.http.maxhdr})
 * @param connectAttempts the distinct endpoints a request's connect tries before its 502, at most (default 3, as
 *                        ingress-nginx's {@code proxy-next-upstream-tries} and {@code proxy.connectAttempts}'s
 *                        default): with every endpoint unreachable, a request waits this many connect timeouts, not
 *                        one per endpoint of its Service
 */
public record IngressOptions(Duration responseTimeout, Duration requestTimeout, Duration idleTimeout,
                             Duration connectTimeout, int maxInitialLine, int maxHeaderSize, int maxHeaders,
                             int connectAttempts) {
    public IngressOptions {
        positive("responseTimeout", responseTimeout);
        positive("requestTimeout", requestTimeout);
        positive("idleTimeout", idleTimeout);
        positive("connectTimeout", connectTimeout);
        if (maxInitialLine < 256 || maxHeaderSize < 256 || maxHeaders < 1) {
            throw new IllegalArgumentException("limits: maxInitialLine=" + maxInitialLine + " maxHeaderSize="
                    + maxHeaderSize + " maxHeaders=" + maxHeaders + " (expected: >= 256, >= 256, >= 1)");
        }
        if (connectAttempts < 1) {
            throw new IllegalArgumentException("connectAttempts: " + connectAttempts + " (expected: >= 1)");
        }
    }

    /** 60 s, 30 s, 120 s, 5 s, 8 KiB, 16 KiB, 100, 3. */
    public static IngressOptions defaults() {
        return new IngressOptions(Duration.ofSeconds(60), Duration.ofSeconds(30), Duration.ofSeconds(120),
                Duration.ofSeconds(5), 8192, 16384, 100, 3);
    }

    public IngressOptions withResponseTimeout(Duration d) {
        return new IngressOptions(d, requestTimeout, idleTimeout, connectTimeout, maxInitialLine, maxHeaderSize,
                maxHeaders, connectAttempts);
    }

    public IngressOptions withRequestTimeout(Duration d) {
        return new IngressOptions(responseTimeout, d, idleTimeout, connectTimeout, maxInitialLine, maxHeaderSize,
                maxHeaders, connectAttempts);
    }

    public IngressOptions withIdleTimeout(Duration d) {
        return new IngressOptions(responseTimeout, requestTimeout, d, connectTimeout, maxInitialLine, maxHeaderSize,
                maxHeaders, connectAttempts);
    }

    public IngressOptions withConnectTimeout(Duration d) {
        return new IngressOptions(responseTimeout, requestTimeout, idleTimeout, d, maxInitialLine, maxHeaderSize,
                maxHeaders, connectAttempts);
    }

    public IngressOptions withMaxHeaders(int n) {
        return new IngressOptions(responseTimeout, requestTimeout, idleTimeout, connectTimeout, maxInitialLine,
                maxHeaderSize, n, connectAttempts);
    }

    public IngressOptions withConnectAttempts(int n) {
        return new IngressOptions(responseTimeout, requestTimeout, idleTimeout, connectTimeout, maxInitialLine,
                maxHeaderSize, maxHeaders, n);
    }

    private static void positive(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
        }
    }
}
