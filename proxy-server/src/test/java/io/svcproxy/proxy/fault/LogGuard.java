package io.svcproxy.proxy.fault;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Logback appender (see {@code logback-test.xml}) that records every WARN or ERROR line of the data plane that
 * is not on the allow-list below; {@link LogGuardExtension} fails the test that logged it. The data plane is
 * svcproxy's relay packages and Netty itself: an exception there that nobody expected must never pass unseen
 * (issue 11: a swallowed {@code epoll_ctl} failure cut transfers short).
 *
 * <p>The allow-list holds only operational events that tests provoke on purpose and that carry no exception:
 * a line with a throwable is never allowed.
 */
public final class LogGuard extends AppenderBase<ILoggingEvent> {
    /** Loggers of the data plane, by prefix. */
    static final List<String> DATA_PLANE = List.of("io.svcproxy.proxy.dataplane", "io.svcproxy.proxy.udp",
            "io.svcproxy.ingress", "io.netty");

    /** A WARN line that is an event, not a fault: the fault tests provoke each of these on purpose. */
    record Allowed(String logger, String messagePrefix, String why) {
    }

    static final List<Allowed> ALLOWED = List.of(
            new Allowed("io.svcproxy.proxy.dataplane.ServicePort", "Ejecting endpoint",
                    "outlier detection ejecting an endpoint that fails its connects (FaultInjectionTest, SoakTest)"),
            new Allowed("io.svcproxy.proxy.dataplane.HealthChecker", "Endpoint unhealthy",
                    "an active health check failing against a stopped endpoint (FaultInjectionTest)"),
            new Allowed("io.svcproxy.proxy.dataplane.ListenerManager", "Pausing accept",
                    "the fd guard pausing accept near the descriptor limit (FaultInjectionTest)"));

    private static final List<String> UNEXPECTED = new CopyOnWriteArrayList<>();

    @Override
    protected void append(ILoggingEvent event) {
        if (!event.getLevel().isGreaterOrEqual(Level.WARN) || !dataPlane(event.getLoggerName())) {
            return;
        }
        if (event.getThrowableProxy() == null && allowed(event)) {
            return;
        }
        StringBuilder line = new StringBuilder().append(event.getLevel()).append(' ').append(event.getLoggerName())
                .append(" [").append(event.getThreadName()).append("] ").append(event.getFormattedMessage());
        for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
            line.append("\n  caused by ").append(t.getClassName()).append(": ").append(t.getMessage());
        }
        UNEXPECTED.add(line.toString());
    }

    private static boolean dataPlane(String logger) {
        for (String prefix : DATA_PLANE) {
            if (logger.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    private static boolean allowed(ILoggingEvent event) {
        for (Allowed a : ALLOWED) {
            if (a.logger().equals(event.getLoggerName()) && event.getFormattedMessage().startsWith(a.messagePrefix())) {
                return true;
            }
        }
        return false;
    }

    /** Returns the unexpected lines logged since the last call, and forgets them. */
    public static List<String> drain() {
        List<String> copy = List.copyOf(UNEXPECTED);
        UNEXPECTED.removeAll(copy);
        return copy;
    }
}
