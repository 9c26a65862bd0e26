package io.svcproxy.proxy.dataplane;

import io.netty.channel.ConnectTimeoutException;
import io.svcproxy.proxy.connlog.EndReason;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.nio.channels.NotYetConnectedException;
import java.util.Locale;

/**
 * What an error of a connection means: the reason label of a failed endpoint connect (the {@code reason} of
 * {@code svcproxy_connect_failures_total}, the log lines), and how a relayed connection it ended is recorded. Shared
 * by the TCP relay, the Ingress's endpoint connects and the active health checks.
 */
final class ConnectErrors {
    private ConnectErrors() {
    }

    /** The reason label of a failed connect: timeout, unreachable, reset, refused, or error. */
    static String reason(Throwable cause) {
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
