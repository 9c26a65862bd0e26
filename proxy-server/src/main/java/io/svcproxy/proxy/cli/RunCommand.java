package io.svcproxy.proxy.cli;

import io.svcproxy.config.ProxyConfig;
import io.svcproxy.proxy.ProxyServer;
import io.svcproxy.proxy.dataplane.BindException;
import io.svcproxy.proxy.vip.VipInterfaceException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code run [--config FILE]}: serves a config until SIGTERM or SIGINT. Without {@code --config} it reads
 * {@code ./svcproxy.yaml}, and runs the demo when that does not exist.
 */
@Command(name = "run", description = "Serve a config (the default command). Without --config: ./svcproxy.yaml, "
        + "or the demo when it does not exist.")
final class RunCommand implements Callable<Integer> {
    static final Path DEFAULT_CONFIG = Path.of("svcproxy.yaml");

    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "The config file.")
    Path config;

    @Override
    public Integer call() throws InterruptedException {
        return run(config, spec.commandLine().getOut(), spec.commandLine().getErr(), () -> { });
    }

    /**
     * Runs {@code file}, or without one {@code ./svcproxy.yaml} or the demo; returns the exit code. The signal
     * handlers are installed first: a signal while the config is read does not end the process with 128+n
     * ({@link Signals}).
     *
     * @param configRead runs once the config is read and valid, before anything that logs (the demo: before it
     *                   starts)
     */
    static int run(Path file, PrintWriter out, PrintWriter err, Runnable configRead) throws InterruptedException {
        Signals signals = Signals.install();
        if (file == null) {
            // a link whose target is missing is a config that cannot be read (said so), not "no config": the demo
            // runs only when there is no ./svcproxy.yaml at all
            if (!Files.exists(DEFAULT_CONFIG, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                err.println("No --config given and no ./svcproxy.yaml: running the demo.");
                err.flush();
                if (!signals.configRead()) {
                    return ExitCodes.OK; // stopped by a signal: the process is exiting with 0
                }
                configRead.run();
                signals.loggingReady();
                return new DemoCommand().serve(signals, out, err);
            }
            file = DEFAULT_CONFIG;
        }
        ProxyConfig loaded = ConfigFile.load(file, err);
        if (!signals.configRead()) {
            return ExitCodes.OK; // stopped by a signal while the config was read: the process is exiting with 0
        }
        if (loaded == null) {
            return ExitCodes.INVALID;
        }
        configRead.run();
        signals.loggingReady();
        return serve(signals, loaded, err, () -> { });
    }

    /**
     * Serves {@code config} until a signal stops it; returns the exit code.
     *
     * @param signals the handlers, installed, the config read ({@link Signals#configRead}) and logging ready
     * @param onServing runs once every listener is bound
     */
    static int serve(Signals signals, ProxyConfig config, PrintWriter err, Runnable onServing)
            throws InterruptedException {
        ProxyServer server;
        try {
            server = ProxyServer.start(config);
        } catch (BindException | VipInterfaceException e) {
            err.println("svcproxy: " + e.getMessage());
            err.flush();
            return ExitCodes.RUNTIME_FAILURE;
        }
        onServing.run();
        markArchiveServed();
        signals.serving(server);
        server.awaitStopped();
        return ExitCodes.OK;
    }

    /**
     * The launcher's property naming the class-data archive (or AOT cache) this JVM writes at its exit, when it
     * writes one ({@code svcproxy} script).
     */
    static final String ARCHIVE_PROPERTY = "svcproxy.archiveOutput";

    /**
     * Tells the launcher that the archive this JVM writes at exit is a serving proxy's: a file {@code ARCHIVE.served}
     * beside it. Only such an archive is moved into place for later runs; one of a run that failed to start (a
     * config typo, a port in use) records the classes of a failed start, and every run would map it until the jar
     * changed (helper-95's review: 961 classes then still loaded from the jar, none with a serving run's).
     */
    static void markArchiveServed() {
        String archive = System.getProperty(ARCHIVE_PROPERTY);
        if (archive == null || archive.isEmpty()) {
            return;
        }
        try {
            Files.write(Path.of(archive + ".served"), new byte[0]);
        } catch (java.io.IOException | RuntimeException e) {
            // the folder went read-only, say: no archive is taken from this run, which costs start-up only
            org.slf4j.LoggerFactory.getLogger(RunCommand.class).debug("Archive not marked file={}: {}", archive,
                    e.toString());
        }
    }
}
