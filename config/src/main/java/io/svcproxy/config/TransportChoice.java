package io.svcproxy.config;

import java.util.Locale;

/**
 * The {@code proxy.transport} setting: which socket transport carries the TCP data plane (the relay, the Ingress
 * listeners, health checks and the admin server). UDP Service ports stay on epoll whatever is chosen here.
 */
public enum TransportChoice {
    /** Netty's epoll where it is available, else NIO (the default). */
    AUTO,
    /** Netty's native epoll transport; NIO, with a log line, where it is not available. */
    EPOLL,
    /** Netty's io_uring transport; epoll (else NIO), with a log line, where it is not available. */
    IO_URING,
    /** The JDK's NIO selector, on any platform. */
    NIO;

    /** Returns the name written in a config file: {@code auto}, {@code epoll}, {@code io_uring} or {@code nio}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Returns the choice named {@code name} as written in a config file (case-insensitive), or {@code null}. */
    public static TransportChoice of(String name) {
        for (TransportChoice c : values()) {
            if (c.configName().equalsIgnoreCase(name)) {
                return c;
            }
        }
        return null;
    }

    /** Returns the names of the choices, for error messages: {@code auto, epoll, io_uring, nio}. */
    public static String names() {
        StringBuilder s = new StringBuilder();
        for (TransportChoice c : values()) {
            s.append(s.length() == 0 ? "" : ", ").append(c.configName());
        }
        return s.toString();
    }

    @Override
    public String toString() {
        return configName();
    }
}
