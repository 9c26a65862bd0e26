package io.svcproxy.proxy.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.Logger;

/**
 * Configures Logback in code with what the jar's logging always was: one line per event on stderr
 * ({@code 2026-12-04T05:20:11.142Z INFO  ListenerManager - Listening ...}, written by {@link LogLineLayout}; keep
 * SPEC.md's "one line per event on stderr" in step with it), svcproxy's loggers at info, Netty's and everything
 * else at warn. Logback finds it through {@code META-INF/services} before its XML configurator.
 *
 * <p>Why in code: reading a {@code logback.xml} loads Logback's Joran machinery and the JDK's XML parser,
 * about 600 classes, a third of svcproxy's start-up work (bench/startup.py, docs/performance.md). A
 * {@code -Dlogback.configurationFile=FILE} or a {@code logback-test.xml} / {@code logback.xml} on the class
 * path still wins: then this configurator steps aside and Logback reads the file as usual.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_NORMAL_PRIORITY)
public final class LogConfigurator extends ContextAwareBase implements Configurator {
    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (fileRequested(getClass().getClassLoader())) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        configureStderr(context);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /**
     * Returns whether Logback should read a file instead: {@code -Dlogback.configurationFile} is set, or
     * {@code loader} finds a {@code logback-test.xml} or {@code logback.xml}.
     */
    static boolean fileRequested(ClassLoader loader) {
        return System.getProperty("logback.configurationFile") != null
                || loader.getResource("logback-test.xml") != null
                || loader.getResource("logback.xml") != null;
    }

    /** Adds the stderr appender to {@code context}'s root logger and sets the levels. */
    static void configureStderr(LoggerContext context) {
        LogLineLayout layout = new LogLineLayout();
        layout.setContext(context);
        layout.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        encoder.setLayout(layout);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        context.getLogger("io.svcproxy").setLevel(Level.INFO);
        context.getLogger("io.netty").setLevel(Level.WARN);
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(stderr);
    }
}
