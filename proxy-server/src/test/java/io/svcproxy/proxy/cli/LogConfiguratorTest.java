package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import java.nio.charset.StandardCharsets;
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
        String line = new String(((PatternLayoutEncoder) stderr.getEncoder()).encode(event), StandardCharsets.UTF_8);
        assertThat(line).matches("2026-12-04T\\d\\d:\\d\\d:11\\.142(Z|[+-]\\d\\d:\\d\\d) INFO  ListenerManager - "
                + "Listening service=default/web\\R");
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
