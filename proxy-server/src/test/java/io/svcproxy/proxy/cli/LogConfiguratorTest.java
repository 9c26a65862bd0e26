package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import java.nio.charset.StandardCharsets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

class LogConfiguratorTest {

    @Test
    void writesOneLinePerEventToStderrWithTheLevelsOfTheJar() {
        LoggerContext context = new LoggerContext();
        LogConfigurator.configureStderr(context);

        assertThat(context.getLogger("io.svcproxy").getLevel()).isEqualTo(Level.INFO);
        assertThat(context.getLogger("io.netty").getLevel()).isEqualTo(Level.WARN);
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.WARN);
        ConsoleAppender<?> stderr = (ConsoleAppender<?>) root.getAppender("STDERR");
        assertThat(stderr.getTarget()).isEqualTo("System.err");
        assertThat(stderr.isStarted()).isTrue();

        LoggingEvent event = new LoggingEvent("x", context.getLogger("io.svcproxy.proxy.dataplane.ListenerManager"),
                Level.INFO, "Listening service={}", null, new Object[] {"default/web"});
        event.setInstant(Instant.parse("2026-12-04T05:20:11.142Z"));
        @SuppressWarnings("unchecked")
        Encoder<ILoggingEvent> encoder = (Encoder<ILoggingEvent>) stderr.getEncoder();
        String line = new String(encoder.encode(event), StandardCharsets.UTF_8);
        assertThat(line).matches("2026-12-04T\\d\\d:\\d\\d:11\\.142(Z|[+-]\\d\\d:\\d\\d) INFO  ListenerManager - "
                + "Listening service=default/web\\R");
    }

    @Test
    void writesWhatTheLogbackPatternOfTheJarWouldWriteThrowablesIncluded() {
        LoggerContext context = new LoggerContext();
        PatternLayout pattern = new PatternLayout();
        pattern.setContext(context);
        pattern.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{0} - %msg%n");
        pattern.start();
        LogLineLayout layout = new LogLineLayout();
        layout.setContext(context);
        layout.start();
        Exception cause = new UncheckedIOException("peer gone", new IOException("Connection reset by peer"));
        Exception thrown = new IllegalStateException("cannot bind 127.0.10.9:80", cause);
        thrown.addSuppressed(new RuntimeException("while closing"));
        Object[][] cases = {
            {"io.svcproxy.proxy.ProxyServer", Level.INFO, "Serving config={} version={}", new Object[] {"a.yaml", 3}, null},
            {"io.netty.channel.DefaultChannelPipeline", Level.WARN, "An exceptionCaught() event", null, thrown},
            {"Root", Level.ERROR, "no arguments {}", null, cause},
            {"io.svcproxy.proxy.cli.Signals", Level.DEBUG, "SIGHUP is not available here: {}", new Object[] {"x"}, null},
            {"a.b.C", Level.TRACE, "", null, null},
        };
        for (Object[] c : cases) {
            LoggingEvent event = new LoggingEvent("x", context.getLogger((String) c[0]), (Level) c[1], (String) c[2],
                    (Throwable) c[4], (Object[]) c[3]);
            event.setInstant(Instant.parse("2026-12-04T05:20:11.142Z"));
            assertThat(layout.doLayout(event)).isEqualTo(pattern.doLayout(event));
        }
    }

    @Test
    void stepsAsideWhenALogbackFileIsOnTheClassPath() {
        // the tests' class path has logback-test.xml: Logback's own configurator must read it
        LogConfigurator configurator = new LogConfigurator();
        LoggerContext context = new LoggerContext();
        configurator.setContext(context);

        assertThat(configurator.configure(context)).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext()).isFalse();
    }
}
