package io.svcproxy.ingress.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Logback appender (see {@code logback-test.xml}) that records every WARN or ERROR line of the Ingress data
 * plane and of Netty; {@link WarnGuardExtension} fails the test that logged it. Client resets, timeouts and failed
 * handshakes are expected events and must log below WARN; anything else at WARN is a fault nobody expected.
 */
public final class WarnGuard extends AppenderBase<ILoggingEvent> {
    private static final List<String> UNEXPECTED = new CopyOnWriteArrayList<>();

    @Override
    protected void append(ILoggingEvent event) {
        String logger = event.getLoggerName();
        if (!event.getLevel().isGreaterOrEqual(Level.WARN)
                || !(logger.startsWith("io.svcproxy.ingress") || logger.startsWith("io.netty"))) {
            return;
        }
        StringBuilder line = new StringBuilder().append(event.getLevel()).append(' ').append(logger)
                .append(" [").append(event.getThreadName()).append("] ").append(event.getFormattedMessage());
        for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
            line.append("\n  caused by ").append(t.getClassName()).append(": ").append(t.getMessage());
        }
        UNEXPECTED.add(line.toString());
    }

    /** Returns the lines logged since the last call, and forgets them. */
    public static List<String> drain() {
        List<String> copy = List.copyOf(UNEXPECTED);
        UNEXPECTED.removeAll(copy);
        return copy;
    }
}
