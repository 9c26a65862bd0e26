package io.svcproxy.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.net.URL;
import java.net.URLClassLoader;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.helpers.BasicMarkerFactory;

class LogProviderTest {

    @Test
    void withoutALogbackFileItConfiguresLogbackInCodeWithoutItsAutoConfiguration() {
        LogProvider provider = new LogProvider(new URLClassLoader(new URL[0], null)); // finds no logback*.xml
        provider.initialize();

        LoggerContext context = (LoggerContext) provider.getLoggerFactory();
        assertThat(context.getName()).isEqualTo("default");
        assertThat(context.isStarted()).isTrue();
        assertThat(context.getMDCAdapter()).isSameAs(provider.getMDCAdapter()).isNotNull();
        assertThat(provider.getMarkerFactory()).isInstanceOf(BasicMarkerFactory.class);
        assertThat(context.getLogger("io.svcproxy").getLevel()).isEqualTo(Level.INFO);
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.WARN);
        ConsoleAppender<?> stderr = (ConsoleAppender<?>) root.getAppender("STDERR");
        assertThat(((LayoutWrappingEncoder<?>) stderr.getEncoder()).getLayout()).isInstanceOf(LogLineLayout.class);
        // Logback's auto-configuration leaves a status line naming its version; this path never ran it
        assertThat(context.getStatusManager().getCopyOfStatusList())
                .noneMatch(s -> s.getMessage().contains("This is logback-classic version"));
        assertThat(provider.getRequestedApiVersion()).startsWith("2.0");
    }

    @Test
    void withALogbackFileOnTheClassPathLogbackReadsIt() {
        // the tests' class path has logback-test.xml (a pattern encoder and the GUARD appender)
        LogProvider provider = new LogProvider(getClass().getClassLoader());
        provider.initialize();

        LoggerContext context = (LoggerContext) provider.getLoggerFactory();
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getAppender("GUARD")).isNotNull();
        assertThat(((ConsoleAppender<?>) root.getAppender("STDERR")).getEncoder())
                .isInstanceOf(PatternLayoutEncoder.class);
        assertThat(provider.getMDCAdapter()).isNotNull();
        assertThat(provider.getMarkerFactory()).isNotNull();
        context.stop();
    }
}
