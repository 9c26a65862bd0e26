package io.svcproxy.proxy.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

/** Sets the log level from {@code --log-level}. */
final class Logging {
    private Logging() {
    }

    /** Sets svcproxy's own loggers to {@code level} (trace, debug, info, warn, error, off). */
    static void setLevel(String level) {
        Level parsed = Level.toLevel(level, null);
        if (parsed == null) {
            throw new IllegalArgumentException("log level: " + level + " (expected: trace, debug, info, warn, "
                    + "error, off)");
        }
        ((Logger) LoggerFactory.getLogger("io.svcproxy")).setLevel(parsed);
        if (parsed.toInt() > Level.INFO_INT) {
            ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(parsed);
        }
    }
}
