package io.svcproxy.config;

/**
 * The proxy-wide limits of the {@code proxy:} section. A client connection beyond a limit is closed at once and
 * counted in {@code svcproxy_rejected_connections_total}.
 *
 * @param maxConnections client connections open at once on all Service ports (default 0: no limit but the
 *     file-descriptor guard)
 * @param connectQueue connects to endpoints in progress at once (default 16384); a new client beyond it is closed
 * @param fdPausePercent open file descriptors, in percent of the process limit ({@code RLIMIT_NOFILE}), at
 *     which the listeners stop accepting (default 90)
 * @param fdResumePercent the percentage below which they accept again (default 80, or 10 below a {@code fdPausePercent} under 90, at least 1)
 */
public record ProxyLimits(int maxConnections, int connectQueue, int fdPausePercent, int fdResumePercent) {
    /** The defaults: no connection limit, 16384 connects in progress, pause at 90% of the fd limit, resume at 80%. */
    public static ProxyLimits defaults() {
        return new ProxyLimits(0, 16384, 90, 80);
    }
}
