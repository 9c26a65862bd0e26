package io.svcproxy.proxy.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LogbackServiceProvider;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.CoreConstants;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * SLF4J's provider when svcproxy starts from its jar: a Logback context configured by
 * {@link LogConfigurator#configureStderr} directly, as Logback's own provider ends up configured, without Logback's
 * auto-configuration around it. {@link Main} names it in the {@code slf4j.provider} system property, so SLF4J also
 * skips its service-loader search of the class path.
 *
 * <p>Why: Logback's auto-configuration checks its jars' versions (reading their manifests, {@code String.format}),
 * searches the class path for {@code Configurator} services and reads their annotations before our configurator
 * runs: with SLF4J's own search, about half of the logging set-up on the main thread before the first Service port
 * listens (docs/performance.md, "Issue 15, round 4"). When a Logback file is asked for
 * ({@code -Dlogback.configurationFile}, or a {@code logback-test.xml} / {@code logback.xml} on the class path), this
 * provider hands everything to Logback's own, which reads the file as usual. Called once, by SLF4J, on the first
 * thread that asks for a logger.
 */
public final class LogProvider implements SLF4JServiceProvider {
    private final ClassLoader loader;
    private SLF4JServiceProvider logback;
    private LoggerContext context;
    private IMarkerFactory markers;
    private MDCAdapter mdc;

    /** Creates the provider SLF4J instantiates. */
    public LogProvider() {
        this(LogProvider.class.getClassLoader());
    }

    /** Creates a provider that looks for Logback's files with {@code loader}. */
    LogProvider(ClassLoader loader) {
        this.loader = loader;
    }

    @Override
    public void initialize() {
        if (LogConfigurator.fileRequested(loader)) {
            logback = new LogbackServiceProvider();
            logback.initialize();
            return;
        }
        LoggerContext created = new LoggerContext();
        created.setName(CoreConstants.DEFAULT_CONTEXT_NAME);
        LogbackMDCAdapter adapter = new LogbackMDCAdapter();
        created.setMDCAdapter(adapter);
        LogConfigurator.configureStderr(created);
        created.start();
        context = created;
        mdc = adapter;
        markers = new BasicMarkerFactory();
    }

    @Override
    public ILoggerFactory getLoggerFactory() {
        return logback != null ? logback.getLoggerFactory() : context;
    }

    @Override
    public IMarkerFactory getMarkerFactory() {
        return logback != null ? logback.getMarkerFactory() : markers;
    }

    @Override
    public MDCAdapter getMDCAdapter() {
        return logback != null ? logback.getMDCAdapter() : mdc;
    }

    @Override
    public String getRequestedApiVersion() {
        return LogbackServiceProvider.REQUESTED_API_VERSION;
    }
}
