package io.svcproxy.proxy.dataplane;

import io.netty.channel.ChannelException;
import io.netty.channel.ConnectTimeoutException;
import io.svcproxy.proxy.connlog.EndReason;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.nio.channels.NotYetConnectedException;
import java.util.List;
import java.util.Locale;

/**
 * What an error of a connection means: the reason label of a failed endpoint connect (the {@code reason} of
 * {@code svcproxy_connect_failures_total}, the log lines), and how a relayed connection it ended is recorded. Shared
 * by the TCP relay, the Ingress's endpoint connects and the active health checks.
 */
final class ConnectErrors {
    /** The reason label of a connect that failed on svcproxy's host, not at the endpoint: {@link #isLocal}. */
    static final String LOCAL = "local";

    /**
     * The errors of a connect that are this host's, not the endpoint's, as Netty's native transports write them
     * ({@code connect(..) failed with error(-99): Cannot assign requested address}; {@code epoll_ctl} alike) and the
     * JDK's (glibc's strerror, in NIO's {@code BindException} or {@code SocketException}): the number is matched
     * where the text may be in another language. Linux's numbers, where the native transports run.
     */
    private static final List<LocalError> LOCAL_ERRORS = List.of(
            // EADDRNOTAVAIL: no local port is left for the endpoint's address and port (each one has a
            // connection to it, ip_local_port_range), or the source address went away
            new LocalError(99, "cannot assign requested address"),
            new LocalError(98, "address already in use"),                // EADDRINUSE
            new LocalError(11, "resource temporarily unavailable"),      // EAGAIN: the kernel's routing cache
            new LocalError(105, "no buffer space available"),            // ENOBUFS
            new LocalError(12, "cannot allocate memory"),                // ENOMEM
            new LocalError(24, "too many open files"),                   // EMFILE, and ENFILE's "... in system"
            new LocalError(23, "too many open files in system"),
            new LocalError(28, "no space left on device"));              // ENOSPC: epoll_ctl, max_user_watches

    private record LocalError(int errno, String text) {
    }

    private ConnectErrors() {
    }

    /**
     * The reason label of a failed connect: timeout, unreachable, reset, refused, {@link #LOCAL}, or error. An
     * unreachable network or host (ENETUNREACH, EHOSTUNREACH) is the endpoint's: the route to that address, or the
     * endpoint's own host, is missing, and another endpoint may well be reachable.
     */
    static String reason(Throwable cause) {
        if (isLocal(cause)) {
            return LOCAL;
        }
        if (cause instanceof ConnectTimeoutException) {
            return "timeout";
        }
        if (cause instanceof NoRouteToHostException || cause instanceof PortUnreachableException) {
            return "unreachable";
        }
        if (cause instanceof ConnectException) {
            String message = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
            if (message.contains("reset")) {
                return "reset";
            }
            if (message.contains("unreachable") || message.contains("no route")) {
                return "unreachable";
            }
            if (message.contains("timed out")) {
                return "timeout";
            }
            return "refused";
        }
        if (cause instanceof IOException
                && String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT).contains("reset")) {
            return "reset";
        }
        return "error";
    }

    /**
     * Whether a connect failed for want of something on svcproxy's own host (a local port for the endpoint's address,
     * a descriptor, kernel memory or buffers), not because of the endpoint: HAProxy ends such a connection as a
     * resource error of the proxy ({@code RC}), not the server's ({@code SC}), and IPVS, which opens no socket of its
     * own, never meets one. Such a failure says nothing about the endpoint's health. A {@link ChannelException} is
     * Netty's for a socket it could not open or set up.
     */
    static boolean isLocal(Throwable cause) {
        Throwable t = cause;
        for (int depth = 0; t != null && depth < 4; depth++, t = t.getCause()) {
            if (t instanceof ChannelException) {
                return true;
            }
            if (t instanceof IOException && t.getMessage() != null) {
                String message = t.getMessage().toLowerCase(Locale.ROOT);
                for (LocalError e : LOCAL_ERRORS) {
                    if (message.contains("error(-" + e.errno() + ")") || message.contains(e.text())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * Whether {@code cause} is an I/O error of the connection (logged at debug), not svcproxy's: epoll may still
     * report readable on an endpoint socket whose connect was refused (NotYetConnectedException, seen under load
     * in SoakTest), whose failure is already logged and counted.
     */
    static boolean isIoError(Throwable cause) {
        return cause instanceof IOException || cause instanceof NotYetConnectedException;
    }

    /** How a connection an error ended is recorded: an I/O error is a reset, anything else an error. */
    static EndReason endReason(Throwable cause) {
        return isIoError(cause) ? EndReason.RST : EndReason.ERROR;
    }
}
